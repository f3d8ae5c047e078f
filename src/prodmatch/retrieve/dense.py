"""Nearest neighbours by cosine similarity with FAISS.

Vectors are L2-normalised, so inner product equals cosine. Exact search is used while it is
cheap; past `EXACT_LIMIT` indexed vectors an inverted-file index (IVF) answers in a fraction of
the time. Kinds:

- ``flat``: exact; 1.5 GB per million 384-dim vectors.
- ``ivf``: vectors grouped under k-means centroids, a query scanning the `nprobe` nearest
  groups; exact scores for what it finds. Same memory as flat.
- ``ivfpq``: IVF over product-quantised codes (48 bytes a vector instead of 1,536), the
  candidates then re-scored exactly from the vectors kept on disk: for memory, not speed.
- ``hnsw``: a graph; no training, but slow to build at a million (343 s measured here).

`nprobe` is not a guess: `calibrate` raises it until approximate top-k agrees with exact
search on a sample of real queries (0.99 by default), so the setting follows the data.
An index saves to one FAISS file plus a JSON sidecar and reopens without rebuilding.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal, get_args

import faiss
import numpy as np
import numpy.typing as npt

from prodmatch.errors import ProdmatchError
from prodmatch.io import atomic_path, atomic_write_text

IndexKind = Literal["auto", "flat", "ivf", "ivfpq", "hnsw"]
Vectors = npt.NDArray[np.float32]

# Measured here: exact search of 100k x 100k took 44 s where a calibrated IVF index is built
# and searched in a few seconds; below about this many vectors exact search costs seconds.
EXACT_LIMIT = 50_000
HNSW_M = 32
# efSearch 256 kept top-10 recall >= 0.99 even on unclustered vectors in measurements here.
HNSW_EF_SEARCH = 256
HNSW_EF_CONSTRUCTION = 80
PQ_BYTES = 48  # sub-quantisers of 8 bits: 384 dims in 48 codes of 8 dims
PQ_RERANK = 4  # an ivfpq search fetches this many times k, re-scored exactly
TARGET_RECALL = 0.99
FIRST_PROBES = 8  # cells probed first when calibrating; doubled until TARGET_RECALL
TRAIN_PER_LIST = 40  # FAISS warns below 39 training vectors per centroid
_FORMAT = "prodmatch-index/1"


class DenseIndex:
    """A FAISS inner-product index over one side's vectors."""

    def __init__(
        self,
        vectors: Vectors,
        kind: IndexKind = "auto",
        *,
        queries: Vectors | None = None,
        k: int = 10,
    ) -> None:
        """Index `vectors`; an IVF kind tunes nprobe for top-`k` search with a sample of
        `queries`, the vectors that will be searched (see `_calibrate_on`)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.kind: IndexKind = choose_kind(kind, len(vectors))
        self.index = _empty(self.kind, vectors.shape[1], len(vectors))
        _train(self.index, vectors)
        self.index.add(vectors)
        self.size = len(vectors)
        self.vectors: Callable[[npt.NDArray[np.int64]], Vectors] | None = lambda i: vectors[i]
        if self.kind in ("ivf", "ivfpq"):
            self.nprobe = 16
            self._calibrate_on(vectors, vectors if queries is None else queries, k)

    def _calibrate_on(self, vectors: Vectors, queries: Vectors, k: int) -> None:
        """Tune nprobe with a sample of the real queries (the other catalog's vectors when
        linking), as the streamed pipeline does. The indexed vectors make optimistic queries:
        each one sits in its own centroid's list, so few probes find it and its neighbours;
        they are used only when they are the queries (a catalog searched against itself)."""
        sample = np.ascontiguousarray(queries[:: max(1, len(queries) // 1000)][:1000])
        k = min(k, len(vectors))
        if len(sample) and k:
            self.calibrate(sample, exact_top_k(sample, [vectors], k)[1], k)

    @classmethod
    def from_chunks(
        cls,
        chunks: Iterable[Vectors],
        *,
        size: int,
        dim: int,
        kind: IndexKind,
        train: Vectors,
        lookup: Callable[[npt.NDArray[np.int64]], Vectors] | None = None,
    ) -> DenseIndex:
        """Built without holding every vector: trained on `train`, then added chunk by chunk.

        `lookup(rows)` returns stored vectors by row (an ivfpq index re-scores with them).
        """
        self = cls.__new__(cls)
        self.kind = choose_kind(kind, size)
        self.index = _empty(self.kind, dim, size)
        _train(self.index, np.ascontiguousarray(train, dtype=np.float32))
        for chunk in chunks:
            self.index.add(np.ascontiguousarray(chunk, dtype=np.float32))
        self.size = int(self.index.ntotal)
        self.vectors = lookup
        if self.kind in ("ivf", "ivfpq"):
            self.nprobe = 16
        return self

    @property
    def nprobe(self) -> int:
        return int(faiss.extract_index_ivf(self.index).nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        ivf = faiss.extract_index_ivf(self.index)
        ivf.nprobe = int(min(value, ivf.nlist))

    def search(self, queries: Vectors, k: int) -> tuple[Vectors, npt.NDArray[np.int64]]:
        """Top-`k` (scores, row indices) per query; -1 pads when fewer than `k` exist."""
        k = min(k, self.size)
        if k == 0 or len(queries) == 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if self.kind != "ivfpq" or self.vectors is None:
            scores, idx = self.index.search(queries, k)
            return scores, idx
        return self._rerank(queries, k)

    def _rerank(self, queries: Vectors, k: int) -> tuple[Vectors, npt.NDArray[np.int64]]:
        """Product-quantised scores are approximate: fetch more, keep the exact best `k`."""
        assert self.vectors is not None
        _, found = self.index.search(queries, min(self.size, k * PQ_RERANK))
        safe = np.where(found < 0, 0, found)
        stored = self.vectors(safe.ravel()).reshape(*safe.shape, -1).astype(np.float32)
        exact = np.einsum("qd,qkd->qk", queries, stored)
        exact[found < 0] = -np.inf
        top = np.argsort(-exact, axis=1, kind="stable")[:, :k]
        scores = np.take_along_axis(exact, top, axis=1).astype(np.float32)
        idx = np.take_along_axis(found, top, axis=1)
        scores[idx < 0] = -np.inf
        return scores, idx

    def calibrate(self, queries: Vectors, exact: npt.NDArray[np.int64], k: int) -> float:
        """Raise nprobe until top-`k` recall against `exact` (rows of the true top-k per query)
        reaches `TARGET_RECALL`; returns the recall reached. Exact kinds have nothing to tune."""
        if self.kind not in ("ivf", "ivfpq"):
            return index_recall(self.search(queries, k)[1], exact)
        nlist = int(faiss.extract_index_ivf(self.index).nlist)

        def recall_at(probes: int) -> float:
            self.nprobe = probes
            return index_recall(self.search(queries, k)[1], exact)

        return probes_for(recall_at, nlist)[1]

    def save(self, path: Path) -> None:
        """The FAISS file and a JSON sidecar (kind, size, search settings), each atomic."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            faiss.write_index(self.index, str(tmp))
        meta: dict[str, Any] = {"format": _FORMAT, "kind": self.kind, "size": self.size}
        if self.kind in ("ivf", "ivfpq"):
            meta["nprobe"] = self.nprobe
        atomic_write_text(_sidecar(path), json.dumps(meta, indent=2) + "\n")

    @staticmethod
    def saved(path: Path) -> bool:
        """Whether `save` finished writing an index at `path` (the sidecar is written last)."""
        return Path(path).is_file() and _sidecar(Path(path)).is_file()

    @classmethod
    def load(
        cls, path: Path, lookup: Callable[[npt.NDArray[np.int64]], Vectors] | None = None
    ) -> DenseIndex:
        """An index saved by `save`, with the search settings it was saved with."""
        path = Path(path)
        try:
            meta = json.loads(_sidecar(path).read_text(encoding="utf-8"))
            index = faiss.read_index(str(path))
        except (OSError, ValueError, RuntimeError) as error:
            raise ProdmatchError(f"{path}: cannot open the saved index: {error}") from None
        if meta.get("format") != _FORMAT or meta.get("kind") not in get_args(IndexKind):
            raise ProdmatchError(f"{path}: not a prodmatch index")
        self = cls.__new__(cls)
        self.kind, self.index, self.size, self.vectors = meta["kind"], index, meta["size"], lookup
        if "nprobe" in meta:
            self.nprobe = int(meta["nprobe"])
        return self


