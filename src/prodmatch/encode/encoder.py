"""The text encoder: a sentence-transformers model run on CPU in length-sorted batches."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from prodmatch.encode.cache import EmbeddingCache
from prodmatch.encode.models import model_fingerprint, offline, resolve_model_path
from prodmatch.progress import progress_bar

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# Texts handed to the model at once: large enough for good batches, small enough that the
# progress bar moves and a cache write lands every few seconds.
_CHUNK = 1024


class TextEncoder:
    """Encodes texts into L2-normalised float32 vectors, reusing cached ones.

    Texts are sorted by length before batching so each batch pads only to its own longest
    text: on this kind of CPU that is 3-4x faster than padding everything to a fixed length.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        max_seq_length: int = 128,
        batch_size: int = 64,
        cache: bool = True,
        cache_dir: Path | None = None,
    ) -> None:
        self.path = resolve_model_path(model)
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self.key = f"{model_fingerprint(self.path)}-{max_seq_length}"
        self._cache = EmbeddingCache(self.key, cache_dir) if cache else None

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model; loading waits until the first text that is not in the cache."""
        if self._model is None:
            offline()
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

            self._model = SentenceTransformer(str(self.path), device="cpu")
            self._model.max_seq_length = self.max_seq_length
        return self._model

    @property
    def dim(self) -> int:
        cached = self._cache.dim if self._cache is not None else None
        if cached is not None:
            return cached
        dim = self.model.get_embedding_dimension()
        assert dim is not None
        return int(dim)

    def encode(
        self, texts: Sequence[str], *, progress: bool = True, description: str = "encoding"
    ) -> npt.NDArray[np.float32]:
        """Normalised vectors for `texts`, shape (len(texts), dim)."""
        if self._cache is None:
            return self._encode_fresh(list(texts), progress, description)
        vectors, missing = self._cache.get_many(texts, self.dim)
        if missing:
            todo = [texts[i] for i in missing]
            fresh = self._encode_fresh(todo, progress, description)
            vectors[missing] = fresh
        return vectors

    def _encode_fresh(
        self, texts: list[str], progress: bool, description: str
    ) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")[::-1]
        model = self.model  # load before the bar starts, so its rate is the encoding rate
        with progress_bar(description, len(texts), unit="texts", enabled=progress) as advance:
            for start in range(0, len(order), _CHUNK):
                idx = order[start : start + _CHUNK]
                chunk = [texts[i] for i in idx]
                vecs = model.encode(
                    chunk,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                ).astype(np.float32)
                out[idx] = vecs
                if self._cache is not None:
                    self._cache.put_many(chunk, vecs)
                advance(len(idx))
        return out
