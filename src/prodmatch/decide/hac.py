"""Dedup clusters that do not chain: average-linkage clustering inside connected components.

Connected components over the pairs above a threshold chain products together: A~B and B~C
put A and C in one cluster however unlike they are, and on a real catalog one component can
swallow hundreds of listings. Average linkage (as the dedupe library clusters inside
components) merges two groups only when the *mean* similarity over all their cross pairs
reaches the threshold, with pairs that retrieval never proposed counted as dissimilar, so a
chain of look-alike siblings stays apart.

Average linkage at cut `t` never merges two groups that share no edge of similarity >= t, so
clustering each connected component of those edges separately is exact, and the dense
distance matrix is only ever as large as one component. A component larger than
`max_component` is split further by raising its edge floor (an approximation, reported).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse.csgraph import connected_components as sparse_components
from scipy.spatial.distance import squareform

Linkage = Literal["average", "complete", "single"]

# Listings in one cluster past which a cluster is no plausible product group (a product
# listed 50 times in one catalog); such clusters are cut at stricter thresholds, with a warning.
MAX_CLUSTER_SIZE = 50
# Listings in one component clustered with one dense matrix (3,000^2 float64 = 72 MB).
MAX_COMPONENT = 3000


@dataclass
class Clustering:
    """Per listing: its cluster, its cluster's representative and how firmly it belongs.

    labels: cluster numbers 0.., by first appearance. representative: the position of the
    cluster's medoid, the member with the highest mean similarity to the other members.
    confidence: the listing's mean similarity to the other members of its cluster (NaN for a
    listing alone). split: clusters cut down to `max_cluster_size`.
    """

    labels: npt.NDArray[np.int64]
    representative: npt.NDArray[np.int64]
    confidence: npt.NDArray[np.float64]
    split: int = 0


def agglomerative_clusters(
    n: int,
    left: npt.ArrayLike,
    right: npt.ArrayLike,
    similarity: npt.ArrayLike,
    threshold: float,
    *,
    method: Linkage = "average",
    missing: float = 0.0,
    max_cluster_size: int | None = MAX_CLUSTER_SIZE,
    max_component: int = MAX_COMPONENT,
) -> Clustering:
    """Cluster `n` items from scored pairs (left[i], right[i], similarity[i]).

    Two groups merge while their `method` linkage similarity is at least `threshold`; a pair
    not among the given ones has similarity `missing` (no candidate: unlike). Pairs may be
    given in either or both orders; the highest similarity of a pair counts.
    """
    li = np.asarray(left, dtype=np.int64)
    ri = np.asarray(right, dtype=np.int64)
    sim = np.asarray(similarity, dtype=np.float64)
    keep = li != ri
    li, ri, sim = li[keep], ri[keep], sim[keep]
    matrix = _symmetric(n, li, ri, sim - missing)  # stored as offset from `missing`
    labels = np.full(n, -1, dtype=np.int64)
    split = 0
    next_label = 0
    for members in _components(matrix, threshold - missing, max_component):
        block = matrix[members][:, members].toarray()
        parts, cut = _cluster_block(block, threshold - missing, method, max_cluster_size)
        split += cut
        for part in parts:
            labels[members[part]] = next_label
            next_label += 1
    if split:
        warnings.warn(
            f"{split} cluster(s) grew past {max_cluster_size} listings, more than one product "
            "is listed in a catalog; they were cut at stricter thresholds",
            stacklevel=2,
        )
    labels = _first_seen(labels)
    representative, confidence = describe_clusters(labels, li, ri, sim, missing=missing)
    return Clustering(labels, representative, confidence, split)


def describe_clusters(
    labels: npt.ArrayLike,
    left: npt.ArrayLike,
    right: npt.ArrayLike,
    similarity: npt.ArrayLike,
    *,
    missing: float = 0.0,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Each item's cluster representative (the medoid: the member with the highest mean
    similarity to the other members, the first on ties) and its own mean similarity to the
    other members (NaN alone), from scored pairs; an unscored pair counts as `missing`.

    The medoid is the listing most like the rest, so it is the one to show for the cluster;
    a member with a low mean similarity is the first to check.
    """
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    li = np.asarray(left, dtype=np.int64)
    ri = np.asarray(right, dtype=np.int64)
    sim = np.asarray(similarity, dtype=np.float64)
    inside = (labels[li] == labels[ri]) & (li != ri)
    matrix = _symmetric(n, li[inside], ri[inside], sim[inside] - missing).tocsr()
    matrix.data = np.where(matrix.data == 1e-12, 0.0, matrix.data)
    size = np.bincount(labels)[labels]
    others = np.maximum(size - 1, 1)
    confidence = np.asarray(matrix.sum(axis=1)).ravel() / others + missing
    confidence = np.where(size > 1, confidence, np.nan)
    score = np.where(np.isnan(confidence), -np.inf, confidence)
    order = np.lexsort((np.arange(n), -score, labels))  # best member first in each cluster
    first = np.r_[True, labels[order][1:] != labels[order][:-1]]
    best_of = np.empty(labels.max() + 1 if n else 0, dtype=np.int64)
    best_of[labels[order][first]] = order[first]
    representative = best_of[labels] if n else np.zeros(0, dtype=np.int64)
    return representative, confidence