def probes_for(recall_at: Callable[[int], float], cells: int) -> tuple[int, float]:
    """The fewest cells to probe, doubling from FIRST_PROBES up to all `cells`, at which
    `recall_at(probes)` reaches TARGET_RECALL (all of them when none does), and the recall
    there; `recall_at` is last called with the number returned."""
    probes = FIRST_PROBES
    while True:
        reached = recall_at(min(probes, cells))
        if reached >= TARGET_RECALL or probes >= cells:
            return min(probes, cells), reached
        probes *= 2


def choose_kind(kind: IndexKind, n: int) -> IndexKind:
    if kind != "auto":
        return kind
    return "flat" if n <= EXACT_LIMIT else "ivf"


def n_lists(n: int) -> int:
    """About 4 sqrt(n) centroids (FAISS' rule of thumb), fewer when little data trains them."""
    return max(1, min(4 * round(math.sqrt(n)), n // TRAIN_PER_LIST))


def train_size(kind: IndexKind, n: int) -> int:
    """How many vectors training needs (0 for kinds that train nothing)."""
    kind = choose_kind(kind, n)
    if kind not in ("ivf", "ivfpq"):
        return 0
    return min(n, max(n_lists(n) * TRAIN_PER_LIST, 256 * 40 if kind == "ivfpq" else 0))


def index_recall(found: npt.NDArray[np.int64], exact: npt.NDArray[np.int64]) -> float:
    """Share of the exact top-k rows that the approximate search also returned."""
    hits = sum(len(set(f[f >= 0]) & set(e[e >= 0])) for f, e in zip(found, exact, strict=True))
    total = int((exact >= 0).sum())
    return hits / total if total else 1.0


def exact_top_k(
    queries: Vectors, chunks: Iterable[Vectors], k: int
) -> tuple[Vectors, npt.NDArray[np.int64]]:
    """Exact top-`k` inner products of `queries` over vectors given chunk by chunk.

    Each chunk is searched by an exact FAISS index and only its top `k` kept, so memory stays
    at one chunk plus (queries x 2k) whatever the number of vectors.
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_idx = np.full((len(queries), k), -1, dtype=np.int64)
    offset = 0
    for chunk in chunks:
        flat = faiss.IndexFlatIP(queries.shape[1])
        flat.add(np.ascontiguousarray(chunk, dtype=np.float32))
        scores, idx = flat.search(queries, min(k, len(chunk)))
        idx = np.where(idx >= 0, idx + offset, -1)
        all_scores = np.hstack([best_scores, scores])
        all_idx = np.hstack([best_idx, idx])
        top = np.argsort(-all_scores, axis=1, kind="stable")[:, :k]
        best_scores = np.take_along_axis(all_scores, top, axis=1)
        best_idx = np.take_along_axis(all_idx, top, axis=1)
        offset += len(chunk)
    return best_scores, best_idx


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _empty(kind: IndexKind, dim: int, n: int) -> faiss.Index:
    if kind == "flat":
        return faiss.IndexFlatIP(dim)
    if kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        return hnsw
    quantizer = faiss.IndexFlatIP(dim)
    nlist = n_lists(n)
    if kind == "ivf":
        return faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    if dim % PQ_BYTES:
        raise ProdmatchError(f"ivfpq needs a dimension divisible by {PQ_BYTES}, got {dim}")
    return faiss.IndexIVFPQ(quantizer, dim, nlist, PQ_BYTES, 8, faiss.METRIC_INNER_PRODUCT)


def _train(index: faiss.Index, sample: Vectors) -> None:
    if not index.is_trained:
        if len(sample) == 0:
            raise ProdmatchError("an IVF index needs vectors to train on")
        index.train(sample)
