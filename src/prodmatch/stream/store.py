"""One catalog's prepared listings on disk, written a chunk at a time and readable by row.

A side folder holds:

- ``parts/NNNNN.parquet``: each chunk's ids, plain texts and model numbers;
- ``tfidf/NNNNN.npz``: each chunk's TF-IDF rows (when the scorer reads them);
- ``vectors.bin``: every vector, appended in row order as raw float16 (half the disk and page
  cache of float32; cosines move by ~1e-3), opened memory-mapped;
- ``progress.json``: how many chunks and rows are complete, written last.

A chunk counts only once `progress.json` says so, and it is rewritten (atomically) only after
the chunk's files are complete and the vectors flushed; an interrupted run therefore resumes
at the first unfinished chunk, cutting off any vectors a killed run appended past it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from prodmatch.errors import ProdmatchError, first_line
from prodmatch.io import atomic_path, atomic_write_text

VECTOR_DTYPE = np.float16
_PROGRESS = "progress.json"


@dataclass
class Progress:
    chunks: int = 0
    rows: int = 0
    dim: int = 0
    complete: bool = False


class SideStore:
    """The on-disk form of one prepared catalog (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        (self.folder / "parts").mkdir(parents=True, exist_ok=True)
        (self.folder / "tfidf").mkdir(exist_ok=True)
        self.progress = self._read_progress()

    def _read_progress(self) -> Progress:
        path = self.folder / _PROGRESS
        if not path.is_file():
            return Progress()
        try:
            return Progress(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as error:
            raise damaged(path, error) from None

    @property
    def vector_path(self) -> Path:
        return self.folder / "vectors.bin"

    def append(
        self,
        frame: pd.DataFrame,
        vectors: npt.NDArray[np.float32] | None,
        tfidf: sp.csr_matrix | None,
    ) -> None:
        """Store one finished chunk (columns id, plain, codes) and count it as done."""
        number = self.progress.chunks
        with atomic_path(self._part(number)) as tmp:
            frame.to_parquet(tmp, index=False)
        if tfidf is not None:
            with atomic_path(self._tfidf(number)) as tmp, tmp.open("wb") as handle:
                sp.save_npz(handle, tfidf, compressed=False)
        dim = self.progress.dim
        if vectors is not None:
            dim = vectors.shape[1]
            self._append_vectors(vectors.astype(VECTOR_DTYPE))
        self.progress = Progress(number + 1, self.progress.rows + len(frame), dim)
        self._write_progress()

    def _append_vectors(self, vectors: npt.NDArray[np.float16]) -> None:
        """Append after the last complete row, dropping what an interrupted run left beyond."""
        keep = self.progress.rows * self.progress.dim * np.dtype(VECTOR_DTYPE).itemsize
        mode = "r+b" if self.vector_path.exists() else "wb"
        with self.vector_path.open(mode) as handle:
            handle.truncate(keep)
            handle.seek(keep)
            handle.write(np.ascontiguousarray(vectors).tobytes())
            handle.flush()
            os.fsync(handle.fileno())

    def finish(self) -> None:
        self.progress.complete = True
        self._write_progress()

    def _write_progress(self) -> None:
        text = json.dumps(self.progress.__dict__, indent=2) + "\n"
        atomic_write_text(self.folder / _PROGRESS, text)

    def _part(self, number: int) -> Path:
        return self.folder / "parts" / f"{number:05d}.parquet"

    def _tfidf(self, number: int) -> Path:
        return self.folder / "tfidf" / f"{number:05d}.npz"

    # -- reading -----------------------------------------------------------------------------

    def vectors(self) -> npt.NDArray[np.float16]:
        """All complete vectors, memory-mapped (rows, dim)."""
        shape = (self.progress.rows, self.progress.dim)
        return np.memmap(self.vector_path, dtype=VECTOR_DTYPE, mode="r", shape=shape)

    def part(self, number: int) -> pd.DataFrame:
        return read_work_part(self._part(number))

    def tfidf(self, number: int) -> sp.csr_matrix:
        path = self._tfidf(number)
        try:
            return sp.csr_matrix(sp.load_npz(path))  # allow_pickle stays off
        except (OSError, ValueError, KeyError) as error:
            raise damaged(path, error) from None

    def chunk_rows(self) -> Iterator[tuple[int, int, int]]:
        """(chunk number, first row, end row) of every complete chunk."""
        start = 0
        for number in range(self.progress.chunks):
            rows = read_work_part(self._part(number), ["id"]).shape[0]
            yield number, start, start + rows
            start += rows

    def column(self, name: str) -> list[str]:
        """One column of every part, in row order (ids, plain texts or codes)."""
        values: list[str] = []
        for number in range(self.progress.chunks):
            values.extend(read_work_part(self._part(number), [name])[name].tolist())
        return values

    def all_tfidf(self) -> sp.csr_matrix:
        """Every chunk's TF-IDF rows as one matrix, filled in place (a vstack would briefly
        hold every row twice: gigabytes at a million listings)."""
        shapes = [self._tfidf_shape(n) for n in range(self.progress.chunks)]
        rows, nnz = sum(r for r, _, _ in shapes), sum(z for _, _, z in shapes)
        width = shapes[0][1] if shapes else 0
        data = np.empty(nnz, dtype=np.float32)
        indices = np.empty(nnz, dtype=np.int32)
        indptr = np.zeros(rows + 1, dtype=np.int64)
        row = at = 0
        for number in range(self.progress.chunks):
            part = self.tfidf(number)
            data[at : at + part.nnz] = part.data
            indices[at : at + part.nnz] = part.indices
            indptr[row + 1 : row + 1 + part.shape[0]] = part.indptr[1:] + at
            row, at = row + part.shape[0], at + part.nnz
        return sp.csr_matrix((data, indices, indptr), shape=(rows, width))

    def _tfidf_shape(self, number: int) -> tuple[int, int, int]:
        path = self._tfidf(number)
        try:
            with np.load(path) as arrays:
                rows, width = (int(v) for v in arrays["shape"])
                return rows, width, int(arrays["indptr"][-1])
        except (OSError, ValueError, KeyError) as error:
            raise damaged(path, error) from None

    def read(self, start: int, end: int) -> npt.NDArray[np.float32]:
        """Rows [start, end) as float32, read from the file rather than mapped, so they leave
        no pages resident behind them."""
        dim, size = self.progress.dim, np.dtype(VECTOR_DTYPE).itemsize
        end = min(end, self.progress.rows)
        if end <= start:
            return np.zeros((0, dim), dtype=np.float32)
        with self.vector_path.open("rb") as handle:
            handle.seek(start * dim * size)
            block = np.fromfile(handle, dtype=VECTOR_DTYPE, count=(end - start) * dim)
        return block.reshape(end - start, dim).astype(np.float32)

    def iter_vectors(self, rows: int) -> Iterator[npt.NDArray[np.float32]]:
        """The stored vectors as float32, `rows` at a time (memory bounded by one block)."""
        for start in range(0, self.progress.rows, rows):
            yield self.read(start, start + rows)

    def gather(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """Vectors of any rows, through a mapping dropped right after (its pages with it)."""
        mapped = self.vectors()
        try:
            return np.asarray(mapped[rows], dtype=np.float32)
        finally:
            del mapped

    def sample(self, n: int, block: int = 100_000) -> npt.NDArray[np.float32]:
        """`n` vectors spread evenly over the rows (deterministic), read block by block."""
        total = self.progress.rows
        if n <= 0 or total == 0:
            return np.zeros((0, self.progress.dim), dtype=np.float32)
        wanted = np.unique(np.linspace(0, total - 1, num=min(n, total)).astype(np.int64))
        parts = []
        for start in range(0, total, block):
            mine = wanted[(wanted >= start) & (wanted < start + block)]
            if len(mine):
                parts.append(self.read(start, start + block)[mine - start])
        return np.vstack(parts)


def read_work_part(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet part of a work folder; a damaged or truncated one is one line naming it."""
    import pyarrow as pa

    try:
        return pd.read_parquet(path, columns=columns)
    except (OSError, ValueError, pa.ArrowException) as error:
        raise damaged(path, error) from None


def damaged(path: Path, error: BaseException) -> ProdmatchError:
    """The error for a work file that cannot be read back: say which, and how to go on."""
    return ProdmatchError(
        f"{path}: damaged work file ({first_line(error)}); delete the work folder and run "
        "the same command again to start afresh"
    )
