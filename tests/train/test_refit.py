"""Refit after choosing on unseen products: the pairs it trains on, the epochs it keeps, and
--no-refit leaving training as it was."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from prodmatch.cli import app
from prodmatch.data import catalog_from_frame, load_deepmatcher
from prodmatch.encode import TextEncoder
from prodmatch.linker import Linker
from prodmatch.matcher import HEAD_DIR
from prodmatch.matcher.head import MatchHead
from prodmatch.settings import MatchSettings
from prodmatch.synth import generate_catalogs, generate_pairs
from prodmatch.train import refit as refit_module
from prodmatch.train.api import TrainReport, train_matcher
from prodmatch.train.head_trainer import (
    HeadTrainingConfig,
    ListingVectors,
    pair_features,
    refit_head,
    train_head,
)
from prodmatch.train.refit import refit_pairs, restated_threshold
from prodmatch.train.unseen import split_unseen

runner = CliRunner()
SIGNALS = ("dense", "sparse", "code_agreement")
CONFIG = HeadTrainingConfig(projection_epochs=4, classifier_epochs=30, patience=5)


@pytest.fixture(scope="module")
def folder(deepmatcher_folder: Callable[[int, int], Path]) -> Path:
    return deepmatcher_folder(200, 4)


def _head_matcher(folder: Path, out: Path, model: Path, **options: Any) -> TrainReport:
    """A head-mode matcher of the tiny model trained on `folder`'s train and valid pairs."""
    data = load_deepmatcher(folder)
    pairs = (data.left, data.right, data.train, data.valid)
    options |= {"mode": "head", "settings": MatchSettings(model=str(model)), "progress": False}
    return train_matcher(*pairs, out, **options)


def _state(head: MatchHead) -> dict[str, torch.Tensor]:
    return {
        **{f"p.{k}": v for k, v in head.projection.state_dict().items()},
        **{f"c.{k}": v for k, v in head.classifier.state_dict().items()},
    }


def _same(a: MatchHead, b: MatchHead) -> bool:
    sa, sb = _state(a), _state(b)
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _rows(history: list[dict[str, Any]], stage: str) -> list[float]:
    return [float(row["epoch"]) for row in history if row["stage"] == stage]


def test_refit_on_the_chosen_pairs_gives_the_chosen_head_for_its_epochs(
    tiny_model: Path,
) -> None:
    synth = generate_catalogs(150, seed=0)
    left = catalog_from_frame(synth.left, name="left")
    right = catalog_from_frame(synth.right, name="right")
    linker = Linker(
        MatchSettings(model=str(tiny_model)),
        encoder=TextEncoder(tiny_model, cache=False),
        progress=False,
    )
    sides = linker.prepare(left, right)
    columns = {"ltable_id": "left_id", "rtable_id": "right_id"}
    splits = {
        name: pair_features(linker, *sides, frame.rename(columns=columns))
        for name, frame in generate_pairs(synth, seed=0).items()
    }
    vectors = ListingVectors.from_side(sides[0]), ListingVectors.from_side(sides[1])
    chosen = train_head(
        *vectors,
        splits["train"],
        splits["valid"],
        extra_columns=SIGNALS,
        config=CONFIG,
        progress=False,
    )
    epochs = (int(chosen.metrics["projection_epoch"]), int(chosen.metrics["classifier_epoch"]))
    assert epochs[1] < len(_rows(chosen.history, "classifier"))  # selection stopped past it
    again = refit_head(*vectors, splits["train"], chosen.head, config=CONFIG, progress=False)
    # the chosen epochs exactly, no more (epoch 0 is the untrained projection)
    assert _rows(again.history, "projection") == [float(e) for e in range(epochs[0] + 1)]
    assert _rows(again.history, "classifier") == [float(e) for e in range(1, epochs[1] + 1)]
    assert all("valid_f1" not in row for row in again.history)  # validation is not read
    # the same pairs, configuration and epochs: the chosen weights, bit for bit
    assert _same(again.head, chosen.head)
    assert again.head.threshold == chosen.threshold
    assert again.head.metadata["refit"] == {
        "pairs": len(splits["train"]),
        "matches": int(splits["train"]["label"].sum()),
        "epochs": list(epochs),
    }
    # more pairs (train and valid): other weights, the chosen threshold and epochs
    more = pd.concat([splits["train"], splits["valid"]], ignore_index=True)
    grown = refit_head(*vectors, more, chosen.head, config=CONFIG, progress=False)
    assert not _same(grown.head, chosen.head)
    assert grown.threshold == chosen.threshold
    assert len(_rows(grown.history, "classifier")) == epochs[1]


def test_restated_threshold_moves_the_logit_by_the_prior_log_odds() -> None:
    # logit(0.5) + log(0.1 / 0.9) - log(0.2 / 0.8) = log(4 / 9): probability 4 / 13
    assert restated_threshold(0.5, 0.2, 0.1) == pytest.approx(4 / 13)
    assert restated_threshold(0.3, 0.25, 0.25) == pytest.approx(0.3)
    assert restated_threshold(0.0, 0.2, 0.1) == 0.0  # accept-all stays accept-all
    assert restated_threshold(0.4, 0.2, 0.0) == 0.4  # no match at all: no prior to move


def test_refit_pairs_are_the_given_ones_only_when_some_were_held_out(folder: Path) -> None:
    data = load_deepmatcher(folder)
    kept, *_ = split_unseen(data.train, data.valid, fraction=0.2, seed=0)
    assert len(kept) < len(data.train)
    assert refit_pairs(data.train, kept) is data.train
    assert refit_pairs(data.train, data.train) is None
    assert refit_pairs(None, None) is None


