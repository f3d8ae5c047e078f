"""The registry from Python: products, stable ids, events, labels, and the index as a cache."""

from __future__ import annotations

import csv
import gc
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest
from registry_fakes import (
    EXPECTED_EVENTS,
    EXPECTED_PRODUCTS,
    WordEncoder,
    event_log,
    item,
    run_script,
)

from prodmatch.errors import ProdmatchError
from prodmatch.linker import Linker, model_numbers
from prodmatch.registry import NewListing, NotFound, Registry, lexical, settle_garbage_collector
from prodmatch.registry.matching import Entry, KeptScores, PairScorer, Partner, Scored
from prodmatch.registry.registry import PREPARED_AHEAD, _closest_earlier, _Pending
from prodmatch.registry.store import Readers, Store, dialect_for
from prodmatch.registry.vectors import INDEX_FILE, SharedLock, VectorIndex
from prodmatch.settings import MatchSettings


def products_of(registry: Registry) -> dict[str, int]:
    return {key: registry.product_of(*key.split("/")) for key in EXPECTED_PRODUCTS}


def test_scripted_sequence_gives_the_hand_written_event_log(open_registry: Any) -> None:
    registry = open_registry()
    run_script(registry)
    assert event_log(registry.events()) == EXPECTED_EVENTS
    assert products_of(registry) == EXPECTED_PRODUCTS
    assert registry.product(2)["alive"] is False
    assert registry.product(2)["merged_into"] == 1


def test_events_resume_from_a_cursor(open_registry: Any) -> None:
    registry = open_registry()
    run_script(registry)
    everything = registry.events()
    first = registry.events(after=0, limit=4)
    rest = registry.events(after=first[-1].seq)
    assert [e.seq for e in first + rest] == [e.seq for e in everything]
    assert [e.seq for e in everything] == sorted(e.seq for e in everything)


def test_same_text_keeps_the_product_and_changes_nothing(open_registry: Any) -> None:
    registry = open_registry()
    registry.upsert([item("amazon", "a1", "canon powershot sd990 camera")])
    again = registry.upsert([item("amazon", "a1", "canon powershot sd990 camera")])
    assert again[0]["status"] == "unchanged"
    price = registry.upsert([item("amazon", "a1", "canon powershot sd990 camera", price="99")])
    assert price[0]["status"] == "rematched"  # the price is part of the text
    assert len(registry.events()) == 2


def test_a_listing_may_match_one_sent_before_it_in_the_same_batch(open_registry: Any) -> None:
    registry = open_registry()
    results = registry.upsert(
        [
            item("amazon", "a1", "canon powershot sd990 camera silver"),
            item("ebay", "e1", "canon powershot sd990 silver camera"),
            item("ebay", "e2", "sony bravia kdl40 lcd tv"),
        ]
    )
    assert [r["product"] for r in results] == [1, 1, 2]


def test_a_match_to_two_products_merges_them_into_the_older(open_registry: Any) -> None:
    registry = open_registry()
    registry.upsert([item("amazon", "a1", "canon powershot sd990 camera silver")])
    registry.upsert([item("ebay", "e1", "canon powershot sd990 black")])
    registry.label(("amazon", "a1"), ("ebay", "e1"), False)  # kept apart ...
    assert registry.product_of("ebay", "e1") != registry.product_of("amazon", "a1")
    registry.upsert([item("walmart", "w1", "canon powershot sd990 camera silver black")])
    # ... so the listing matching both joins one, and the two are never merged
    assert registry.product_of("walmart", "w1") == 1
    assert registry.product_of("ebay", "e1") == 2
    assert not [e for e in registry.events() if e.kind == "merge"]


def test_not_same_keeps_listings_apart_afterwards(open_registry: Any) -> None:
    registry = open_registry()
    registry.upsert([item("amazon", "a1", "canon powershot sd990 camera silver")])
    registry.upsert([item("ebay", "e1", "canon powershot sd990 camera silver")])
    assert registry.product_of("ebay", "e1") == 1
    registry.label(("ebay", "e1"), ("amazon", "a1"), False)
    assert registry.product_of("ebay", "e1") == 2
    registry.upsert([item("ebay", "e1", "canon powershot sd990 silver camera")])  # re-matched
    assert registry.product_of("ebay", "e1") == 2


