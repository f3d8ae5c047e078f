"""The train command's options reach the stage that runs, in both modes, or are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prodmatch.cli import app
from prodmatch.data import load_deepmatcher
from prodmatch.errors import ProdmatchError
from prodmatch.evaluate import evaluate_pairs
from prodmatch.linker import Linker
from prodmatch.matcher import matcher_settings
from prodmatch.matcher.head import MatchHead
from prodmatch.synth import generate_catalogs, generate_pairs, write_deepmatcher
from prodmatch.train.fine_tune import FineTuneConfig
from prodmatch.train.head_trainer import HeadTrainingConfig
from prodmatch.train.options import TrainOptions, training_configs
from prodmatch.train.prior_head import PriorConfig


def test_head_mode_applies_loss_epochs_batch_temperature_and_seed() -> None:
    options = TrainOptions(loss="infonce", epochs=3, batch_size=16, temperature=0.2, seed=7)
    tune, head = training_configs("head", options)
    assert (head.loss, head.projection_epochs, head.batch_size) == ("infonce", 3, 16)
    assert (head.temperature, head.seed) == (0.2, 7)
    assert (tune.loss, tune.seed) == ("infonce", 7)  # what a fusion head would train with


def test_options_not_given_keep_each_stages_defaults() -> None:
    tune, head = training_configs("full", TrainOptions())
    assert tune == FineTuneConfig() and head == HeadTrainingConfig()
    # auto: the prior classifier in head mode, unless a projection head is asked for
    assert training_configs("head", TrainOptions())[1] == PriorConfig()
    assert training_configs("head", TrainOptions(epochs=3))[1] == HeadTrainingConfig(
        projection_epochs=3
    )
    assert training_configs("head", TrainOptions(classifier="mlp"))[1] == HeadTrainingConfig()
    tune, head = training_configs("full", TrainOptions(epochs=2, lr=1e-4, seed=3))
    assert (tune.epochs, tune.lr, tune.seed, head.seed) == (2, 1e-4, 3, 3)
    assert head.projection_epochs == HeadTrainingConfig().projection_epochs


def test_full_mode_applies_the_queue_and_the_layer_cache() -> None:
    tune, _ = training_configs("full", TrainOptions(queue_size=256, momentum=0.99, freeze_layers=3))
    assert (tune.queue_size, tune.momentum, tune.freeze_layers) == (256, 0.99, 3)
    assert FineTuneConfig().queue_size == 0  # off unless asked for
    with pytest.raises(ProdmatchError, match="--queue-size"):
        training_configs("full", TrainOptions(queue_size=-1))


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (TrainOptions(lr=1e-4), "--lr"),
        (TrainOptions(max_seq_length=32, freeze_layers=2), "--max-seq-length, --freeze-layers"),
        (TrainOptions(loss="selfsup"), "--loss selfsup needs --mode full"),
        (TrainOptions(queue_size=64, momentum=0.9), "--queue-size, --momentum"),
    ],
)
def test_head_mode_refuses_what_it_cannot_apply(options: TrainOptions, named: str) -> None:
    with pytest.raises(ProdmatchError, match=named):
        training_configs("head", options)


def test_cli_head_mode_trains_and_records_what_was_given(tiny_model: Path, tmp_path: Path) -> None:
    world = generate_catalogs(80, seed=8)
    write_deepmatcher(world, generate_pairs(world, seed=8), tmp_path / "dm")
    out = tmp_path / "m"
    args = ["train", tmp_path / "dm", "-o", out, "--mode", "head", "--model", tiny_model]
    args += ["--loss", "infonce", "--epochs", "2", "--batch-size", "16"]
    args += ["--temperature", "0.2", "--seed", "5"]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "prodmatch.json").read_text())
    head = info["head"]
    assert (head["loss"], head["projection_epochs"], head["batch_size"]) == ("infonce", 2, 16)
    assert (head["temperature"], head["seed"]) == (0.2, 5)
    projection = [r for r in info["metrics"]["head_history"] if r["stage"] == "projection"]
    assert [r["epoch"] for r in projection] == [0.0, 1.0, 2.0]  # the 2 epochs ran, no more
    card = (out / "README.md").read_text()
    assert "**infonce** loss, 2 epochs at most, batch 16, temperature 0.2, seed 5" in card
    refused = CliRunner().invoke(app, [str(a) for a in [*args, "--lr", "0.001"]])
    assert refused.exit_code == 2 and "--lr" in refused.output


def test_prior_classifier_replaces_the_head_and_refuses_projection_options() -> None:
    _, head = training_configs("head", TrainOptions(classifier="prior", seed=3))
    assert isinstance(head, PriorConfig)
    with pytest.raises(ProdmatchError, match="--epochs, --temperature"):
        training_configs("head", TrainOptions(classifier="prior", epochs=2, temperature=0.1))
    with pytest.raises(ProdmatchError, match="--classifier"):
        training_configs("head", TrainOptions(classifier="tree"))


def test_cli_prior_classifier_writes_a_matcher_that_matches(
    tiny_model: Path, tmp_path: Path
) -> None:
    world = generate_catalogs(80, seed=8)
    write_deepmatcher(world, generate_pairs(world, seed=8), tmp_path / "dm")
    out = tmp_path / "m"
    args = ["train", tmp_path / "dm", "-o", out, "--mode", "head", "--model", tiny_model]
    result = CliRunner().invoke(app, [str(a) for a in [*args, "--classifier", "prior"]])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "prodmatch.json").read_text())
    assert info["head"]["sharpness"] == PriorConfig().sharpness
    head = MatchHead.load(out / "head")
    assert head.metadata["training"]["kind"] == "prior-logistic"
    assert head.classifier.hidden_dim == 0 and "price_ratio" in head.extra_columns
    assert (
        "logistic regression pulled toward the untrained hybrid" in (out / "README.md").read_text()
    )
    data = load_deepmatcher(tmp_path / "dm")
    trained = evaluate_pairs(data, Linker(matcher_settings(out), progress=False))
    assert trained.f1 > 0.5
    refused = CliRunner().invoke(
        app, [str(a) for a in [*args, "--classifier", "prior", "--epochs", "2"]]
    )
    assert refused.exit_code == 2 and "--epochs" in refused.output
