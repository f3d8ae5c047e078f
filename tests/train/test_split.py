"""Validation pairs held out of the training pairs when none are given; pairs given twice."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from prodmatch.cli import app
from prodmatch.data import catalog_from_frame
from prodmatch.errors import ProdmatchError
from prodmatch.synth import generate_catalogs, generate_pairs, write_catalogs
from prodmatch.train.split import overlapping_pairs, split_validation, validation_pairs

RENAME = {"ltable_id": "left_id", "rtable_id": "right_id"}


@pytest.fixture(scope="module")
def pairs() -> pd.DataFrame:
    world = generate_catalogs(150, seed=6)
    return generate_pairs(world, seed=6)["train"].rename(columns=RENAME)


def test_the_split_is_stratified_by_cluster_and_seeded(pairs: pd.DataFrame) -> None:
    train, valid, split = split_validation(pairs, fraction=0.2, seed=3)
    assert split.by == "product cluster"
    assert len(train) + len(valid) == len(pairs)
    assert set(train.index).isdisjoint(valid.index)
    assert list(train.index) == sorted(train.index)  # the given order is kept
    share_matches = valid["label"].sum() / pairs["label"].sum()
    share_others = (valid["label"] == 0).sum() / (pairs["label"] == 0).sum()
    assert 0.15 <= share_matches <= 0.3 and 0.15 <= share_others <= 0.3
    assert (split.valid_pairs, split.valid_matches) == (len(valid), valid["label"].sum())

    # the validation products were never a training match: no listing of a held-out match
    # is in a training match
    def matched(frame: pd.DataFrame) -> set[str]:
        positive = frame[frame["label"] == 1]
        return {f"L:{i}" for i in positive["left_id"]} | {f"R:{i}" for i in positive["right_id"]}

    assert matched(valid) and matched(valid).isdisjoint(matched(train))
    again = split_validation(pairs, fraction=0.2, seed=3)[1]
    other = split_validation(pairs, fraction=0.2, seed=4)[1]
    assert list(again.index) == list(valid.index) != list(other.index)


def test_one_product_is_split_by_pair_and_one_match_is_refused() -> None:
    one = pd.DataFrame(
        {
            "left_id": ["a", "a", "a", "b", "c", "d"],
            "right_id": ["x", "y", "z", "w", "v", "u"],
            "label": [1, 1, 1, 0, 0, 0],
        }
    )
    train, valid, split = split_validation(one, fraction=0.34, seed=0)
    assert split.by == "pair"
    assert train["label"].sum() >= 1 and valid["label"].sum() >= 1
    with pytest.raises(ProdmatchError, match=r"too few.*--valid"):
        split_validation(one.iloc[2:], seed=0)


def test_overlapping_pairs_are_counted_in_the_orientation_that_matters() -> None:
    train = pd.DataFrame({"left_id": ["1", "2", "3"], "right_id": ["5", "6", "7"], "label": 0})
    valid = pd.DataFrame({"left_id": ["1", "6", "9"], "right_id": ["5", "2", "9"], "label": 0})
    assert overlapping_pairs(train, valid) == 1  # two catalogs: (6, 2) is another pair
    assert overlapping_pairs(train, valid, either_orientation=True) == 2  # one catalog


def test_validation_pairs_that_are_training_pairs_are_warned_with_the_count(
    pairs: pd.DataFrame,
) -> None:
    world = generate_catalogs(10, seed=1)
    left, right = catalog_from_frame(world.left), catalog_from_frame(world.right)
    valid = pd.concat([pairs.iloc[:7], pairs.iloc[-20:]])
    with pytest.warns(UserWarning, match="^7 of the 27 validation pairs are training pairs"):
        validation_pairs(left, right, pairs.iloc[:-20], valid, seed=0, valid_split="given")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = validation_pairs(
            left, right, pairs.iloc[:-20], pairs.iloc[-20:], seed=0, valid_split="given"
        )
    assert kept[1] is not None and len(kept[1]) == 20 and kept[3] == {"source": "given"}


def test_cli_train_without_valid_holds_pairs_out_and_trains_a_classifier(
    tiny_model: Path, tmp_path: Path
) -> None:
    world = generate_catalogs(80, seed=2)
    paths = write_catalogs(world, tmp_path)
    train = generate_pairs(world, seed=2)["train"]
    train.to_csv(tmp_path / "train.csv", index=False)
    out = tmp_path / "m"
    args = ["train", "--left", paths["left"], "--right", paths["right"], "--pairs"]
    args += [tmp_path / "train.csv", "--mode", "head", "--model", tiny_model, "-o", out]
    args += ["--valid-split", "given"]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "prodmatch.json").read_text())
    validation = info["validation"]
    assert validation["by"] == "product cluster" and validation["seed"] == 0
    said = f"held out {validation['valid_pairs']} of the {len(train)} training pairs"
    assert said in " ".join(result.output.split())
    assert info["settings"]["scorer"] == "learned" and (out / "head").is_dir()
    assert info["train_pairs"] + info["valid_pairs"] == len(train)
    assert "validation F1" in result.output
    assert "were held out by product cluster" in (out / "README.md").read_text()


def test_nothing_is_held_out_when_asked_not_to(pairs: pd.DataFrame) -> None:
    world = generate_catalogs(10, seed=1)
    left, right = catalog_from_frame(world.left), catalog_from_frame(world.right)
    train, valid, _, validation = validation_pairs(left, right, pairs, None, seed=0, hold_out=None)
    assert train is pairs and valid is None and validation == {"source": "none"}
