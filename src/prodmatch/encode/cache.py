"""An on-disk cache of embeddings keyed by model and text.

Re-encoding an unchanged catalog is the slowest part of a second run; SQLite gives a cache that
survives a crash mid-write (each batch is one transaction) and needs no server.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

_LOOKUP_CHUNK = 500  # stays under SQLite's limit on bound parameters


def default_cache_dir() -> Path:
    """``$PRODMATCH_CACHE_DIR``, else ``~/.cache/prodmatch``."""
    env = os.environ.get("PRODMATCH_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "prodmatch"


class EmbeddingCache:
    """Float32 vectors stored per (model fingerprint, text).

    Usable from any thread, one at a time (a lock): a server opens its encoder in the main
    thread and encodes in request threads.
    """

    def __init__(self, model_key: str, directory: Path | None = None) -> None:
        folder = (directory or default_cache_dir()) / "embeddings"
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{model_key}.sqlite"
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("CREATE TABLE IF NOT EXISTS emb (key BLOB PRIMARY KEY, vec BLOB)")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")

    @property
    def dim(self) -> int | None:
        """The vector size recorded by the first write, so a fully cached run skips the model."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE name = 'dim'").fetchone()
        return int(row[0]) if row else None

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()

    def get_many(self, texts: Sequence[str], dim: int) -> tuple[npt.NDArray[np.float32], list[int]]:
        """Vectors for `texts` (zeros where missing) and the positions that were missing."""
        keys = [self.key(t) for t in texts]
        found: dict[bytes, bytes] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _LOOKUP_CHUNK):
            chunk = unique[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(f"SELECT key, vec FROM emb WHERE key IN ({marks})", chunk)
                found.update(rows.fetchall())
        out = np.zeros((len(texts), dim), dtype=np.float32)
        missing: list[int] = []
        for i, key in enumerate(keys):
            blob = found.get(key)
            if blob is None or len(blob) != dim * 4:
                missing.append(i)
            else:
                out[i] = np.frombuffer(blob, dtype=np.float32)
        return out, missing

    def put_many(self, texts: Sequence[str], vectors: npt.NDArray[np.float32]) -> None:
        rows = [
            (self.key(t), np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('dim', ?)", (str(vectors.shape[1]),)
            )
            self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)", rows)

    def close(self) -> None:
        with self._lock:
            self._db.close()
