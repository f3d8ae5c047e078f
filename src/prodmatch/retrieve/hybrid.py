"""Hybrid candidates: the union of dense and lexical nearest neighbours, searched both ways.

Dense vectors find rewordings and synonyms; character n-grams find exact model numbers. Their
union can only hold more true matches than either alone. Searching both ways (left to right and
right to left) catches a listing that is its partner's nearest neighbour but not vice versa.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from prodmatch.retrieve.dense import DenseIndex, IndexKind
from prodmatch.retrieve.sparse import SparseIndex

Retrieval = Literal["hybrid", "dense", "sparse"]
NOT_RANKED = np.iinfo(np.int32).max
RANK_COLUMNS = ("dense_lr", "dense_rl", "sparse_lr", "sparse_rl")


@dataclass(frozen=True)
class Candidates:
    """Candidate pairs as row positions into the left and right catalogs.

    `pairs` has columns left, right (positions) and, for each retriever and direction, the
    0-based rank at which the pair was found (`NOT_RANKED` if not): dense_lr is the rank of the
    right listing among the left listing's dense neighbours.
    """

    pairs: pd.DataFrame
    k: int

    def __len__(self) -> int:
        return len(self.pairs)


def retrieve_candidates(
    left_vectors: npt.NDArray[np.float32] | None,
    right_vectors: npt.NDArray[np.float32] | None,
    left_tfidf: sp.csr_matrix | None,
    right_tfidf: sp.csr_matrix | None,
    *,
    k: int = 20,
    index_kind: IndexKind = "auto",
    exclude_self: bool = False,
) -> Candidates:
    """Top-`k` neighbours both ways by every retriever given, united.

    Pass None for the vectors (or TF-IDF rows) to retrieve by the other signal alone. With
    `exclude_self` (deduplicating one catalog against itself) a listing is not its own candidate.
    """
    found: list[pd.DataFrame] = []
    if left_vectors is not None and right_vectors is not None:
        found += _both_ways(_dense_search, left_vectors, right_vectors, k, "dense", index_kind)
    if left_tfidf is not None and right_tfidf is not None:
        found += _both_ways(_sparse_search, left_tfidf, right_tfidf, k, "sparse", index_kind)
    pairs = _unite(found)
    if exclude_self:
        pairs = pairs[pairs["left"] != pairs["right"]].reset_index(drop=True)
    return Candidates(pairs=pairs, k=k)


def _dense_search(
    queries: npt.NDArray[np.float32], indexed: npt.NDArray[np.float32], k: int, kind: IndexKind
) -> npt.NDArray[np.int64]:
    return DenseIndex(indexed, kind, queries=queries, k=k).search(queries, k)[1]


def _sparse_search(
    queries: sp.csr_matrix, indexed: sp.csr_matrix, k: int, kind: IndexKind
) -> npt.NDArray[np.int64]:
    return SparseIndex.search(queries, indexed, k)[1]


def _both_ways(
    search: Callable[[Any, Any, int, IndexKind], npt.NDArray[np.int64]],
    left: Any,
    right: Any,
    k: int,
    name: str,
    kind: IndexKind,
) -> list[pd.DataFrame]:
    """Neighbour lists left->right and right->left as long-format (left, right, rank) frames."""
    lr = _long(search(left, right, k, kind), query_is_left=True, column=f"{name}_lr")
    rl = _long(search(right, left, k, kind), query_is_left=False, column=f"{name}_rl")
    return [lr, rl]


def _long(idx: npt.NDArray[np.int64], *, query_is_left: bool, column: str) -> pd.DataFrame:
    n, k = idx.shape
    queries = np.repeat(np.arange(n, dtype=np.int64), k)
    hits = idx.ravel()
    ranks = np.tile(np.arange(k, dtype=np.int32), n)
    keep = hits >= 0
    left, right = (queries, hits) if query_is_left else (hits, queries)
    return pd.DataFrame({"left": left[keep], "right": right[keep], column: ranks[keep]})


def _unite(found: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per distinct pair, keeping each retriever's rank (or NOT_RANKED)."""
    if not found:
        raise ValueError("retrieval needs vectors, TF-IDF rows, or both")
    long = pd.concat(found, ignore_index=True)
    for column in RANK_COLUMNS:
        if column not in long:
            long[column] = NOT_RANKED
    long[list(RANK_COLUMNS)] = long[list(RANK_COLUMNS)].fillna(NOT_RANKED).astype(np.int32)
    pairs = long.groupby(["left", "right"], sort=True, as_index=False)[list(RANK_COLUMNS)].min()
    return pairs.reset_index(drop=True)
