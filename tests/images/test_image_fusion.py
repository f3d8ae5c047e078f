from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from prodmatch.errors import ProdmatchError
from prodmatch.images import FusionHead, ImageAugment


def _inputs(n: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    text = rng.normal(size=(n, 5)).astype(np.float32)
    image = rng.normal(size=(n, 3)).astype(np.float32)
    has_image = np.array([True, False] * (n // 2))
    return text, image, has_image


def test_output_is_normalised_with_the_requested_size() -> None:
    torch.manual_seed(0)
    head = FusionHead(5, 3, out_dim=4, hidden_dim=8)
    out = head.fuse(*_inputs())
    assert out.shape == (6, 4) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)


def test_listings_without_image_get_the_missing_embedding() -> None:
    torch.manual_seed(0)
    head = FusionHead(5, 3, out_dim=4, hidden_dim=8)
    text, image, has_image = _inputs()
    garbage = image.copy()
    garbage[~has_image] = 1e6  # whatever sits in the image slot of a photo-less listing
    out = head.fuse(text, garbage, has_image)
    np.testing.assert_allclose(out, head.fuse(text, image, has_image), atol=1e-6)
    features = head.image_features(torch.as_tensor(image), torch.as_tensor(has_image))
    missing = head.missing_image.detach().numpy()
    np.testing.assert_allclose(
        features[~torch.as_tensor(has_image)].detach().numpy(), [missing] * 3
    )
    with torch.no_grad():
        head.image_scale.fill_(0.5)
    np.testing.assert_allclose(
        head.image_features(torch.as_tensor(image), torch.as_tensor(has_image))[0].detach().numpy(),
        0.5 * image[0],
        rtol=1e-6,
    )


def test_gradients_reach_gate_and_missing_embedding() -> None:
    head = FusionHead(5, 3, out_dim=4, hidden_dim=8)
    text, image, has_image = (torch.as_tensor(x) for x in _inputs())
    head(text, image, has_image).sum().backward()
    assert head.image_scale.grad is not None and head.missing_image.grad is not None
    assert head.missing_image.grad.abs().sum() > 0


def test_save_load_round_trip_is_identical(tmp_path: Path) -> None:
    torch.manual_seed(1)
    head = FusionHead(5, 3, out_dim=4, hidden_dim=8, dropout=0.1)
    head.save(tmp_path / "fusion")
    assert sorted(p.name for p in (tmp_path / "fusion").iterdir()) == [
        "fusion.json",
        "fusion.safetensors",
    ]
    loaded = FusionHead.load(tmp_path / "fusion")
    assert loaded.config() == head.config()
    inputs = _inputs()
    np.testing.assert_array_equal(loaded.fuse(*inputs), head.fuse(*inputs))


def test_loading_something_else_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProdmatchError, match="cannot read"):
        FusionHead.load(tmp_path)
    (tmp_path / "fusion.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ProdmatchError, match="not a prodmatch fusion head"):
        FusionHead.load(tmp_path)
    FusionHead(5, 3, out_dim=4).save(tmp_path / "ok")
    (tmp_path / "ok" / "fusion.safetensors").write_bytes(b"broken")
    with pytest.raises(ProdmatchError, match="cannot load"):
        FusionHead.load(tmp_path / "ok")


def test_wrong_input_sizes_are_rejected() -> None:
    head = FusionHead(5, 3, out_dim=4)
    with pytest.raises(ValueError, match="expected text dim 5"):
        head(torch.zeros(2, 4), torch.zeros(2, 3), torch.ones(2, dtype=torch.bool))


def test_augment_makes_seeded_views_of_the_requested_size() -> None:
    photo = Image.new("RGB", (80, 60), (200, 30, 40))
    photo.paste((30, 60, 200), (0, 0, 40, 30))
    views = ImageAugment(32, seed=3).views(photo, 3)
    assert [v.size for v in views] == [(32, 32)] * 3
    assert all(v.mode == "RGB" for v in views)
    again = ImageAugment(32, seed=3).views(photo, 3)
    assert [v.tobytes() for v in views] == [v.tobytes() for v in again]
    assert len({v.tobytes() for v in views}) > 1


def test_augment_keeps_hue_unless_asked() -> None:
    red = Image.new("RGB", (40, 40), (200, 30, 40))
    for view in ImageAugment(16, seed=0).views(red, 5):
        r, g, b = view.getpixel((8, 8))  # type: ignore[misc]
        assert r > g and r > b  # brighter or duller, still red
    shifted = ImageAugment(16, hue=0.5, brightness=0, contrast=0, saturation=0, seed=0)
    assert any(v.getpixel((8, 8))[0] < 150 for v in shifted.views(red, 5))  # type: ignore[index]