def test_refit_trains_the_final_head_on_all_training_pairs_and_no_refit_keeps_the_chosen(
    folder: Path, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = load_deepmatcher(folder)
    seen: list[pd.DataFrame] = []
    real_stage = refit_module.refit_stage
    real_head = refit_module.refit_head

    def stage(settings: MatchSettings, staging: Path, *args: Any, **kwargs: Any) -> Any:
        shutil.copytree(staging / HEAD_DIR, tmp_path / "chosen")  # the head chosen on valid
        return real_stage(settings, staging, *args, **kwargs)

    def head(left: Any, right: Any, pairs: pd.DataFrame, *args: Any, **kwargs: Any) -> Any:
        seen.append(pairs)
        return real_head(left, right, pairs, *args, **kwargs)

    monkeypatch.setattr("prodmatch.train.api.refit_stage", stage)
    monkeypatch.setattr(refit_module, "refit_head", head)
    runs = {}
    for refit in (True, False):
        out = tmp_path / f"refit-{refit}"
        runs[refit] = _head_matcher(folder, out, tiny_model, refit=refit)
    assert len(seen) == 1  # --no-refit never refits
    # the refit read every given training pair, those moved to validation included, and no
    # validation pair given
    key = ["left_id", "right_id", "label"]
    trained = seen[0][key].astype(str).sort_values(key).reset_index(drop=True)
    assert trained.equals(data.train[key].astype(str).sort_values(key).reset_index(drop=True))
    info = {r: json.loads((tmp_path / f"refit-{r}" / "prodmatch.json").read_text()) for r in runs}
    split = info[True]["validation"]
    assert split["moved_pairs"] > 0 and split["train_pairs"] < len(data.train)
    record = info[True]["metrics"]["refit"]
    assert record["pairs"] == info[True]["final_pairs"] == len(data.train)
    assert record["matches"] == int(data.train["label"].sum())
    chosen = MatchHead.load(tmp_path / "chosen")
    refitted = MatchHead.load(tmp_path / "refit-True" / HEAD_DIR)
    assert record["classifier_epochs"] == chosen.metadata["valid"]["classifier_epoch"]
    assert refitted.metadata["refit"]["epochs"][1] == record["classifier_epochs"]
    assert not _same(refitted, chosen)
    # the thresholds: chosen before the refit, restated for the share of matches among all
    # the training pairs (fewer than among those chosen with: products moved with matches)
    shares = record["match_share_chosen_with"], record["match_share"]
    assert shares == (
        pytest.approx(split["train_matches"] / split["train_pairs"]),
        pytest.approx(data.train["label"].mean()),
    )
    assert shares[1] < shares[0]
    chosen_cut = info[False]["settings"]["threshold"]
    assert record["chosen_threshold"] == chosen_cut
    assert info[True]["settings"]["threshold"] == record["threshold"]
    assert record["threshold"] == pytest.approx(restated_threshold(chosen_cut, *shares))
    assert refitted.threshold == pytest.approx(restated_threshold(chosen.threshold, *shares))
    assert refitted.threshold < chosen.threshold
    # the validation figures: measured before the refit
    assert runs[True].metrics["head"] == runs[False].metrics["head"]
    # --no-refit: today's matcher, the head chosen on validation bit for bit
    assert not info[False]["refit"] and "refit" not in info[False]["metrics"]
    assert info[False]["final_pairs"] == info[False]["train_pairs"] == split["train_pairs"]
    assert _same(MatchHead.load(tmp_path / "refit-False" / HEAD_DIR), chosen)
    card = (tmp_path / "refit-True" / "README.md").read_text()
    assert f"trained again on {len(data.train)} pairs" in card


def test_given_split_has_nothing_to_refit(folder: Path, tiny_model: Path, tmp_path: Path) -> None:
    report = _head_matcher(folder, tmp_path / "given", tiny_model, valid_split="given")
    assert "refit" not in report.metrics


def test_cli_no_refit_flag(folder: Path, tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    args = ["train", str(folder), "-o", str(out), "--mode", "head", "--model", str(tiny_model)]
    result = runner.invoke(app, [*args, "--no-refit"])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "prodmatch.json").read_text())
    assert info["refit"] is False and "refit" not in info["metrics"]
    assert "refitted" not in result.output


def test_the_prior_regression_is_refitted_on_every_training_pair(
    folder: Path, tiny_model: Path, tmp_path: Path
) -> None:
    from prodmatch.train.prior_head import PriorConfig

    data = load_deepmatcher(folder)
    runs = {
        refit: _head_matcher(
            folder, tmp_path / f"prior-{refit}", tiny_model, head_config=PriorConfig(), refit=refit
        )
        for refit in (True, False)
    }
    record = runs[True].metrics["refit"]
    assert record["pairs"] == len(data.train) and record["classifier_epochs"] is None
    refitted = MatchHead.load(tmp_path / "prior-True" / HEAD_DIR)
    chosen = MatchHead.load(tmp_path / "prior-False" / HEAD_DIR)
    assert refitted.metadata["training"]["labels"] == len(data.train)  # saw every pair
    assert chosen.metadata["training"]["labels"] < len(data.train)  # the split's only
    shares = record["match_share_chosen_with"], record["match_share"]
    assert refitted.threshold == pytest.approx(restated_threshold(chosen.threshold, *shares))
    card = (tmp_path / "prior-True" / "README.md").read_text()
    assert "the prior regression: no epochs to carry over" in card
