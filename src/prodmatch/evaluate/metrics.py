"""Precision, recall, F1 and blocking recall, on sets of (left_id, right_id) pairs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from prodmatch.retrieve.hybrid import NOT_RANKED

Pair = tuple[str, str]


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float
    true_positives: int
    predicted: int
    actual: int


def precision_recall_f1(predicted: Iterable[Pair], actual: Iterable[Pair]) -> PRF:
    """Set-based scores: a predicted pair counts once, however often it was predicted."""
    pred, gold = set(predicted), set(actual)
    tp = len(pred & gold)
    precision = tp / len(pred) if pred else 0.0
    recall = tp / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return PRF(precision, recall, f1, tp, len(pred), len(gold))


def recall_at_k(
    candidates: pd.DataFrame, gold: pd.DataFrame, ks: Sequence[int], rank_columns: Sequence[str]
) -> dict[int, float]:
    """Share of gold pairs found within the top k of any of `rank_columns` (0-based ranks).

    Blocking recall bounds end-to-end recall: a pair that retrieval misses is never scored.
    """
    if len(gold) == 0:
        return dict.fromkeys(ks, 0.0)
    best = candidates[list(rank_columns)].min(axis=1).to_numpy()
    found = pd.DataFrame(
        {"left_id": candidates["left_id"], "right_id": candidates["right_id"], "best": best}
    )
    best_per_pair = found.groupby(["left_id", "right_id"], as_index=False)["best"].min()
    joined = gold.merge(best_per_pair, on=["left_id", "right_id"], how="left")
    ranks = joined["best"].fillna(NOT_RANKED).to_numpy()
    return {k: float(np.mean(ranks < k)) for k in ks}
