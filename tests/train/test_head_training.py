"""Head mode end to end on synthetic catalogs encoded by the tiny test model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from prodmatch.data import catalog_from_frame
from prodmatch.decide import best_threshold
from prodmatch.encode import TextEncoder
from prodmatch.errors import ProdmatchError
from prodmatch.linker import Linker
from prodmatch.settings import MatchSettings
from prodmatch.synth import generate_catalogs, generate_pairs
from prodmatch.train import (
    HeadTrainingConfig,
    ListingVectors,
    MatchHead,
    head_probabilities,
    pair_features,
    train_head,
)

SIGNALS = ("dense", "sparse", "code_agreement")


@dataclass(frozen=True)
class Prepared:
    left: ListingVectors
    right: ListingVectors
    splits: dict[str, pd.DataFrame]  # pairs with the linker's signal columns


@pytest.fixture(scope="module")
def prepared(tiny_model: Path) -> Prepared:
    """150 synthetic products, encoded once by the tiny model through the Linker."""
    synth = generate_catalogs(150, seed=0)
    left = catalog_from_frame(synth.left, name="left")
    right = catalog_from_frame(synth.right, name="right")
    encoder = TextEncoder(tiny_model, cache=False)
    linker = Linker(MatchSettings(model=str(tiny_model)), encoder=encoder, progress=False)
    left_side, right_side = linker.prepare(left, right)
    columns = {"ltable_id": "left_id", "rtable_id": "right_id"}
    splits = {
        name: pair_features(linker, left_side, right_side, frame.rename(columns=columns))
        for name, frame in generate_pairs(synth, seed=0).items()
    }
    return Prepared(
        ListingVectors.from_side(left_side), ListingVectors.from_side(right_side), splits
    )


def _f1(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    predicted, actual = scores >= threshold, labels == 1
    return float(2 * (predicted & actual).sum() / (predicted.sum() + actual.sum()))


def test_head_beats_the_untrained_cosine(prepared: Prepared) -> None:
    train, valid, test = (prepared.splits[k] for k in ("train", "valid", "test"))
    result = train_head(
        prepared.left, prepared.right, train, valid, extra_columns=SIGNALS, progress=False
    )
    baseline_valid = best_threshold(valid["dense"], valid["label"])[1]
    assert result.metrics["baseline_f1"] == pytest.approx(baseline_valid, abs=1e-6)
    assert result.metrics["f1"] >= baseline_valid + 0.10

    # The threshold chosen on valid carries to the unseen test pairs; the cosine baseline
    # gets its own best test threshold, so this margin is conservative.
    scores = head_probabilities(result.head, prepared.left, prepared.right, test)
    test_f1 = _f1(scores, test["label"].to_numpy(), result.threshold)
    baseline_test = best_threshold(test["dense"], test["label"])[1]
    assert test_f1 >= baseline_test + 0.10
    print(
        f"valid F1 {baseline_valid:.3f} -> {result.metrics['f1']:.3f}; "
        f"test F1 {baseline_test:.3f} -> {test_f1:.3f}"
    )


def test_same_seed_same_weights_and_the_global_rng_is_untouched(prepared: Prepared) -> None:
    def run(seed: int) -> dict[str, torch.Tensor]:
        config = HeadTrainingConfig(seed=seed, projection_epochs=3, classifier_epochs=5)
        result = train_head(
            prepared.left,
            prepared.right,
            prepared.splits["train"],
            prepared.splits["valid"],
            extra_columns=SIGNALS,
            config=config,
            progress=False,
        )
        return {
            **{f"p.{k}": v for k, v in result.projection.state_dict().items()},
            **{f"c.{k}": v for k, v in result.classifier.state_dict().items()},
        }

    rng_state, threads = torch.random.get_rng_state(), torch.get_num_threads()
    first, second, other = run(0), run(0), run(1)
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    assert torch.get_num_threads() == threads
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_infonce_mode_and_a_saved_head_score_alike(prepared: Prepared, tmp_path: Path) -> None:
    config = HeadTrainingConfig(loss="infonce", projection_epochs=3, classifier_hidden=0)
    result = train_head(
        prepared.left,
        prepared.right,
        prepared.splits["train"],
        prepared.splits["valid"],
        extra_columns=SIGNALS,
        config=config,
        progress=False,
    )
    # better on valid than the untrained encoder's cosine it starts from
    assert result.metrics["f1"] > result.metrics["baseline_f1"] + 0.05, result.metrics
    stages = {str(row["stage"]) for row in result.history}
    assert stages == {"projection", "classifier"}
    json.dumps({"metrics": result.metrics, "history": result.history}, allow_nan=False)
    loaded = MatchHead.load(result.head.save(tmp_path / "head"))
    test = prepared.splits["test"]
    np.testing.assert_array_equal(
        head_probabilities(loaded, prepared.left, prepared.right, test),
        head_probabilities(result.head, prepared.left, prepared.right, test),
    )
    assert loaded.threshold == result.threshold
    assert loaded.metadata["training"]["loss"] == "infonce"


def test_without_projection_training_the_head_keeps_the_encoder(prepared: Prepared) -> None:
    config = HeadTrainingConfig(projection_epochs=0, classifier_epochs=2)
    result = train_head(
        prepared.left,
        prepared.right,
        prepared.splits["train"],
        prepared.splits["valid"],
        config=config,
        progress=False,
    )
    assert result.metrics["projection_epoch"] == 0
    assert result.metrics["projection_f1"] == pytest.approx(result.metrics["baseline_f1"])


def test_bad_inputs_are_reported(prepared: Prepared) -> None:
    train, valid = prepared.splits["train"], prepared.splits["valid"]
    with pytest.raises(ProdmatchError, match="no column 'price'"):
        train_head(prepared.left, prepared.right, train, valid, extra_columns=["price"])
    unknown = train.assign(left_id="nope")
    with pytest.raises(ProdmatchError, match="'nope' has no vector"):
        train_head(prepared.left, prepared.right, unknown, valid)
    with pytest.raises(ProdmatchError, match="at least one match"):
        train_head(prepared.left, prepared.right, train, valid.assign(label=0))
    with pytest.raises(ProdmatchError, match="one vector per id"):
        ListingVectors(["a", "b"], np.zeros((3, 4), dtype=np.float32))
    with pytest.raises(ProdmatchError, match="loss"):
        HeadTrainingConfig(loss="triplet")  # type: ignore[arg-type]
