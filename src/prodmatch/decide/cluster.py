"""Grouping duplicate listings: connected components of the accepted match pairs."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def connected_components(
    n: int, left: npt.ArrayLike, right: npt.ArrayLike
) -> npt.NDArray[np.int64]:
    """A cluster label for each of `n` items, joining every (left[i], right[i]) edge.

    Union-find with path halving; labels are numbered by first appearance, so the same input
    always gives the same labels.
    """
    parent = np.arange(n, dtype=np.int64)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    for a, b in zip(
        np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64), strict=True
    ):
        root_a, root_b = find(int(a)), find(int(b))
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    roots = np.array([find(i) for i in range(n)], dtype=np.int64)
    _, labels = np.unique(roots, return_inverse=True)
    first_seen: dict[int, int] = {}
    for label in labels:
        first_seen.setdefault(int(label), len(first_seen))
    return np.array([first_seen[int(label)] for label in labels], dtype=np.int64)
