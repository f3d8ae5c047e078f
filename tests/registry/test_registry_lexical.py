"""The registry's own lexical statistics: kept with every write, equal to a count from the
database, and a pair's score independent of what else is scored with it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from registry_fakes import item, run_script

from prodmatch.registry import lexical
from prodmatch.registry.lexical import LexicalStats
from prodmatch.registry.matching import Entry, KeptScores

# Two cameras and two phones, each product worded three ways.
LISTINGS = [
    item("a", "1", "canon powershot sd990 digital camera silver"),
    item("b", "1", "canon sd990 powershot camera silver 14.7 mp"),
    item("a", "2", "nikon coolpix p100 black digital camera"),
    item("c", "1", "canon powershot sd990 silver digital camera"),
    item("b", "2", "nikon coolpix p100 camera black 10 mp"),
    item("a", "3", "apple iphone 4 16gb black smartphone"),
    item("c", "2", "nikon p100 coolpix black digital camera"),
    item("b", "3", "iphone 4 apple 16 gb black"),
    item("a", "4", "samsung galaxy s ii white phone"),
    item("c", "3", "apple iphone 4 black 16gb"),
    item("b", "4", "samsung galaxy s ii white smartphone"),
    item("c", "4", "galaxy s ii samsung white"),
]


def snapshot(
    stats: LexicalStats,
) -> tuple[int, dict[int, int], dict[int, str], dict[str, int]]:
    """What the statistics count: documents, n-gram and model-number frequencies, texts."""
    return stats.documents, stats.frequencies(), dict(stats.texts), dict(stats.codes)


def test_upsert_then_delete_returns_the_statistics_to_before(open_registry: Any) -> None:
    registry = open_registry()
    registry.upsert(LISTINGS[:6])
    stats = registry.scorer.lexical
    before = snapshot(stats)
    registry.upsert([item("z", "9", "sony cybershot dscw55 camera pink sd990")])
    assert stats.documents == before[0] + 1
    assert stats.frequencies() != before[1]
    assert stats.codes == {**before[3], "dscw55": 1, "sd990": before[3]["sd990"] + 1}
    registry.delete("z", "9")
    assert snapshot(stats) == before


def test_an_edit_counts_the_new_text_instead_of_the_old(open_registry: Any) -> None:
    registry = open_registry()
    registry.upsert(LISTINGS[:4])
    stats = registry.scorer.lexical
    before = snapshot(stats)
    registry.upsert([item("a", "1", "sony cybershot dsc w55 camera pink")])
    registry.upsert([item("a", "1", LISTINGS[0].attributes["title"])])
    assert snapshot(stats) == before


def test_statistics_rebuilt_from_the_store_equal_the_kept_ones(
    open_registry: Any, tmp_path: Path
) -> None:
    registry = open_registry(tmp_path / "one")
    run_script(registry)  # adds, edits, labels, merges, splits, a deletion
    registry.upsert(LISTINGS)
    registry.delete("b", "3")
    kept = registry.scorer.lexical
    rebuilt = LexicalStats()
    rebuilt.rebuild(registry.store)
    assert snapshot(rebuilt) == snapshot(kept)
    assert rebuilt.vseq == kept.vseq == registry.store.vseq()
    registry.close()
    reopened = open_registry(tmp_path / "one")
    assert snapshot(reopened.scorer.lexical) == snapshot(kept)


def test_another_process_writes_are_caught_up(open_registry: Any, tmp_path: Path) -> None:
    """Two registries on one database: the one that did not write catches up before reading."""
    folder = tmp_path / "shared"
    writer, other = open_registry(folder), open_registry(folder)
    writer.upsert(LISTINGS[:8])
    writer.delete("a", "2")
    writer.upsert([item("b", "1", "canon sd990 silver camera")])
    other.match([LISTINGS[0]])
    assert snapshot(other.scorer.lexical) == snapshot(writer.scorer.lexical)


def test_a_rolled_back_batch_leaves_no_counts(open_registry: Any) -> None:
    registry = open_registry()
    registry.upsert(LISTINGS[:3])
    before = snapshot(registry.scorer.lexical)

    def fail(*_: Any, **__: Any) -> Any:
        raise RuntimeError("disk full")

    registry.store.add_event = fail
    with pytest.raises(RuntimeError):
        registry.upsert([item("z", "9", "sony cybershot dsc w55 camera pink")])
    del registry.store.add_event
    registry.upsert([item("y", "8", "nikon coolpix p100 black")])  # counted again first
    registry.delete("y", "8")
    assert snapshot(registry.scorer.lexical) == before


def test_decisions_do_not_depend_on_how_listings_are_batched(
    open_registry: Any, tmp_path: Path
) -> None:
    together = open_registry(tmp_path / "together")
    together.upsert(LISTINGS)
    apart = open_registry(tmp_path / "apart")
    for start in range(0, len(LISTINGS), 5):
        apart.upsert(LISTINGS[start : start + 5])
    one_by_one = open_registry(tmp_path / "one-by-one")
    for listing in LISTINGS:
        one_by_one.upsert([listing])
    products = [
        [registry.product_of(*listing.key) for listing in LISTINGS]
        for registry in (together, apart, one_by_one)
    ]
    assert products[0] == products[1] == products[2]
    assert len(set(products[0])) == 4  # the four products, none chained into another


def test_a_pair_scores_the_same_alone_or_with_others(open_registry: Any) -> None:
    registry = open_registry()
    registry.upsert(LISTINGS)
    scorer = registry.scorer

    def entry(n: int) -> Entry:
        text, plain = scorer.texts(LISTINGS[n].attributes)
        return Entry(f"e{n}", text, plain, scorer.encode([text])[0])

    entries = [entry(n) for n in range(len(LISTINGS))]
    alone = KeptScores(scorer).rows([(entries[0], entries[1])])[0]["score"]
    kept = KeptScores(scorer)
    kept.ensure([(entries[i], entries[j]) for i in range(6) for j in range(6, 12)])
    kept.ensure([(entries[0], entries[1]), (entries[2], entries[3])])
    assert kept.rows([(entries[0], entries[1])])[0]["score"] == pytest.approx(alone, abs=1e-6)
    assert alone > scorer.threshold


def test_a_match_does_not_wait_for_the_writer(open_registry: Any) -> None:
    """Reads use their own connection and lock only the FAISS index."""
    registry = open_registry()
    registry.upsert(LISTINGS)
    found: list[Any] = []
    with registry.lock:  # a write in progress
        reader = threading.Thread(target=lambda: found.append(registry.match([LISTINGS[0]])))
        reader.start()
        reader.join(timeout=30)
        assert not reader.is_alive()
    best = found[0][0][0]  # a1 or c1: the same words in another order
    assert (best["platform"], best["id"]) in {("a", "1"), ("c", "1")} and best["match"]


def test_a_match_does_not_wait_for_a_write_to_be_published(open_registry: Any) -> None:
    """A write committed but not yet indexed and published: a match answers at once, as
    before the write, and sees the write once the writer is done."""
    registry = open_registry()
    registry.upsert(LISTINGS[:3])
    committed, release = threading.Event(), threading.Event()
    index_and_publish = registry._index_after_commit

    def held(*args: Any) -> None:
        committed.set()
        assert release.wait(30)
        index_and_publish(*args)

    registry._index_after_commit = held
    newcomer = item("z", "9", LISTINGS[0].attributes["title"])
    writer = threading.Thread(target=registry.upsert, args=([newcomer],))
    writer.start()
    try:
        assert committed.wait(30)
        assert registry.store.vseq() == registry.committing  # in the database already
        found: list[Any] = []
        reader = threading.Thread(target=lambda: found.append(registry.match([newcomer])))
        reader.start()
        reader.join(timeout=10)
        assert not reader.is_alive()  # it did not wait for the publish
        assert ("z", "9") not in {(c["platform"], c["id"]) for c in found[0][0]}
    finally:
        release.set()
        writer.join(timeout=30)
    after = registry.match([newcomer])[0]
    assert ("z", "9") in {(c["platform"], c["id"]) for c in after}
    assert registry.committing is None


def _index_fails(*_: Any) -> None:
    raise RuntimeError("index broken")


def test_reads_catch_up_themselves_when_indexing_a_committed_write_fails(
    open_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = open_registry()
    registry.upsert(LISTINGS[:3])
    newcomer = item("z", "9", LISTINGS[0].attributes["title"])
    with monkeypatch.context() as patch:
        patch.setattr(registry.index, "add", _index_fails)
        with pytest.raises(RuntimeError):
            registry.upsert([newcomer])
    assert registry.committing is None
    assert registry.get("z", "9").product > 0  # committed
    found = registry.match([newcomer])[0]
    assert ("z", "9") in {(c["platform"], c["id"]) for c in found}
    assert registry.scorer.lexical.published_vseq == registry.store.vseq()


def test_reads_catch_up_themselves_when_indexing_a_committed_delete_fails(
    open_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = open_registry()
    registry.upsert(LISTINGS[:3])
    with monkeypatch.context() as patch:
        patch.setattr(registry.index, "remove", _index_fails)
        with pytest.raises(RuntimeError):
            registry.delete("a", "1")
    assert registry.committing is None
    found = registry.match([LISTINGS[0]])[0]
    assert ("a", "1") not in {(c["platform"], c["id"]) for c in found}  # deleted
    assert registry.scorer.lexical.published_vseq == registry.store.vseq()


def test_kept_counts_are_the_hashers_counts() -> None:
    """Counts kept read back as counted, a count over 65,535 included."""
    stats = LexicalStats()
    texts = [listing.attributes["title"] for listing in LISTINGS[:3]] + ["sd990 " * 66_000]
    expected = stats._hasher.transform(texts).toarray()
    first, again = stats.counts(texts), stats.counts(list(reversed(texts)))
    assert expected[3].max() > 65_535
    assert np.array_equal(first.toarray(), expected)
    assert np.array_equal(again.toarray(), expected[::-1])


def test_counts_stay_the_hashers_counts_as_the_kept_ones_are_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past its bound, the bank drops the texts read longest ago, never one the read in
    progress needs, and reads back every text as counted, in the order asked."""
    monkeypatch.setattr(lexical, "CACHED_TEXTS", 4)
    stats = LexicalStats()
    words = [f"item{n} model{n % 3} colour{n % 5}" for n in range(12)]
    calls = [words[0:3], words[3:6], words[0:2] + words[6:9], words[9:12] + words[0:3], words]
    kept = []
    for texts in calls:
        expected = stats._hasher.transform(texts).toarray()
        assert np.array_equal(stats.counts(texts).toarray(), expected)
        kept.append(len(stats._bank.texts))
    assert kept == [3, 5, 5, 6, 12]  # half of 4 (or the texts being read) kept, then the new
    stats.counts(words[11:12])
    assert len(stats._bank.texts) == 12  # just read: kept, not counted again