def test_labels_export_as_training_pairs(open_registry: Any) -> None:
    registry = open_registry()
    registry.upsert([item("amazon", "a1", "canon sd990"), item("ebay", "e1", "sony kdl40")])
    registry.label(("ebay", "e1"), ("amazon", "a1"), True)
    rows = list(csv.DictReader(io.StringIO(registry.export_labels())))
    assert rows == [
        {
            "ltable_id": "a1",
            "rtable_id": "e1",
            "label": "1",
            "left_platform": "amazon",
            "right_platform": "ebay",
        }
    ]


def test_unknown_listings_and_bad_labels_are_errors(open_registry: Any) -> None:
    registry = open_registry()
    registry.upsert([item("amazon", "a1", "canon sd990")])
    with pytest.raises(NotFound, match="no listing 'x'"):
        registry.delete("amazon", "x")
    with pytest.raises(ProdmatchError, match="two different"):
        registry.label(("amazon", "a1"), ("amazon", "a1"), True)
    with pytest.raises(ProdmatchError, match="twice"):
        registry.upsert([item("amazon", "b", "x"), item("amazon", "b", "y")])


def test_index_is_rebuilt_from_the_database(open_registry: Any, tmp_path: Path) -> None:
    folder = tmp_path / "registry"
    registry = open_registry(folder)
    run_script(registry)
    registry.close()
    (folder / INDEX_FILE).unlink()
    reopened = open_registry(folder)
    assert len(reopened.index) == reopened.counts()["listings"] == 5
    found = reopened.match([item("x", "q", "nikon coolpix p100 black")], k=1)[0]
    assert (found[0]["platform"], found[0]["id"]) == ("amazon", "a2")


def test_a_stale_index_file_catches_up(open_registry: Any, tmp_path: Path) -> None:
    folder = tmp_path / "registry"
    registry = open_registry(folder)
    registry.upsert([item("amazon", "a1", "canon sd990"), item("amazon", "a2", "sony kdl40")])
    registry.save()
    registry.delete("amazon", "a1")
    registry.upsert([item("amazon", "a3", "nikon p100")])
    registry.store.close()  # as if killed: the index file on disk is one generation behind
    reopened = open_registry(folder)
    listed = {reopened.get("amazon", name).pk for name in ("a2", "a3")}
    assert set(faiss.vector_to_array(reopened.index.index.id_map).tolist()) == listed


def test_another_model_is_refused(open_registry: Any, tmp_path: Path) -> None:
    folder = tmp_path / "registry"
    open_registry(folder).close()

    class Other(WordEncoder):
        key = "another-model"

    with pytest.raises(ProdmatchError, match="another encoder"):
        Registry(folder, encoder=Other())  # type: ignore[arg-type]


def test_warming_refuses_a_model_of_another_width(open_registry: Any) -> None:
    registry = open_registry()
    registry.warm()  # the stored width: nothing to say
    with registry.store.write():
        registry.store.set_meta("dim", "65")
    with pytest.raises(ProdmatchError, match="65 dimensions and the model gives 64"):
        registry.warm()


def test_pair_scores_are_the_linkers(tmp_path: Path) -> None:
    """The registry scores a pair exactly as `Linker.match` does over the same two listings."""
    import pandas as pd

    from prodmatch.data.catalog import catalog_from_frame

    encoder = WordEncoder()
    linker = Linker(encoder=encoder, progress=False)  # type: ignore[arg-type]
    left = catalog_from_frame(pd.DataFrame({"id": ["a"], "title": ["canon sd990 camera"]}))
    right = catalog_from_frame(pd.DataFrame({"id": ["b"], "title": ["canon sd990 silver"]}))
    expected = linker.match(left, right)["score"].iloc[0]
    scorer = PairScorer(linker)
    entries = []
    for key, title in (("a", "canon sd990 camera"), ("b", "canon sd990 silver")):
        text, plain = scorer.texts({"title": title})
        entries.append(Entry(key, text, plain, scorer.encode([text])[0]))
    scored = scorer.score(entries[:1], entries[1:], [(0, 0)])
    assert scored["score"].iloc[0] == pytest.approx(expected, abs=1e-6)


