"""One upsert batch's scorer: the core's scores, each pair scored once, keys that follow a
listing from pending to stored."""

from __future__ import annotations

from typing import Any

import pytest
from registry_fakes import WordEncoder

from prodmatch.linker import Linker
from prodmatch.registry.matching import Entry, PairScorer

TITLES = ["canon sd990 camera silver", "canon sd990 silver", "nikon p100 black", "sony kdl40 tv"]


def _entries(scorer: PairScorer, prefix: str) -> list[Entry]:
    out = []
    for n, title in enumerate(TITLES):
        text, plain = scorer.texts({"title": title})
        out.append(Entry(f"{prefix}{n}", text, plain, scorer.encode([text])[0]))
    return out


@pytest.fixture
def scorer() -> PairScorer:
    return PairScorer(Linker(encoder=WordEncoder(), progress=False))  # type: ignore[arg-type]


def test_the_batch_scores_are_the_plain_scorers_over_the_same_corpus(scorer: PairScorer) -> None:
    left, right = _entries(scorer, "q")[:2], _entries(scorer, "")
    pairs = [(i, j) for i in range(len(left)) for j in range(len(right))]
    expected = scorer.score(left, right, pairs)
    batch = scorer.batch(left + right)
    got = batch.score(left, right, pairs)
    assert got["score"].tolist() == pytest.approx(expected["score"].tolist(), abs=1e-6)
    assert got["sparse"].tolist() == pytest.approx(expected["sparse"].tolist(), abs=1e-6)
    assert list(zip(got["left"], got["right"], strict=True)) == pairs


def test_a_pair_is_scored_once_also_under_its_stored_key(
    scorer: PairScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = _entries(scorer, "q")
    batch = scorer.batch(entries)
    scored: list[int] = []
    features = batch.linker.features

    def counted(*args: Any, **kwargs: Any) -> Any:
        frame = features(*args, **kwargs)
        scored.append(len(frame))
        return frame

    monkeypatch.setattr(batch.linker, "features", counted)
    first = batch.rows(entries[:1], entries[1:], [(0, 0), (0, 1)])
    assert scored == [2]
    batch.alias("17", "q1")  # q1 was placed and stored as pk 17
    stored = Entry("17", entries[1].text, entries[1].plain, entries[1].vector)
    again = batch.rows(entries[:1], [stored, entries[3]], [(0, 0), (0, 1)])
    assert scored == [2, 1]  # only the pair with q3 is new
    assert again[0]["score"] == first[0]["score"] and again[0]["right"] == 0
