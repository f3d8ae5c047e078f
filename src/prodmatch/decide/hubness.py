"""Hubness correction: a pair's score less how alike each listing is to its whole neighbourhood.

Within one catalog a shop writes its sibling products alike ("Sony 46in LCD HDTV KDL46V5100"
and "Sony 52in LCD HDTV KDL52V5100"), so a listing in a crowded family scores high with many
neighbours, and average linkage merges the family. Cross-domain similarity local scaling
(CSLS, from cross-lingual embedding search) subtracts each listing's mean score to its `k`
best neighbours: a pair stands out only when it is closer than either listing is to its
family. The correction is centred on the catalog's median neighbourhood score, so a listing of
an ordinary neighbourhood keeps its score and the dedup threshold stays on the score's scale.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def neighbourhood_scores(
    n: int, left: npt.ArrayLike, right: npt.ArrayLike, score: npt.ArrayLike, k: int
) -> npt.NDArray[np.float64]:
    """Each listing's mean score over its `k` best-scoring pairs (the median of the others
    for a listing in no pair)."""
    ends = np.concatenate([np.asarray(left, np.int64), np.asarray(right, np.int64)])
    values = np.concatenate([np.asarray(score, np.float64)] * 2)
    order = np.lexsort((-values, ends))  # by listing, best score first
    ends, values = ends[order], values[order]
    starts = np.searchsorted(ends, ends, side="left")
    keep = np.arange(len(ends)) - starts < k
    totals = np.bincount(ends[keep], weights=values[keep], minlength=n)
    counts = np.bincount(ends[keep], minlength=n)
    result = np.full(n, np.nan)
    seen = counts > 0
    result[seen] = totals[seen] / counts[seen]
    return np.where(seen, result, np.nanmedian(result) if seen.any() else 0.0)


def hubness_corrected(
    n: int,
    left: npt.ArrayLike,
    right: npt.ArrayLike,
    score: npt.ArrayLike,
    *,
    k: int = 10,
    weight: float = 0.5,
) -> npt.NDArray[np.float64]:
    """`score - weight * (r[left] + r[right] - 2 * median(r))`, r the neighbourhood scores."""
    base = np.asarray(score, np.float64)
    if len(base) == 0:
        return base
    r = neighbourhood_scores(n, left, right, base, k)
    centre = float(np.median(r))
    a, b = np.asarray(left, np.int64), np.asarray(right, np.int64)
    return base - weight * (r[a] + r[b] - 2.0 * centre)
