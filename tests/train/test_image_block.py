"""The image tower with a trainable last block: same vectors as the encoder until trained,
gradients only where they should be, and weights the encoder loads back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from safetensors.torch import save_file

from prodmatch.errors import ProdmatchError
from prodmatch.images import ImageEncoder
from prodmatch.train.image_block import LiveImages, TrainableTower


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("photos")
    out = []
    for name, colour in (("red", (200, 30, 40)), ("blue", (30, 60, 200))):
        image = Image.new("RGB", (64, 64), (245, 245, 245))
        ImageDraw.Draw(image).ellipse((10, 12, 54, 50), fill=colour)
        out.append(folder / f"{name}.png")
        image.save(out[-1])
    return out


@pytest.mark.slow
def test_untrained_tower_gives_the_encoders_vectors_and_trains_one_block(
    photos: list[Path],
) -> None:
    tower = TrainableTower()
    live = LiveImages(tower, [photos[0], None, photos[1]])
    plain = live.plain_vectors(torch.tensor([0, 1, 2]), 1280)
    expected, _ = ImageEncoder(cache=False, threads=1).encode_files(photos, progress=False)
    np.testing.assert_allclose(plain[[0, 2]].numpy(), expected, atol=1e-4)
    assert not plain[1].any()  # no photo: zeros, as the encoder gives
    trained = [name for name, p in tower.named_parameters() if p.requires_grad]
    assert trained and all(name.startswith("net._blocks.15.") for name in trained)
    views = live.training_vectors(torch.tensor([0, 2]), 1280)
    views.sum().backward()
    block = tower.net.get_submodule("_blocks")[-1]
    assert all(p.grad is not None for p in block.parameters())
    stem = tower.net.get_submodule("_conv_stem")
    assert stem.weight.grad is None


@pytest.mark.slow
def test_saved_tower_loads_into_the_image_encoder(photos: list[Path], tmp_path: Path) -> None:
    tower = TrainableTower()
    with torch.no_grad():
        for p in tower.parameters():
            if p.requires_grad:
                p.mul_(1.1)  # stands in for training
    path = tower.save(tmp_path / "tuned.safetensors")
    live = LiveImages(tower, photos)
    expected = live.plain_vectors(torch.tensor([0, 1]), 1280).numpy()
    vectors, ok = ImageEncoder(path, cache=False, threads=1).encode_files(photos, progress=False)
    assert ok.all()
    np.testing.assert_allclose(vectors, expected, atol=1e-4)


def test_other_weights_are_a_one_line_error(tmp_path: Path) -> None:
    weights = tmp_path / "w.safetensors"
    save_file({"layer.weight": torch.zeros(2)}, str(weights))
    with pytest.raises(ProdmatchError, match="only EfficientNet-Lite0 weights"):
        TrainableTower(weights)
