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
