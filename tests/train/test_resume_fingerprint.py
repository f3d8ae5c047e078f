"""A checkpoint resumes only the run that wrote it: same data, same base model."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from prodmatch.errors import ProdmatchError
from prodmatch.train.fine_tune import FineTuneConfig, Listings, fine_tune
from prodmatch.train.fingerprint import data_fingerprint

Data = tuple[Listings, pd.DataFrame, pd.DataFrame]
CONFIG = FineTuneConfig(epochs=1, batch_size=8, lr=1e-3, max_seq_length=32, checkpoint_every=2)


@pytest.fixture(scope="module")
def data(training_data: Callable[[int, int], Data]) -> Data:
    return training_data(30, 5)


def _interrupted(model: Path, data: Data, run: Path) -> None:
    listings, train, valid = data
    fine_tune(model, listings, train, valid, run, CONFIG, progress=False, stop_after_steps=1)
    assert (run / "checkpoint" / "state.json").is_file()


def test_the_same_data_resumes_and_one_changed_pair_is_refused(
    tiny_model: Path, tmp_path: Path, data: Data
) -> None:
    listings, train, valid = data
    _interrupted(tiny_model, data, tmp_path)
    changed = train.copy()
    changed.loc[changed.index[0], "label"] = 1 - int(changed.loc[changed.index[0], "label"])
    with pytest.raises(ProdmatchError, match="another training data") as refused:
        fine_tune(tiny_model, listings, changed, valid, tmp_path, CONFIG, progress=False)
    assert "--restart" in str(refused.value) and str(tmp_path) in str(refused.value)
    assert "\n" not in str(refused.value)
    result = fine_tune(tiny_model, listings, train, valid, tmp_path, CONFIG, progress=False)
    assert result.metrics["epochs_run"] == 1.0  # resumed and finished


def test_a_changed_listing_text_or_base_model_is_refused(
    tiny_model: Path, tmp_path: Path, data: Data
) -> None:
    listings, train, valid = data
    _interrupted(tiny_model, data, tmp_path / "run")
    first = next(iter(listings.left))
    edited = Listings({**listings.left, first: listings.left[first] + " v2"}, listings.right)
    with pytest.raises(ProdmatchError, match="another training data"):
        fine_tune(tiny_model, edited, train, valid, tmp_path / "run", CONFIG, progress=False)
    other = tmp_path / "other-model"
    shutil.copytree(tiny_model, other)
    weights = other / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-1] ^= 1  # one bit of one weight
    weights.write_bytes(bytes(raw))
    with pytest.raises(ProdmatchError, match="another base model"):
        fine_tune(other, listings, train, valid, tmp_path / "run", CONFIG, progress=False)


def test_the_fingerprint_follows_content_not_row_order_of_the_catalogs(data: Data) -> None:
    listings, train, valid = data
    reordered = Listings(dict(reversed(listings.left.items())), listings.right)
    assert data_fingerprint(listings, train, valid) == data_fingerprint(reordered, train, valid)
    assert data_fingerprint(listings, train, valid) != data_fingerprint(listings, valid, train)
    assert data_fingerprint(listings, train, None) != data_fingerprint(listings, train, valid)


def test_restart_starts_over_after_a_refusal(tiny_model: Path, tmp_path: Path, data: Data) -> None:
    from prodmatch.data import catalog_from_frame
    from prodmatch.settings import MatchSettings
    from prodmatch.synth import generate_catalogs, generate_pairs
    from prodmatch.train.api import train_matcher

    world = generate_catalogs(30, seed=5)
    splits = generate_pairs(world, seed=5)
    rename = {"ltable_id": "left_id", "rtable_id": "right_id"}
    train, valid = (splits[s].rename(columns=rename) for s in ("train", "valid"))
    left, right = catalog_from_frame(world.left), catalog_from_frame(world.right)
    out = tmp_path / "m"
    settings = MatchSettings(model=str(tiny_model))
    listings, first_train, first_valid = data
    fewer = (listings, first_train.iloc[1:], first_valid)  # a run on one pair less
    _interrupted(tiny_model, fewer, tmp_path / "m.partial")
    from prodmatch.train.api import PARTIAL_MARK

    (tmp_path / "m.partial" / PARTIAL_MARK).touch()  # as train_matcher marks its own folder
    with pytest.raises(ProdmatchError, match="--restart"):
        train_matcher(
            left,
            right,
            train,
            valid,
            out,
            settings=settings,
            fine_tune_config=CONFIG,
            progress=False,
        )
    report = train_matcher(
        left,
        right,
        train,
        valid,
        out,
        settings=settings,
        fine_tune_config=CONFIG,
        progress=False,
        restart=True,
    )
    assert report.metrics["fine_tune"]["epochs_run"] == 1.0
    assert not (tmp_path / "m.partial").exists()