def test_passing_pairs_are_the_scored_pairs_at_or_above_the_threshold() -> None:
    linker = Linker(encoder=WordEncoder(), progress=False)  # type: ignore[arg-type]
    scorer = PairScorer(linker)
    titles = ["canon sd990 camera", "canon sd990 silver", "sony kdl40 tv", "sony kdl40 lcd tv"]
    entries = []
    for n, title in enumerate(titles):
        text, plain = scorer.texts({"title": title})
        entries.append(Entry(str(n), text, plain, scorer.encode([text])[0]))
    pairs = [(i, n) for i in range(2) for n in range(4)]
    frame = scorer.score(entries[:2], entries, pairs)
    expected: dict[int, list[Partner]] = {}
    for row in frame.itertuples():
        if row.score >= scorer.threshold:
            expected.setdefault(int(row.left), []).append((int(row.right), float(row.score)))
    assert 0 < sum(map(len, expected.values())) < len(pairs)  # some pass and some do not
    assert scorer.passing(Scored(entries[:2], entries, frame)) == expected


def test_kept_scores_take_the_pairs_a_write_scored_already() -> None:
    """A pair the write's candidate call scored is taken from it, as scored then (no second
    scoring call); a pair it did not score is scored, and both read as a fresh call would."""
    linker = Linker(encoder=WordEncoder(), progress=False)  # type: ignore[arg-type]
    scorer = PairScorer(linker)
    titles = ["canon sd990 camera", "canon sd990 silver", "sony kdl40 tv", "sony kdl40 lcd tv"]
    entries = []
    for n, title in enumerate(titles):
        text, plain = scorer.texts({"title": title})
        entries.append(Entry(str(n), text, plain, scorer.encode([text])[0]))
    left, right = entries[:2], entries[2:] + entries[:1]
    scored = Scored(left, right, scorer.score(left, right, [(0, 0), (1, 2), (0, 2)]))
    calls: list[int] = []
    rows = scorer.rows

    def counted(lefts: Any, rights: Any, positions: Any) -> list[dict[str, Any]]:
        calls.append(len(positions))
        return rows(lefts, rights, positions)

    scorer.rows = counted  # type: ignore[method-assign]
    kept = KeptScores(scorer, scored)
    taken = [(left[0], right[0]), (left[1], right[2])]
    assert [r["score"] for r in kept.rows(taken)] == [
        r["score"] for r in rows(left, right, [(0, 0), (1, 2)])
    ]
    assert calls == []
    assert kept.rows([(left[1], right[1])])[0]["score"] == rows(left, right, [(1, 1)])[0]["score"]
    assert calls == [1]
    unscored, known, stranger = scored.rows_of([("1", "2"), ("0", "2"), ("9", "2")])
    assert unscored is None and stranger is None  # (1, 0) was not scored; "9" is no entry
    assert known is not None and known["score"] == rows(left, right, [(0, 0)])[0]["score"]


def test_kept_details_read_as_the_tagged_attributes() -> None:
    """The registry's cached details are what `tagged_attributes` reads, cached or not."""
    from prodmatch.registry.matching import _details
    from prodmatch.text.attributes import tagged_attributes

    for text in (
        "[title] office 2008 for mac 2 pack 500 gb [manufacturer] microsoft [price] 49.99",
        "[title] canon sd990 camera",
    ):
        parsed = tagged_attributes(text)
        for got in (_details(text), _details(text)):
            assert (got.quantities, got.years, got.editions, got.platforms) == (
                parsed.quantities,
                parsed.years,
                parsed.editions,
                parsed.platforms,
            )
            assert got.price is got.currency is got.brand is None


def test_joining_needs_the_whole_product_not_one_look_alike(open_registry: Any) -> None:
    """Average linkage: c matches b well but not a, so it does not chain into their product."""
    registry = open_registry()
    registry.upsert([item("x", "a", "canon sd990 camera")])
    registry.upsert([item("x", "b", "canon sd990 camera leather case")])
    registry.upsert([item("x", "c", "leather case silver strap")])
    assert registry.product_of("x", "b") == registry.product_of("x", "a") == 1
    best = registry.match([item("y", "q", "leather case silver strap")], k=1)[0][0]
    assert best["id"] == "c" and best["match"]
    pair_to_b = [
        c
        for c in registry.match([item("y", "q", "leather case silver strap")])[0]
        if c["id"] == "b"
    ]
    assert pair_to_b[0]["score"] >= registry.scorer.threshold  # a pair match with b ...
    assert registry.product_of("x", "c") == 2  # ... yet not with b's product as a whole


