from __future__ import annotations

import pandas as pd
import pytest

from prodmatch.evaluate import precision_recall_f1, recall_at_k
from prodmatch.retrieve.hybrid import NOT_RANKED


def test_precision_recall_f1_by_hand() -> None:
    prf = precision_recall_f1(
        [("a", "1"), ("b", "2"), ("c", "9")], [("a", "1"), ("b", "2"), ("d", "4"), ("e", "5")]
    )
    assert (prf.precision, prf.recall) == (pytest.approx(2 / 3), 0.5)
    assert prf.f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))


def test_nothing_predicted_scores_zero() -> None:
    assert precision_recall_f1([], [("a", "1")]).f1 == 0.0


def test_recall_at_k_takes_the_best_rank_of_any_column() -> None:
    candidates = pd.DataFrame(
        {
            "left_id": ["a", "b", "c"],
            "right_id": ["1", "2", "3"],
            "x": [0, 7, NOT_RANKED],
            "y": [NOT_RANKED, 3, 1],
        }
    )
    gold = pd.DataFrame({"left_id": ["a", "b", "c", "d"], "right_id": ["1", "2", "3", "4"]})
    assert recall_at_k(candidates, gold, [1, 2, 5], ["x", "y"]) == {1: 0.25, 2: 0.5, 5: 0.75}


def _hand_made_candidates() -> pd.DataFrame:
    """Eight scored candidates of left a, b, c against right x, y, z, with each retriever's
    ranks both ways (n: not found that way). Ranks by score: a: x, y, z; b: x, y, z; c: x, z;
    and from the right: x: c, a, b; y: b, a; z: c, a, b."""
    n = NOT_RANKED
    rows = [
        # left, right, score, dense_lr, dense_rl, sparse_lr, sparse_rl
        ("a", "x", 0.9, 0, 0, n, n),
        ("a", "y", 0.5, 1, n, n, n),
        ("a", "z", 0.2, n, n, n, 1),
        ("b", "x", 0.8, n, 1, n, n),
        ("b", "y", 0.7, 0, 0, n, n),
        ("b", "z", 0.1, n, n, 0, n),
        ("c", "x", 0.95, n, n, 0, n),
        ("c", "z", 0.3, n, n, n, 0),
    ]
    frame = pd.DataFrame(
        rows,
        columns=["left_id", "right_id", "score", "dense_lr", "dense_rl", "sparse_lr", "sparse_rl"],
    )
    frame["left"] = frame["left_id"].map({"a": 0, "b": 1, "c": 2})
    frame["right"] = frame["right_id"].map({"x": 0, "y": 1, "z": 2})
    frame["rank"] = frame.groupby("left")["score"].rank(ascending=False).astype(int)
    frame["decision"] = False
    return frame


# (a, x) is a's first by score but x's second; (b, y) is b's second but y's first; (b, z) is third
# both ways by score, first by sparse left to right; (d, w) was never retrieved.
GOLD = pd.DataFrame({"left_id": ["a", "b", "b", "d"], "right_id": ["x", "y", "z", "w"]})


def test_recall_at_k_counts_a_pair_found_only_right_to_left() -> None:
    candidates = _hand_made_candidates()
    both = recall_at_k(candidates, GOLD, [1, 2], ["dense_lr", "dense_rl"])
    assert both == {1: 0.5, 2: 0.5}
    sparse_both = recall_at_k(candidates, GOLD, [1], ["sparse_lr", "sparse_rl"])
    assert sparse_both == {1: 0.25}
    # (c, z) is found only from z's side: gold of c alone is all found both ways, none one way
    gold_c = pd.DataFrame({"left_id": ["c"], "right_id": ["z"]})
    assert recall_at_k(candidates, gold_c, [1], ["sparse_lr", "sparse_rl"]) == {1: 1.0}
    assert recall_at_k(candidates, gold_c, [1], ["sparse_lr"]) == {1: 0.0}


def test_linkage_reports_scored_and_per_retriever_recall_both_ways() -> None:
    from prodmatch.evaluate.linkage import score_linkage
    from prodmatch.linker import Linker
    from prodmatch.settings import MatchSettings

    linker = Linker(MatchSettings(scorer="tfidf", retrieval="sparse"), progress=False)
    candidates = _hand_made_candidates()
    report = score_linkage(candidates, GOLD, linker, sizes=(3, 3), ks=(1, 2, 3))
    # the final score's ranking, both ways: (a, x) 1st from a, (b, y) 1st from y, (b, z) 3rd
    assert report.recall_at_k_by_retriever["scored"] == {1: 0.5, 2: 0.5, 3: 0.75}
    assert report.recall_at_k_by_retriever["dense"] == {1: 0.5, 2: 0.5, 3: 0.5}
    assert report.recall_at_k_by_retriever["sparse"] == {1: 0.25, 2: 0.25, 3: 0.25}
    # any retriever, any direction: (a, x), (b, y), (b, z) at rank 0
    assert report.recall_at_k == {1: 0.75, 2: 0.75, 3: 0.75}
    # a retriever that found nothing is left out rather than reported as zero recall
    dense_only = candidates.assign(sparse_lr=NOT_RANKED, sparse_rl=NOT_RANKED)
    report = score_linkage(dense_only, GOLD, linker, sizes=(3, 3), ks=(1, 2))
    assert set(report.recall_at_k_by_retriever) == {"scored", "dense"}
    assert report.recall_at_k == {1: 0.5, 2: 0.5}
