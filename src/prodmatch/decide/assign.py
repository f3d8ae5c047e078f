"""Turning scored candidates into decisions: all above threshold, best per listing, or 1-to-1."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

Assignment = Literal["one-to-one", "best", "all"]


def assign(pairs: pd.DataFrame, threshold: float, mode: Assignment = "one-to-one") -> pd.Series:
    """A boolean match decision for each row of `pairs` (columns left, right, score).

    - ``all``: every pair scoring at least `threshold`.
    - ``best``: each left listing's best-scoring right listing, if above threshold.
    - ``one-to-one``: greedily, best score first, each listing on either side used at most
      once, which is how one product is listed once per platform. Greedy matching is within a
      factor of two of the optimal assignment and, unlike the Hungarian method, runs on
      millions of candidates.
    """
    above = pairs["score"].to_numpy() >= threshold
    if mode == "all":
        return pd.Series(above, index=pairs.index)
    ordered = pairs[above].sort_values("score", ascending=False, kind="stable")
    chosen: list[object]
    if mode == "best":
        chosen = list(ordered.drop_duplicates("left").index)
    else:
        chosen = _greedy_one_to_one(ordered)
    decision = np.zeros(len(pairs), dtype=bool)
    decision[pairs.index.get_indexer(pd.Index(chosen))] = True
    return pd.Series(decision, index=pairs.index)


def _greedy_one_to_one(ordered: pd.DataFrame) -> list[object]:
    used_left: set[object] = set()
    used_right: set[object] = set()
    chosen: list[object] = []
    for row, left, right in zip(ordered.index, ordered["left"], ordered["right"], strict=True):
        if left in used_left or right in used_right:
            continue
        used_left.add(left)
        used_right.add(right)
        chosen.append(row)
    return chosen