def test_upsert_many_stores_each_batch_as_upsert_does(open_registry: Any, tmp_path: Path) -> None:
    batches = [
        [item("amazon", "a1", "canon powershot sd990 camera silver")],
        [
            item("ebay", "e1", "canon powershot sd990 silver camera"),
            item("ebay", "e2", "sony bravia kdl40 lcd tv"),
        ],
        [item("amazon", "a1", "sony bravia kdl40 lcd television")],  # a1 moves to the tv
    ]
    one_by_one = open_registry(tmp_path / "one")
    expected = [one_by_one.upsert(batch) for batch in batches]
    piped = open_registry(tmp_path / "piped")
    assert list(piped.upsert_many(iter(batches))) == expected
    assert event_log(piped.events()) == event_log(one_by_one.events())


def test_upsert_many_encodes_under_the_lock_a_text_changed_after_it_was_prepared(
    open_registry: Any, tmp_path: Path
) -> None:
    """The last batch is prepared while a1 still has its first text, so it is not encoded
    ahead; stored after the second batch changed a1, it must be encoded and placed then."""
    first = [item("amazon", "a1", "canon powershot sd990 camera silver")]
    batches = [
        [item("amazon", "a1", "sony bravia kdl40 lcd television")],
        [item("ebay", "e1", "sony bravia kdl40 lcd tv")],
        first,
    ]
    one_by_one = open_registry(tmp_path / "one")
    one_by_one.upsert(first)
    expected = [one_by_one.upsert(batch) for batch in batches]
    piped = open_registry(tmp_path / "piped")
    piped.upsert(first)
    prepare, store, prepared = piped._prepare, piped._store, []
    all_prepared = threading.Event()

    def prepare_counted(batch: list[NewListing]) -> Any:
        found = prepare(batch)
        prepared.append(found)
        if len(prepared) == len(batches):
            all_prepared.set()
        return found

    def store_once_all_prepared(found: Any) -> Any:
        assert all_prepared.wait(10)
        return store(found)

    piped._prepare, piped._store = prepare_counted, store_once_all_prepared
    assert list(piped.upsert_many(iter(batches))) == expected
    last = next(found for found in prepared if found.listings is first)  # two run at once
    assert not last.vectors  # so a1's last text was encoded under the lock
    assert [r["status"] for batch in expected for r in batch] == [
        "rematched",
        "created",
        "rematched",
    ]
    assert event_log(piped.events()) == event_log(one_by_one.events())


def test_upsert_many_pulls_a_bounded_number_of_batches_ahead(open_registry: Any) -> None:
    registry = open_registry()
    pulled = []

    def batches() -> Iterator[list[NewListing]]:
        for n in range(PREPARED_AHEAD + 3):
            pulled.append(n)
            yield [item("shop", f"l{n}", f"listing number {n} widget")]

    stored = registry.upsert_many(batches())
    assert [r["id"] for r in next(stored)] == ["l0"]
    assert len(pulled) == PREPARED_AHEAD + 1  # a million-row file is not read ahead whole
    assert [r["id"] for batch in stored for r in batch] == [
        f"l{n}" for n in range(1, PREPARED_AHEAD + 3)
    ]


def test_upsert_many_keeps_the_batches_before_a_bad_one(open_registry: Any) -> None:
    registry = open_registry()
    twice = [item("ebay", "e1", "sony tv"), item("ebay", "e1", "sony tv")]
    found = []
    with pytest.raises(ProdmatchError, match="ebay/e1 is in the batch twice"):
        for results in registry.upsert_many([[item("amazon", "a1", "canon camera")], twice]):
            found.append(results)
    assert [r["id"] for batch in found for r in batch] == ["a1"]
    assert registry.counts()["listings"] == 1


