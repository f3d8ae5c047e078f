"""The text encoder: a sentence-transformers model run on CPU in length-sorted batches."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from prodmatch.device import autocast, mixed_precision, resolve_device
from prodmatch.encode.cache import EmbeddingCache
from prodmatch.encode.models import model_fingerprint, offline, resolve_model_path
from prodmatch.encode.native import NativeModel, Runner, native_at, native_key
from prodmatch.encode.onnx import Engine, OnnxEncoder
from prodmatch.errors import ProdmatchError, first_line
from prodmatch.progress import progress_bar

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# Texts handed to the model at once: large enough for good batches, small enough that the
# progress bar moves and a cache write lands every few seconds. A chunk also ends at
# _CHUNK_CHARS characters, so a chunk of long texts takes about as long as one of short ones.
_CHUNK = 1024
_CHUNK_CHARS = 64 * 1024
_CHARS_PER_TOKEN = 6  # past max_seq_length tokens (~6 characters each) a text is truncated


class TextEncoder:
    """Encodes texts into L2-normalised float32 vectors, reusing cached ones.

    Texts are sorted by length before batching so each batch pads only to its own longest
    text: on this kind of CPU that is 3-4x faster than padding everything to a fixed length.

    engine: ``torch`` (the reference), ``onnx`` (the same weights run by ONNX Runtime) or
    ``onnx-int8`` (dynamically quantised, fastest); vectors of different engines are cached
    apart.

    device: where the torch engine runs (auto, cpu, cuda; see `prodmatch.device`). On a GPU
    it runs under mixed precision, whose vectors are cached apart from float32 ones; the onnx
    engines run on the CPU.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        max_seq_length: int = 128,
        batch_size: int = 64,
        cache: bool = True,
        cache_dir: Path | None = None,
        engine: Engine = "torch",
        device: str = "auto",
    ) -> None:
        self.path = resolve_model_path(model)
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.engine = engine
        self.cache_dir = cache_dir
        self._model: SentenceTransformer | None = None
        self._onnx: OnnxEncoder | None = None
        self.native: NativeModel | None = native_at(self.path)  # e5-small, USE (own runtime)
        self._native_run: Runner | None = None
        if self.native is not None and engine != "torch":
            raise ProdmatchError(
                f"{model}: runs in its own runtime ({self.native.distribution}); "
                "the onnx engines are for PyTorch models"
            )
        # torch's device; a native runtime and the onnx engines run on the CPU
        self.device = resolve_device(device) if engine == "torch" and not self.native else "cpu"
        suffix = "" if engine == "torch" else f"-{engine}"
        precision = mixed_precision(self.device)
        if precision is not None:  # not float32: other vectors, cached apart
            suffix += f"-{self.device}-{str(precision).removeprefix('torch.')}"
        if self.native is not None:
            self.key = native_key(self.native)
        else:
            self.key = f"{model_fingerprint(self.path)}-{max_seq_length}{suffix}"
        self._cache = EmbeddingCache(self.key, cache_dir) if cache else None
        self._loading = threading.Lock()

    @property
    def thread_safe(self) -> bool:
        """Whether `encode` may run in several threads at once: the onnx engines' (a
        session runs side by side; the cache has its own lock). Others take turns."""
        return self.engine != "torch" and self.native is None

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model; loading waits until the first text that is not in the cache."""
        if self._model is None:
            offline()
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

            self._model = _load_sentence_transformer(SentenceTransformer, self.path, self.device)
            self._model.max_seq_length = self.max_seq_length
        return self._model

    @property
    def dim(self) -> int:
        cached = self._cache.dim if self._cache is not None else None
        if cached is not None:
            return cached
        if self.native is not None:
            return self.native.dim
        if self.engine != "torch":
            return self.onnx.dim
        dim = self.model.get_embedding_dimension()
        assert dim is not None
        return int(dim)

    @property
    def onnx(self) -> OnnxEncoder:
        """The ONNX Runtime session, exported from the same weights on first use."""
        with self._loading:  # threads encoding at once load it once
            if self._onnx is None:
                assert self.engine != "torch"
                self._onnx = OnnxEncoder(
                    self.path,
                    self.engine,
                    self.max_seq_length,
                    self.cache_dir,
                    batch_size=self.batch_size,
                )
        return self._onnx

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
        """Encode in length-sorted chunks, longest first; progress counts characters.

        A long text costs many times a short one, so a bar counting texts sat at 0% for the
        first (longest) chunk and then raced: counting characters (up to where the model
        truncates) moves the bar, and its time left, with the work actually done.
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        cost = np.minimum([len(t) for t in texts], self.max_seq_length * _CHARS_PER_TOKEN)
        order = np.argsort(cost, kind="stable")[::-1]
        run = self._runner()  # load before the bar starts, so its rate is the encoding rate
        label = f"{description} ({len(texts):,} texts)"
        with progress_bar(label, int(cost.sum()), unit="chars", enabled=progress) as advance:
            for idx in _chunks(order, cost):
                chunk = [texts[i] for i in idx]
                vecs = run(chunk)
                out[idx] = vecs
                if self._cache is not None:
                    self._cache.put_many(chunk, vecs)
                advance(int(cost[idx].sum()))
        return out

    def _runner(self) -> Callable[[list[str]], npt.NDArray[np.float32]]:
        """A function encoding one length-sorted chunk with the chosen engine."""
        if self.native is not None:
            return self._native_runner(self.native)
        if self.engine != "torch":
            return self.onnx.encode
        model = self.model

        def run_torch(chunk: list[str]) -> npt.NDArray[np.float32]:
            with autocast(self.device):
                vectors = model.encode(
                    chunk,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            return np.asarray(vectors, dtype=np.float32)

        return run_torch

    def _native_runner(self, native: NativeModel) -> Runner:
        """The packaged runtime's encoder, in batches, on torch's thread count (the same
        budget the other engines get)."""
        if self._native_run is None:
            torch = sys.modules.get("torch")  # not imported for this: it costs seconds
            threads = torch.get_num_threads() if torch is not None else os.cpu_count() or 1
            self._native_run = native.load(threads)
        load = self._native_run
        size = self.batch_size

        def run_native(chunk: list[str]) -> npt.NDArray[np.float32]:
            parts = [load(chunk[i : i + size]) for i in range(0, len(chunk), size)]
            return np.concatenate(parts).astype(np.float32, copy=False)

        return run_native


def _load_sentence_transformer(factory: Any, path: Path, device: str) -> SentenceTransformer:
    """The model in `path` on `device`; a damaged weights file is one line naming it, not a
    traceback."""
    from safetensors import SafetensorError

    try:
        model: SentenceTransformer = factory(str(path), device=device)
    except (OSError, ValueError, RuntimeError, SafetensorError) as error:
        weights = path / "model.safetensors"  # the file a damaged-header error is about
        where = weights if isinstance(error, SafetensorError) and weights.is_file() else path
        raise ProdmatchError(f"{where}: cannot load the encoder: {first_line(error)}") from None
    return model


def _chunks(order: npt.NDArray[np.intp], cost: npt.NDArray[np.int64]) -> list[npt.NDArray[np.intp]]:
    """`order` cut into runs of at most _CHUNK texts and about _CHUNK_CHARS characters."""
    chunks: list[npt.NDArray[np.intp]] = []
    start, chars = 0, 0
    for n, i in enumerate(order):
        chars += int(cost[i])
        if n + 1 - start >= _CHUNK or chars >= _CHUNK_CHARS:
            chunks.append(order[start : n + 1])
            start, chars = n + 1, 0
    if start < len(order):
        chunks.append(order[start:])
    return chunks
