"""The registry's FAISS index: every stored listing's vector under its database key (pk).

The index is a cache of the database. It remembers the vector generation (`vseq`) it holds,
so on opening, and before every use, it catches up with what changed since (listings whose
vector is newer, listings gone), which also keeps several server processes on one PostgreSQL
database in step. A missing, unreadable or foreign index file is rebuilt from the database.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from prodmatch.io import atomic_path, atomic_write_text
from prodmatch.registry.store import Store
from prodmatch.retrieve.dense import (
    TRAIN_PER_LIST,
    exact_top_k,
    index_recall,
    n_lists,
    probes_for,
)

INDEX_FILE = "vectors.faiss"
STATE_FILE = "vectors.json"
# Searches and changes run on one OpenMP thread. On the 2-core machine, shared, OpenMP's
# threads spin and wait more than they work: one query over 100k vectors took ~100 ms on 2
# threads and ~16 ms on 1, 500 queries (an upsert batch) 3.0 s against 0.9 s; with the other
# core busy (encoding, another request), adding one vector to the IVF index took 0.6-3.8 ms on
# 2 threads and 0.1 ms on 1, adding 500 28 ms against 16. Requests already run side by side in
# the server's threads.
FAISS_THREADS = 1
# From this many listings on, search is approximate: an inverted file (IVF) of k-means cells,
# searching the cells nearest the query, as `prodmatch match` does past its own limit
# (`prodmatch.retrieve.dense`: the same number of cells, and the cells searched raised until
# the nearest `k` agree with exact search on a sample). Exact search reads every vector: 1.0 ms
# a query at 95k listings here, most of placing a listing; see bench/registry_recall.py.
APPROXIMATE_FROM = 20_000
MAX_CELLS = 1024  # a live registry trains its cells while writers wait: cells squared, 4 s
CALIBRATION_QUERIES = 500  # stored vectors searched both ways to choose the cells searched
# IVF keeps a pk -> place table for removing and reading back vectors (faiss's stubs lack it)
HASHTABLE = faiss.DirectMap.Hashtable  # type: ignore[attr-defined]


@contextlib.contextmanager
def _faiss_threads() -> Iterator[None]:
    """FAISS on `FAISS_THREADS` OpenMP threads in this thread (OpenMP keeps the setting per
    thread: other threads' calls keep theirs), restored after."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(FAISS_THREADS)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(threads)


class SharedLock:
    """The index's lock: searches share it, changes hold it alone. FAISS searches a CPU
    index from several threads at once, never while it changes; with one plain lock each
    match waited for the other's search (p99 ~15 ms at 100k). A waiting change goes first."""

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._readers = 0
        self._writing = False
        self._waiting = 0  # changes waiting: new searches wait behind them

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._turn:
            self._turn.wait_for(lambda: not self._writing and not self._waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._turn:
                self._readers -= 1
                self._turn.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._turn:
            self._waiting += 1
            try:
                self._turn.wait_for(lambda: not self._writing and not self._readers)
            finally:
                self._waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._turn:
                self._writing = False
                self._turn.notify_all()


class VectorIndex:
    """Inner-product search over normalised vectors, keyed by listing pk: exact (flat) for
    small registries, approximate (IVF, `APPROXIMATE_FROM`) for large ones."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))  # or an IndexIVFFlat
        self.owner: object = self.index
        self.vseq = 0

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def cells(self) -> int:
        """The IVF cells searched over; 0 while search is exact."""
        return int(self.index.nlist) if isinstance(self.index, faiss.IndexIVF) else 0

    def pks(self) -> npt.NDArray[np.int64]:
        """Every pk held, in no particular order."""
        if isinstance(self.index, faiss.IndexIVF):
            lists: Any = self.index.invlists
            found = [
                faiss.rev_swig_ptr(lists.get_ids(cell), lists.list_size(cell)).copy()
                for cell in range(self.index.nlist)
                if lists.list_size(cell)
            ]
            return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def put(self, pks: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> None:
        """Add or replace the vectors of `pks`."""
        self.remove(pks)
        self.add(pks, vectors)

    def add(self, pks: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> None:
        """Add the vectors of `pks`, none of them in the index (removing scans every id:
        5 ms a write at 100k listings)."""
        if len(pks) == 0:
            return
        with _faiss_threads():
            self.index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(pks, dtype=np.int64)
            )

    def remove(self, pks: npt.ArrayLike) -> None:
        keys = np.asarray(pks, dtype=np.int64)
        if len(keys):
            with _faiss_threads():
                self.index.remove_ids(keys)  # type: ignore[arg-type]

    def vectors(self, pks: list[int]) -> npt.NDArray[np.float32]:
        """The vectors of these pks, all in the index, one row each in their order."""
        if not pks:
            return np.zeros((0, self.dim), dtype=np.float32)
        with _faiss_threads():
            found = self.index.reconstruct_batch(np.asarray(pks, dtype=np.int64))
        return np.asarray(found, dtype=np.float32)

    def search(
        self, queries: npt.NDArray[np.float32], k: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Top-`k` (scores, pks) per query; pk -1 where fewer exist."""
        k = max(1, min(k, len(self)))
        if len(self) == 0:
            empty = np.full((len(queries), 1), -1, dtype=np.int64)
            return np.zeros((len(queries), 1), dtype=np.float32), empty
        with _faiss_threads():
            scores, keys = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, keys

    def outgrown(self) -> bool:
        """Whether search should become approximate, or use more cells (`cells_for`)."""
        wanted = cells_for(len(self))
        return wanted > self.cells and wanted >= min(MAX_CELLS, 2 * self.cells)

    def snapshot(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Every pk held and its vector (for `built`, under the shared lock)."""
        pks = self.pks()
        return pks, self.vectors(pks.tolist())

    @classmethod
    def built(
        cls,
        dim: int,
        pks: npt.NDArray[np.int64],
        vectors: npt.NDArray[np.float32],
        vseq: int,
        k: int = 20,
    ) -> VectorIndex:
        """An index of these vectors at generation `vseq`, in the form their number calls
        for: approximate from APPROXIMATE_FROM on, its cells trained on them and the cells
        searched chosen for top-`k` search (seconds at 100k: callers build it outside the
        index's lock, from a `snapshot`)."""
        fresh = cls(dim)
        fresh.vseq = vseq
        cells = cells_for(len(pks))
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if cells:
            quantizer = faiss.IndexFlatIP(dim)
            ivf = faiss.IndexIVFFlat(quantizer, dim, cells, faiss.METRIC_INNER_PRODUCT)
            ivf.cp.max_points_per_centroid = TRAIN_PER_LIST  # a sample trains the cells as well
            ivf.cp.min_points_per_centroid = TRAIN_PER_LIST
            ivf.cp.seed = 1234
            ivf.train(vectors)
            ivf.set_direct_map_type(HASHTABLE)  # for remove and reconstruct
            fresh.index = fresh.owner = ivf
        fresh.add(pks, vectors)
        if cells:
            fresh._calibrate(pks, vectors, k)
        return fresh

    def _calibrate(
        self, pks: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32], k: int
    ) -> None:
        """The cells searched, as `prodmatch match` chooses them (`probes_for`): the nearest
        `k` of a sample of the stored vectors must agree with exact search's. Each query's
        own vector is left out of both: found first almost always, it would flatter the
        agreement a listing not yet stored gets."""
        size = min(CALIBRATION_QUERIES, len(vectors))
        rows = np.sort(np.random.default_rng(0).choice(len(vectors), size, replace=False))
        own = pks[rows][:, None]
        positions = exact_top_k(vectors[rows], [vectors], k + 1)[1]
        exact = np.where(positions >= 0, pks[positions], -1)
        exact[exact == own] = -1

        def recall_at(probes: int) -> float:
            self.index.nprobe = probes
            found = self.search(vectors[rows], k + 1)[1]
            found[found == own] = -1
            return index_recall(found, exact)

        probes_for(recall_at, self.cells)

    def catch_up(self, store: Store) -> None:
        """Apply what the database changed after the generation this index holds."""
        latest = store.vseq()
        if latest == self.vseq:
            return
        if latest < self.vseq:  # the database went back (restored): start again
            self.index.reset()
            self.vseq = 0
        self.remove(store.gone_since(self.vseq))
        pks, vectors = store.vectors_since(self.vseq)
        if len(pks):
            self.put(pks, vectors)
        self.vseq = latest

    def save(self, folder: Path) -> None:
        """The index and the generation it holds, each written atomically (state last)."""
        with atomic_path(folder / INDEX_FILE) as tmp:
            faiss.write_index(self.index, str(tmp))
        state = {"format": "prodmatch-registry-index/1", "vseq": self.vseq, "dim": self.dim}
        atomic_write_text(folder / STATE_FILE, json.dumps(state) + "\n")

    @classmethod
    def open(cls, folder: Path, dim: int, store: Store, k: int = 20) -> VectorIndex:
        """The saved index brought up to date, or one rebuilt from the database (for top-`k`
        search, see `built`)."""
        loaded = cls._load(folder, dim)
        index = loaded if loaded is not None else cls(dim)
        index.catch_up(store)
        if index.outgrown():
            index = cls.built(dim, *index.snapshot(), index.vseq, k)
        return index

    @classmethod
    def _load(cls, folder: Path, dim: int) -> VectorIndex | None:
        try:
            state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
            raw = faiss.read_index(str(folder / INDEX_FILE))
        except (OSError, ValueError, RuntimeError):
            return None
        if not isinstance(state, dict) or state.get("dim") != dim or raw.d != dim:
            return None
        index = cls(dim)
        typed: Any = faiss.downcast_index(raw)
        approximate = isinstance(typed, faiss.IndexIVFFlat)
        if approximate and typed.direct_map.type != HASHTABLE:
            return None
        if not approximate and not isinstance(typed, faiss.IndexIDMap2):
            return None
        index.index = typed
        index.owner = raw  # the object read_index returned owns the index: keep it alive
        index.vseq = int(state.get("vseq", 0))
        return index


def cells_for(size: int) -> int:
    """The IVF cells for an index of `size` vectors (`prodmatch match`'s, up to MAX_CELLS);
    0 below APPROXIMATE_FROM, where search stays exact."""
    if size < APPROXIMATE_FROM:
        return 0
    return min(MAX_CELLS, n_lists(size))
