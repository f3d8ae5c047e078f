"""Validation on unseen products: the split, the seen/unseen parts and their scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prodmatch.cli import app
from prodmatch.data import catalog_from_frame
from prodmatch.errors import ProdmatchError
from prodmatch.synth import generate_catalogs, generate_pairs, write_deepmatcher
from prodmatch.train.classifier_stage import part_scores
from prodmatch.train.split import validation_pairs
from prodmatch.train.unseen import product_clusters, seen_pairs, split_unseen

RENAME = {"ltable_id": "left_id", "rtable_id": "right_id"}


def _pairs(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["left_id", "right_id", "label"])


# six products a..f (a-A, b-B, ...), g only in a non-match
TRAIN = _pairs(
    [
        ("a", "A", 1),
        ("b", "B", 1),
        ("c", "C", 1),
        ("d", "D", 1),
        ("e", "E", 1),
        ("f", "F", 1),
        ("a", "B", 0),
        ("c", "D", 0),
        ("e", "F", 0),
        ("g", "A", 0),
    ]
)
# (a, X): X is a's product; (h, B): B was trained on; (h, H) and (i, I): never seen
VALID = _pairs([("a", "X", 1), ("h", "H", 1), ("h", "B", 0), ("i", "I", 0)])


def _listings(frame: pd.DataFrame) -> set[str]:
    return {f"L:{i}" for i in frame["left_id"]} | {f"R:{i}" for i in frame["right_id"]}


def test_seen_pairs_are_those_whose_product_has_a_training_listing() -> None:
    assert seen_pairs(TRAIN, VALID).tolist() == [True, False, True, False]


def test_enough_given_unseen_pairs_are_kept_and_nothing_moves() -> None:
    train, valid, seen, split = split_unseen(TRAIN, VALID, fraction=0.1, seed=0)
    assert train.equals(TRAIN)
    assert list(zip(valid["left_id"], valid["right_id"], strict=True)) == [("h", "H"), ("i", "I")]
    assert list(zip(seen["left_id"], seen["right_id"], strict=True)) == [("a", "X"), ("h", "B")]
    assert (split.given_unseen_pairs, split.moved_pairs, split.dropped_pairs) == (2, 0, 0)
    assert (split.seen_pairs, split.seen_matches, split.valid_matches) == (2, 1, 1)


def test_too_few_moves_whole_products_and_shares_no_listing_with_training() -> None:
    # 8 matches, half wanted: the given unseen pairs hold one, so products move
    train, valid, seen, split = split_unseen(TRAIN, VALID, fraction=0.5, seed=0)
    assert valid["label"].sum() >= 4 and split.moved_pairs > 0
    assert _listings(train).isdisjoint(_listings(valid))
    keys, product = product_clusters(train, valid)
    where = dict(zip(keys, product, strict=True))
    assert {where[k] for k in _listings(train)}.isdisjoint({where[k] for k in _listings(valid)})
    # every training pair is kept, moved or dropped (it joined a moved product to a kept one)
    assert split.train_pairs + split.moved_pairs + split.dropped_pairs == len(TRAIN)
    assert len(seen) == split.seen_pairs and (train["label"] == 1).any()
    assert list(train.index) == sorted(train.index)  # training's order is kept


@pytest.fixture(scope="module")
def synthetic() -> tuple[pd.DataFrame, pd.DataFrame]:
    world = generate_catalogs(150, seed=6)
    pairs = generate_pairs(world, seed=6)
    return pairs["train"].rename(columns=RENAME), pairs["valid"].rename(columns=RENAME)


def test_the_split_is_seeded_and_unseen_on_synthetic_pairs(
    synthetic: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    given_train, given_valid = synthetic
    train, valid, _, split = split_unseen(given_train, given_valid, fraction=0.2, seed=3)
    assert _listings(train).isdisjoint(_listings(valid))
    total = given_train["label"].sum() + given_valid["label"].sum()
    assert valid["label"].sum() >= np.ceil(0.2 * total)
    again = split_unseen(given_train, given_valid, fraction=0.2, seed=3)[1]
    other = split_unseen(given_train, given_valid, fraction=0.2, seed=4)[1]
    assert again.equals(valid) and not other.equals(valid)
    # with no validation pairs given, they all come out of training
    train, valid, seen, split = split_unseen(given_train, None, fraction=0.2, seed=3)
    assert seen.empty and split.moved_pairs == len(valid) > 0
    assert _listings(train).isdisjoint(_listings(valid))


def test_one_product_cannot_be_split() -> None:
    one = _pairs([("a", "A", 1), ("a", "B", 1), ("c", "D", 0)])
    with pytest.raises(ProdmatchError, match="--valid-split given"):
        split_unseen(one, None, fraction=0.5, seed=0)


def test_validation_pairs_give_the_seen_and_unseen_parts_either_way() -> None:
    world = generate_catalogs(10, seed=1)
    left, right = catalog_from_frame(world.left), catalog_from_frame(world.right)
    with pytest.warns(UserWarning, match="validating on unseen products: 2 pairs"):
        train, valid, parts, info = validation_pairs(
            left, right, TRAIN, VALID, seed=0, hold_out=0.1
        )
    assert train is not None and train.equals(TRAIN)
    assert info["source"] == "unseen products" and parts["unseen"] is valid
    assert list(parts["seen"]["right_id"]) == ["X", "B"]
    _, valid, parts, info = validation_pairs(left, right, TRAIN, VALID, seed=0, valid_split="given")
    assert valid is VALID and info == {"source": "given"}
    assert list(parts["seen"]["right_id"]) == ["X", "B"]
    assert list(parts["unseen"]["right_id"]) == ["H", "I"]


def test_part_scores_are_counted_at_the_threshold() -> None:
    scores = np.array([0.9, 0.2, 0.6, 0.4])
    found = part_scores(scores, np.array([1, 1, 0, 0]), 0.5)
    assert found == {"pairs": 4.0, "matches": 2.0, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert "f1" not in part_scores(scores, np.zeros(4, dtype=np.int64), 0.5)
    assert part_scores(np.zeros(0), np.zeros(0, dtype=np.int64), 0.5) == {
        "pairs": 0.0,
        "matches": 0.0,
    }


def test_cli_train_reports_seen_and_unseen_f1(tiny_model: Path, tmp_path: Path) -> None:
    world = generate_catalogs(120, seed=2)
    write_deepmatcher(world, generate_pairs(world, seed=2), tmp_path / "dm")
    out = tmp_path / "m"
    args = ["train", tmp_path / "dm", "--mode", "head", "--model", tiny_model, "-o", out]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "prodmatch.json").read_text())
    validation, head = info["validation"], info["metrics"]["head"]
    assert info["valid_split"] == "unseen" and validation["source"] == "unseen products"
    assert head["unseen"]["pairs"] == validation["valid_pairs"] == info["valid_pairs"]
    assert head["seen"]["pairs"] == validation["seen_pairs"]
    # the unseen part is what the classifier chose its threshold on: the same F1
    assert head["unseen"]["f1"] == pytest.approx(head["f1"])
    assert "on unseen products" in " ".join(result.output.split())
    card = (out / "README.md").read_text()
    assert "of products unseen in training" in card and "- on seen products (" in card
    bad = CliRunner().invoke(app, [str(a) for a in [*args, "--valid-split", "both"]])
    assert bad.exit_code != 0 and "--valid-split must be unseen or given" in bad.output