def test_upsert_many_drops_the_batches_queued_behind_a_bad_one(
    open_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error shows without encoding the batches still waiting: batch 0 fails while
    batch 1 is being prepared (or not yet started), so batches 2.. are still queued and
    must never be prepared, not even by the preparing thread that batch 0 leaves free."""
    registry = open_registry()
    prepared: list[str] = []
    prepare = registry._prepare

    def watched(listings: list[NewListing]) -> Any:
        prepared.append(listings[0].id)
        if listings[0].id == "b0":
            time.sleep(0.2)  # batches 2 and 3 are queued by the time it fails
        if listings[0].id == "b1":
            time.sleep(1.0)  # long enough for the failure to reach the loader first
        return prepare(listings)

    monkeypatch.setattr(registry, "_prepare", watched)
    twice = [item("ebay", "b0", "sony tv"), item("ebay", "b0", "sony tv")]
    later = [[item("ebay", f"b{n}", f"listing number {n} widget")] for n in range(1, 6)]
    with pytest.raises(ProdmatchError, match="ebay/b0 is in the batch twice"):
        list(registry.upsert_many([twice, *later]))
    assert prepared in (["b0"], ["b0", "b1"])
    assert registry.counts()["listings"] == 0


def test_upsert_many_prepares_two_batches_at_once_and_stores_them_in_order(
    open_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One batch's encode leaves a core idle in its serial parts; a second fills them."""
    registry = open_registry()
    running, most = [0], [0]
    guard = threading.Lock()
    prepare = registry._prepare

    def watched(listings: list[NewListing]) -> Any:
        with guard:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with guard:
            running[0] -= 1
        return prepare(listings)

    monkeypatch.setattr(registry, "_prepare", watched)
    batches = [[item("ebay", f"b{n}", f"listing number {n} widget")] for n in range(4)]
    stored = [result[0]["id"] for result in registry.upsert_many(batches)]
    assert stored == ["b0", "b1", "b2", "b3"]
    assert most[0] == 2


def test_a_batch_listing_is_compared_with_its_k_closest_stored_or_earlier(
    open_registry: Any,
) -> None:
    """As if the batch came one listing at a time: the k closest among the stored listings
    and those before it in the batch, not k of each."""
    registry = open_registry()
    registry.k = 1
    registry.upsert([item("amazon", "a1", "canon powershot sd990 camera silver black")])
    batch = [
        item("ebay", "e1", "nikon coolpix p100 camera"),
        item("ebay", "e2", "nikon coolpix p100 camera black"),
    ]
    pending = [_Pending(x, None, *registry.scorer.texts(x.attributes)) for x in batch]
    vectors = registry.scorer.encode([p.text for p in pending])
    left = [
        Entry(f"q{i}", p.text, p.plain, v)
        for i, (p, v) in enumerate(zip(pending, vectors, strict=True))
    ]
    right, _, pairs = registry._candidates(pending, vectors, left)
    named = {(left[i].key, right[j].key) for i, j in pairs}
    # e1's only choice is the stored a1; e2 is closer to e1 (before it) than to a1
    assert named == {("q0", str(registry.get("amazon", "a1").pk)), ("q1", "q0")}


@pytest.mark.parametrize(("n", "k"), [(1, 3), (6, 3), (40, 5), (40, 50)])
def test_a_batch_keeps_the_earlier_pairs_that_sorting_them_all_would(n: int, k: int) -> None:
    """Only the pairs that can be a listing's k closest earlier ones are kept; ties at the
    k-th are kept too, so the sort after picks what a sort of every pair would."""
    rng = np.random.default_rng(n + k)
    vectors = rng.normal(size=(n, 8)).astype(np.float32)
    vectors[n // 2 :: 3] = vectors[0]  # listings alike: ties at the k-th closest
    later, earlier, inner = _closest_earlier(vectors, k)

    def best(rows: Any, cols: Any, dots: Any) -> list[tuple[int, int]]:
        order = np.lexsort((cols, -dots, rows))
        kept: dict[int, list[int]] = {}
        for i, j in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
            if len(kept.setdefault(i, [])) < k:
                kept[i].append(j)
        return [(i, j) for i, js in kept.items() for j in js]

    every_later, every_earlier = np.tril_indices(n, -1)
    every = (vectors @ vectors.T)[every_later, every_earlier]
    assert best(later, earlier, inner) == best(every_later, every_earlier, every)
    assert np.all(earlier < later)
    if n > k + 1:
        assert len(later) < len(every_later)  # it left pairs out


def test_reads_borrow_connections_of_their_own(tmp_path: Path) -> None:
    readers = Readers(dialect_for(tmp_path, None), size=2)
    Store(readers.dialect).close()  # the schema, as a registry makes it
    with readers.lend() as one, readers.lend() as two:
        assert one is not two  # two reading threads do not wait for each other
        assert one.vseq() == two.vseq() == 0
    with readers.lend() as again:
        assert again in (one, two)  # lent back, then lent again
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with readers.lend():
            held.set()
            release.wait(10)

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for thread in holders:
        thread.start()
    held.wait(10)
    got: list[Store] = []
    waiter = threading.Thread(target=lambda: got.append(readers.lend().__enter__()))
    waiter.start()
    waiter.join(0.3)
    assert not got  # at most `size` connections: the third reader waits for one
    release.set()
    waiter.join(10)
    assert len(got) == 1
    readers.close()


def test_catching_up_reads_only_what_changed(open_registry: Any) -> None:
    """The index's and the statistics' catch-up reads search by generation: a scan of every
    listing (SQLite's plan for `ORDER BY pk`) cost each read after a write 87 ms at 100k."""
    registry = open_registry()
    registry.upsert([item("amazon", f"a{n}", f"listing number {n}") for n in range(30)])
    statements: list[str] = []
    connection = registry.store.connection
    connection.set_trace_callback(statements.append)
    pks, _ = registry.store.vectors_since(0)
    registry.store.plains_since(0)
    registry.store.gone_since(0)
    connection.set_trace_callback(None)
    assert list(pks) == sorted(pks) and len(pks) == 30
    for statement in statements:
        plan = connection.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
        assert all("SCAN" not in str(step[3]) for step in plan), (statement, plan)


def test_searches_share_the_index_lock_and_changes_hold_it_alone() -> None:
    lock = SharedLock()
    order: list[str] = []
    with lock.shared(), lock.shared():  # two searches at once
        changer = threading.Thread(target=lambda: _hold(lock.exclusive(), order, "change"))
        changer.start()
        time.sleep(0.2)
        assert order == []  # the change waits for the searches
        late = threading.Thread(target=lambda: _hold(lock.shared(), order, "late search"))
        late.start()
        time.sleep(0.2)
        assert order == []  # a new search waits behind the waiting change
    changer.join(10)
    late.join(10)
    assert order == ["change", "late search"]


def test_the_index_gives_back_the_vectors_it_holds_in_the_order_asked() -> None:
    index = VectorIndex(4)
    first = np.eye(4, dtype=np.float32)
    index.put(np.array([7, 3, 9, 5]), first)
    assert index.vectors([9, 7]).tolist() == [first[2].tolist(), first[0].tolist()]
    index.put(np.array([9]), np.full((1, 4), 0.5, dtype=np.float32))  # replaced
    assert index.vectors([9, 5]).tolist() == [[0.5] * 4, first[3].tolist()]
    assert index.vectors([]).shape == (0, 4)


def test_a_match_leaves_out_a_listing_deleted_after_its_search(open_registry: Any) -> None:
    """Between another process's delete and the index catching up, FAISS may still find the
    listing: the match leaves it out (the database is the truth) instead of failing."""
    registry = open_registry()
    registry.upsert(
        [
            item("amazon", "a1", "canon powershot sd990 silver"),
            item("amazon", "a2", "canon powershot sd990 silver camera"),
        ]
    )
    gone = registry.store.listing("amazon", "a2")
    assert gone is not None and len(registry.index) == 2
    with registry.store.write():  # the row goes; the index, not told, still holds it
        registry.store._run("DELETE FROM listings WHERE pk = ?", (gone.pk,))
    found = registry.match([item("ebay", "e1", "canon powershot sd990 silver")])[0]
    assert [candidate["id"] for candidate in found] == ["a1"]


def test_a_write_waits_for_searches_only_to_change_the_index(open_registry: Any) -> None:
    """Starting a write takes the index's lock alone only when another process wrote: with
    the index current it waited for every search in flight, and new ones queued behind it."""
    registry = open_registry()
    registry.upsert([item("amazon", "a1", "canon powershot sd990 silver")])
    began: list[str] = []

    def write() -> None:
        with registry.lock, registry._writing():
            began.append("write")

    with registry.index_lock.shared():  # a search in flight
        writer = threading.Thread(target=write)
        writer.start()
        writer.join(5)
        assert began == ["write"]
    other = open_registry(registry.folder)  # another process writes: the index is behind
    other.upsert([item("ebay", "e1", "nikon coolpix p100 black")])
    with registry.index_lock.shared():
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.3)
        assert began == ["write"]  # this write catches the index up: it waits
    writer.join(5)
    assert began == ["write", "write"] and len(registry.index) == 2


def _hold(context: Any, order: list[str], name: str) -> None:
    with context:
        order.append(name)


def test_settling_the_collector_freezes_what_is_alive() -> None:
    gc.unfreeze()
    try:
        settle_garbage_collector()
        assert gc.get_freeze_count() > 1000  # the imported libraries at least
    finally:
        gc.unfreeze()


def test_model_numbers_are_kept_up_to_a_bound_and_read_back_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lexical, "_CODES", {})
    monkeypatch.setattr(lexical, "CACHED_CODES", 2)
    texts = ["canon sd990 silver", "sony kdl40v5100 tv", "plain words only", "nikon p100"]
    for text in texts + texts:
        assert lexical.model_numbers_of(text) == model_numbers([text])[0]
        assert len(lexical._CODES) <= 2
    assert lexical.model_numbers_of("plain words only") is lexical.model_numbers_of("x y")


