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

import faiss
import numpy as np
import numpy.typing as npt

from prodmatch.io import atomic_path, atomic_write_text
from prodmatch.registry.store import Store

INDEX_FILE = "vectors.faiss"
STATE_FILE = "vectors.json"
# Searches run on one OpenMP thread. On the 2-core machine, shared, OpenMP's threads spin and
# wait more than they search: one query over 100k vectors took ~100 ms on 2 threads and ~16 ms
# on 1, 500 queries (an upsert batch) 3.0 s against 0.9 s. Requests already run side by side
# in the server's threads.
SEARCH_THREADS = 1


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
    """Exact inner-product search over normalised vectors, keyed by listing pk."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.owner: object = self.index
        self.vseq = 0

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def put(self, pks: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> None:
        """Add or replace the vectors of `pks`."""
        self.remove(pks)
        self.add(pks, vectors)

    def add(self, pks: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> None:
        """Add the vectors of `pks`, none of them in the index (removing scans every id:
        5 ms a write at 100k listings)."""
        if len(pks) == 0:
            return
        self.index.add_with_ids(
            np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(pks, dtype=np.int64)
        )

    def remove(self, pks: npt.ArrayLike) -> None:
        keys = np.asarray(pks, dtype=np.int64)
        if len(keys):
            self.index.remove_ids(keys)  # type: ignore[arg-type]

    def vectors(self, pks: list[int]) -> npt.NDArray[np.float32]:
        """The vectors of these pks, all in the index, one row each in their order."""
        if not pks:
            return np.zeros((0, self.dim), dtype=np.float32)
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
        threads = faiss.omp_get_max_threads()  # this thread's setting: restored below
        faiss.omp_set_num_threads(SEARCH_THREADS)
        try:
            scores, keys = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        finally:
            faiss.omp_set_num_threads(threads)
        return scores, keys

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
    def open(cls, folder: Path, dim: int, store: Store) -> VectorIndex:
        """The saved index brought up to date, or one rebuilt from the database."""
        loaded = cls._load(folder, dim)
        index = loaded if loaded is not None else cls(dim)
        index.catch_up(store)
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
        typed = faiss.downcast_index(raw)
        if not isinstance(typed, faiss.IndexIDMap2):
            return None
        index.index = typed
        index.owner = raw  # the object read_index returned owns the index: keep it alive
        index.vseq = int(state.get("vseq", 0))
        return index