def _symmetric(
    n: int, li: npt.NDArray[np.int64], ri: npt.NDArray[np.int64], sim: npt.NDArray[np.float64]
) -> sp.csr_matrix:
    """An n x n sparse matrix holding each pair's highest similarity, both ways."""
    rows, cols = np.r_[li, ri], np.r_[ri, li]
    values = np.r_[sim, sim]
    order = np.lexsort((-values, cols, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    first = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])][: len(rows)]
    # Values are offsets from `missing` (an absent entry); a stored zero would vanish.
    kept = values[first]
    kept = np.where(kept == 0.0, 1e-12, kept)
    return sp.csr_matrix((kept, (rows[first], cols[first])), shape=(n, n))


def _components(
    matrix: sp.csr_matrix, floor: float, max_component: int
) -> list[npt.NDArray[np.int64]]:
    """Items joined by edges >= floor, each component split further (by raising its own floor)
    while it holds more than `max_component` items."""
    strong = matrix.copy()
    strong.data = np.where(strong.data >= floor, strong.data, 0.0)
    strong.eliminate_zeros()
    _, labels = sparse_components(strong, directed=False)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    out: list[npt.NDArray[np.int64]] = []
    for members in np.split(order, bounds):
        members = members.astype(np.int64)
        if len(members) <= max_component:
            out.append(members)
            continue
        inner = matrix[members][:, members]
        higher = float(np.quantile(inner.data[inner.data >= floor], 0.1))
        higher = max(higher, floor + 1e-6)
        out.extend(members[part] for part in _components(inner, higher, max_component))
    return out


def _cluster_block(
    block: npt.NDArray[np.float64],
    threshold: float,
    method: Linkage,
    max_cluster_size: int | None,
) -> tuple[list[npt.NDArray[np.int64]], int]:
    """Positions of each cluster in one component's dense similarity block, and how many
    clusters had to be cut to stay within `max_cluster_size`."""
    size = len(block)
    if size == 1:
        return [np.zeros(1, dtype=np.int64)], 0
    top = max(float(block.max()), threshold) + 1.0
    distance = top - block
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method=method)
    flat = fcluster(tree, t=top - threshold, criterion="distance")
    parts: list[npt.NDArray[np.int64]] = []
    cut = 0
    for label in np.unique(flat):
        part = np.flatnonzero(flat == label).astype(np.int64)
        if max_cluster_size is not None and len(part) > max_cluster_size:
            cut += 1
            sub = block[np.ix_(part, part)]
            parts.extend(part[p] for p in _cut_down(sub, threshold, method, max_cluster_size))
        else:
            parts.append(part)
    return parts, cut


def _cut_down(
    block: npt.NDArray[np.float64], threshold: float, method: Linkage, max_size: int
) -> list[npt.NDArray[np.int64]]:
    """An oversized cluster re-cut at a threshold halfway to its strongest pair, until each
    piece holds at most `max_size` items."""
    stricter = (threshold + float(block.max())) / 2 + 1e-9
    parts, _ = _cluster_block(block, stricter, method, None)
    out: list[npt.NDArray[np.int64]] = []
    for part in parts:
        if len(part) > max_size and stricter < float(block.max()):
            sub = block[np.ix_(part, part)]
            out.extend(part[p] for p in _cut_down(sub, stricter, method, max_size))
        elif len(part) > max_size:
            out.extend(np.array_split(part, -(-len(part) // max_size)))
        else:
            out.append(part)
    return out


def _first_seen(labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Labels renumbered by first appearance, so the same input gives the same labels."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse]