def test_listings_of_one_platform_with_other_identifiers_stay_apart(open_registry: Any) -> None:
    registry = open_registry()
    words = "acer predator helios 16 inch 32 gb ram 1 tb ssd platinum gaming laptop"
    registry.upsert([item("amazon", "a1", f"{words} ph3307x")])
    registry.upsert([item("amazon", "a2", f"{words} ph6550t")])  # scores 0.84 with a1
    registry.upsert([item("ebay", "e1", f"{words} ph6550t")])
    # one shop's siblings differ by their model numbers: two products, as dedup reads them;
    # across platforms the plain score decides (the same words, so a join)
    assert registry.product_of("amazon", "a1") != registry.product_of("amazon", "a2")
    assert registry.product_of("ebay", "e1") == registry.product_of("amazon", "a2")


def test_a_model_number_many_listings_name_is_no_identifier(open_registry: Any) -> None:
    registry = open_registry()
    words = "acer predator helios 16 inch 32 gb ram 1 tb ssd platinum gaming laptop"
    registry.upsert(
        [item("ebay", f"e{n}", f"dell xps monitor rtx4070 black {n}") for n in range(3)]
    )
    registry.upsert([item("amazon", "a1", f"{words} rtx4070")])
    registry.upsert([item("amazon", "a2", f"{words} ph6550t")])
    # "rtx4070" is in four listings: a feature, so it conflicts with no one's identifier
    assert registry.product_of("amazon", "a1") == registry.product_of("amazon", "a2")


