"""Fuse a listing's text vector and image vector into one normalised product vector.

Many listings have no photo, or only a broken link. The fusion head must still place them
in the same space as listings with photos, so that a photo-less listing can match one with
a photo. A learned "missing image" embedding stands in for the image features of such
listings; the image features of the others are scaled by a learned weight (which training
can turn down when photos help less than text). Then a small MLP projects the concatenation.

Saved like the other heads: safetensors weights plus a JSON config, never a pickle.

:class:`ImageAugment` makes two views of one photo for self-supervised training (SimCLR
style) with PIL alone, so no torchvision is needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from PIL import Image, ImageEnhance, ImageOps
from torch import Tensor, nn

from prodmatch.errors import ProdmatchError, first_line
from prodmatch.io import atomic_write_text, load_weights, read_format_json, save_weights

__all__ = ["FUSION_FORMAT", "FusionHead", "ImageAugment"]

FUSION_FORMAT = "prodmatch-fusion/1"
_CONFIG = "fusion.json"
_WEIGHTS = "fusion.safetensors"


class FusionHead(nn.Module):
    """(text vector, image vector, has_image) -> one L2-normalised vector of ``out_dim``.

    ``image_scale`` multiplies the image features (starts at 1); where ``has_image`` is
    False they are replaced by ``missing_image``, a learned vector (small random start, so
    "no photo" is distinguishable from a photo with zero features from the first step).
    """

    def __init__(
        self,
        text_dim: int,
        image_dim: int,
        out_dim: int = 256,
        hidden_dim: int | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.text_dim = text_dim
        self.image_dim = image_dim
        self.out_dim = out_dim
        self.hidden_dim = hidden_dim or max(out_dim, (text_dim + image_dim) // 2)
        self.dropout = dropout
        self.image_scale = nn.Parameter(torch.ones(()))
        self.missing_image = nn.Parameter(torch.randn(image_dim) * 0.02)
        self.net = nn.Sequential(
            nn.Linear(text_dim + image_dim, self.hidden_dim),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(self.hidden_dim, out_dim),
        )

    def image_features(self, image: Tensor, has_image: Tensor) -> Tensor:
        """Scaled image vectors where there is a photo, the missing-image embedding elsewhere."""
        present = has_image.to(dtype=image.dtype).reshape(-1, 1)
        missing = self.missing_image.to(dtype=image.dtype).expand_as(image)
        return present * (self.image_scale * image) + (1 - present) * missing

    def forward(self, text: Tensor, image: Tensor, has_image: Tensor) -> Tensor:
        if text.shape[-1] != self.text_dim or image.shape[-1] != self.image_dim:
            raise ValueError(
                f"expected text dim {self.text_dim} and image dim {self.image_dim}, "
                f"got {text.shape[-1]} and {image.shape[-1]}"
            )
        joint = torch.cat([text, self.image_features(image, has_image)], dim=-1)
        out: Tensor = self.net(joint)
        return F.normalize(out, dim=-1)

    def config(self) -> dict[str, Any]:
        return {
            "text_dim": self.text_dim,
            "image_dim": self.image_dim,
            "out_dim": self.out_dim,
            "hidden_dim": self.hidden_dim,
            "dropout": self.dropout,
        }

    def fuse(
        self,
        text: npt.ArrayLike,
        image: npt.ArrayLike,
        has_image: npt.ArrayLike,
    ) -> npt.NDArray[np.float32]:
        """Fused vectors of numpy inputs (as :class:`ImageEncoder` and ``TextEncoder`` give)."""
        self.eval()
        with torch.inference_mode():
            out = self(
                torch.as_tensor(np.asarray(text, dtype=np.float32)),
                torch.as_tensor(np.asarray(image, dtype=np.float32)),
                torch.as_tensor(np.asarray(has_image, dtype=bool)),
            )
        return np.asarray(out.numpy(), dtype=np.float32)

    def save(self, folder: str | Path) -> Path:
        """Write fusion.json and fusion.safetensors into ``folder``."""
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        save_weights(self, target / _WEIGHTS)
        config = {"format": FUSION_FORMAT, "fusion": self.config()}
        atomic_write_text(target / _CONFIG, json.dumps(config, indent=2) + "\n")
        return target

    @classmethod
    def load(cls, folder: str | Path) -> FusionHead:
        """Read a folder written by :meth:`save`; any problem is one ProdmatchError."""
        source = Path(folder)
        config = read_format_json(source / _CONFIG, FUSION_FORMAT, "fusion head")
        try:
            head = cls(**config["fusion"])
        except (KeyError, TypeError, ValueError, RuntimeError) as error:
            raise ProdmatchError(
                f"{source}: cannot load the fusion head: {first_line(error)}"
            ) from error
        load_weights(head, source / _WEIGHTS, "fusion head")
        head.eval()
        return head


class ImageAugment:
    """Random views of a product photo: resized crop, horizontal flip, colour jitter.

    Hue is left alone by default: in product matching the colour *is* the difference
    between near-miss siblings (black vs white phone), so a view with shifted hue would teach
    the model that they are the same product. Brightness, contrast and saturation vary the
    way lighting and cameras do.
    """

    def __init__(
        self,
        size: int = 224,
        *,
        scale: tuple[float, float] = (0.6, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        flip: float = 0.5,
        brightness: float = 0.3,
        contrast: float = 0.3,
        saturation: float = 0.2,
        hue: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.size = size
        self.scale = scale
        self.ratio = ratio
        self.flip = flip
        self.jitter = {"brightness": brightness, "contrast": contrast, "saturation": saturation}
        self.hue = hue
        self.rng = np.random.default_rng(seed)

    def __call__(self, image: Image.Image) -> Image.Image:
        view = self._resized_crop(image.convert("RGB"))
        if self.rng.random() < self.flip:
            view = ImageOps.mirror(view)
        return self._colour_jitter(view)

    def views(self, image: Image.Image, n: int = 2) -> list[Image.Image]:
        """``n`` independent views of one photo (the positives of a contrastive batch)."""
        return [self(image) for _ in range(n)]

    def _resized_crop(self, image: Image.Image) -> Image.Image:
        """A crop of random area share and aspect ratio, resized to ``size`` (as in
        torchvision's RandomResizedCrop; falls back to the centre square after 10 tries)."""
        width, height = image.size
        area = width * height
        log_ratio = np.log(self.ratio)
        for _ in range(10):
            target = area * self.rng.uniform(*self.scale)
            aspect = float(np.exp(self.rng.uniform(*log_ratio)))
            w = round(np.sqrt(target * aspect))
            h = round(np.sqrt(target / aspect))
            if 0 < w <= width and 0 < h <= height:
                left = int(self.rng.integers(0, width - w + 1))
                top = int(self.rng.integers(0, height - h + 1))
                box = (left, top, left + w, top + h)
                return image.resize((self.size, self.size), Image.Resampling.BICUBIC, box=box)
        side = min(width, height)
        box = ((width - side) // 2, (height - side) // 2, (width + side) // 2, (height + side) // 2)
        return image.resize((self.size, self.size), Image.Resampling.BICUBIC, box=box)

    def _colour_jitter(self, image: Image.Image) -> Image.Image:
        """Brightness, contrast and saturation in random order, each by a factor in
        [1 - s, 1 + s]; then hue rotation by up to ``hue`` of a turn."""
        enhancers = {
            "brightness": ImageEnhance.Brightness,
            "contrast": ImageEnhance.Contrast,
            "saturation": ImageEnhance.Color,
        }
        for name in self.rng.permutation(list(enhancers)):
            strength = self.jitter[str(name)]
            if strength > 0:
                factor = float(self.rng.uniform(max(0.0, 1 - strength), 1 + strength))
                image = enhancers[str(name)](image).enhance(factor)
        if self.hue > 0:
            image = _rotate_hue(image, float(self.rng.uniform(-self.hue, self.hue)))
        return image


def _rotate_hue(image: Image.Image, turn: float) -> Image.Image:
    """``image`` with its hue rotated by ``turn`` of the colour wheel (-0.5..0.5)."""
    hsv = np.asarray(image.convert("HSV"), dtype=np.uint8).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + round(turn * 255)) % 256
    return Image.fromarray(hsv, mode="HSV").convert("RGB")
