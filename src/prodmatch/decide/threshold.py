"""Choosing the score threshold that best separates matches from non-matches on labelled pairs."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def best_threshold(
    scores: npt.ArrayLike, labels: npt.ArrayLike, *, positives: int | None = None
) -> tuple[float, float]:
    """The threshold with the highest F1 on (scores, labels), and that F1.

    `positives` is the number of true matches in all, when some were never scored (missed by
    retrieval or by a one-to-one assignment); it defaults to the positives among `labels`.

    Pairs with score >= threshold are predicted matches. The threshold is set midway between
    the lowest accepted score and the next lower one, so a slightly different score on unseen
    data does not flip the decision.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    positives = int(y.sum()) if positives is None else positives
    if len(s) == 0 or positives == 0:
        return 0.5, 0.0
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    true_pos = np.cumsum(y_sorted)
    predicted = np.arange(1, len(s) + 1)
    f1 = 2 * true_pos / (predicted + positives)
    # Only cut where the score changes, or equal scores would be split.
    last_of_tie = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    f1 = np.where(last_of_tie, f1, -1.0)
    best = int(np.argmax(f1))
    below = s_sorted[best + 1] if best + 1 < len(s) else s_sorted[best] - 1e-3
    return float((s_sorted[best] + below) / 2), float(f1[best])