def test_listings_whose_details_disagree_stay_apart(open_registry: Any) -> None:
    registry = open_registry()
    registry.upsert([item("amazon", "a1", "adobe photoshop elements 2019 mac licence")])
    registry.upsert([item("amazon", "a2", "adobe photoshop elements 2019 windows licence")])
    registry.upsert([item("amazon", "a3", "adobe photoshop elements 2019 licence")])
    assert registry.product_of("amazon", "a1") != registry.product_of("amazon", "a2")
    assert registry.product_of("amazon", "a3") == registry.product_of("amazon", "a1")


def test_model_numbers_are_counted_with_the_listings(open_registry: Any) -> None:
    registry = open_registry()
    registry.upsert([item("amazon", "a1", "canon sd990 silver"), item("ebay", "e1", "sd990")])
    stats = registry.scorer.lexical
    assert stats.codes == {"sd990": 2}
    assert stats.identifiers("canon sd990 black") == {"sd990"}
    registry.upsert([item("walmart", "w1", "canon sd990")])
    assert stats.identifiers("canon sd990 black") == frozenset()  # three name it now
    registry.delete("ebay", "e1")
    assert stats.codes == {"sd990": 2}
    rebuilt = lexical.LexicalStats()
    rebuilt.rebuild(registry.store)
    assert rebuilt.codes == stats.codes


def test_siblings_stay_apart_whatever_weighs_the_scores(tmp_path: Path) -> None:
    """Without the registry's own n-gram weights (here the dense scorer, as for a trained
    matcher's fixed ones) model numbers are still counted, and conflicts still read."""
    settings = MatchSettings(scorer="dense")
    with Registry(tmp_path / "r", settings, encoder=WordEncoder()) as registry:  # type: ignore[arg-type]
        assert not registry.scorer.weighs and not registry.scorer.lexical.ngrams
        words = "acer predator helios 16 inch 32 gb ram 1 tb ssd platinum gaming laptop"
        registry.upsert([item("amazon", "a1", f"{words} ph3307x")])
        registry.upsert([item("amazon", "a2", f"{words} ph6550t")])
        registry.upsert([item("ebay", "e1", f"{words} ph6550t")])
        assert registry.product_of("amazon", "a1") != registry.product_of("amazon", "a2")
        assert registry.product_of("ebay", "e1") == registry.product_of("amazon", "a2")
        assert registry.scorer.lexical.codes == {"ph3307x": 1, "ph6550t": 2}
        assert not registry.scorer.lexical.df.any()  # no n-gram counted
