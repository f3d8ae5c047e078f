"""train_matcher end to end: the folder it writes, and every command reading it back."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from prodmatch.cli import app
from prodmatch.data import load_deepmatcher
from prodmatch.decide import best_threshold
from prodmatch.errors import ProdmatchError
from prodmatch.evaluate import evaluate_pairs
from prodmatch.linker import Linker
from prodmatch.matcher import is_matcher, matcher_settings
from prodmatch.settings import MatchSettings
from prodmatch.synth import generate_catalogs
from prodmatch.train.api import train_matcher
from prodmatch.train.fine_tune import FineTuneConfig
from prodmatch.train.refit import KEPT

runner = CliRunner()


@pytest.fixture(scope="module")
def folder(deepmatcher_folder: Callable[[int, int], Path]) -> Path:
    return deepmatcher_folder(200, 4)


def test_head_mode_writes_a_self_describing_folder_that_scores_better(
    folder: Path, tiny_model: Path, tmp_path: Path
) -> None:
    data = load_deepmatcher(folder)
    out = tmp_path / "matcher"
    report = train_matcher(
        data.left,
        data.right,
        data.train,
        data.valid,
        out,
        mode="head",
        settings=MatchSettings(model=str(tiny_model)),
        progress=False,
    )
    assert is_matcher(out)
    for name in ("prodmatch.json", "README.md", "encoder/config.json", "head/head.json"):
        assert (out / name).is_file(), name
    assert not list(out.rglob("*.bin")) and not list(out.rglob("*.pkl"))
    info = json.loads((out / "prodmatch.json").read_text())
    assert info["settings"]["scorer"] == "learned" and info["mode"] == "head"
    assert not out.with_name("matcher.partial").exists()
    # the folder round-trips: its settings load, and test F1 beats the untrained encoder's
    trained = evaluate_pairs(data, Linker(matcher_settings(out), progress=False))
    untrained = evaluate_pairs(
        data, Linker(MatchSettings(model=str(tiny_model), scorer="dense"), progress=False)
    )
    assert trained.f1 > untrained.f1 + 0.1
    assert report.metrics["head"]["f1"] > 0.5


def test_full_mode_with_selfsup_needs_no_labels(
    folder: Path, tiny_model: Path, tmp_path: Path
) -> None:
    data = load_deepmatcher(folder)
    out = tmp_path / "selfsup"
    config = FineTuneConfig(loss="selfsup", epochs=1, batch_size=16, max_seq_length=32)
    train_matcher(
        data.left,
        data.right,
        None,
        None,
        out,
        mode="full",
        settings=MatchSettings(model=str(tiny_model)),
        fine_tune_config=config,
        progress=False,
    )
    settings = matcher_settings(out)
    assert settings.scorer == "hybrid" and settings.max_seq_length == 32
    assert (out / "encoder" / "model.safetensors").is_file()
    pairs = Linker(settings, progress=False).match(data.left, data.right)
    assert pairs["decision"].any()


def test_cli_train_then_match_and_evaluate_with_the_matcher(
    folder: Path, tiny_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m"
    result = runner.invoke(
        app,
        [
            "train",
            str(folder),
            "-o",
            str(out),
            "--mode",
            "full",
            "--loss",
            "infonce",
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--max-seq-length",
            "32",
            "--model",
            str(tiny_model),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "validation F1" in result.output
    # full mode: the head is refitted on every training pair, the encoder is not
    refit = json.loads((out / "prodmatch.json").read_text())["metrics"]["refit"]
    assert refit["pairs"] == len(load_deepmatcher(folder).train)
    assert "refitted the classifier" in result.output and "for the epochs chosen" in result.output
    matches = tmp_path / "matches.csv"
    data = load_deepmatcher(folder)
    data.left.records.reset_index().to_csv(tmp_path / "a.csv", index=False)
    data.right.records.reset_index().to_csv(tmp_path / "b.csv", index=False)
    result = runner.invoke(
        app,
        [
            "match",
            str(tmp_path / "a.csv"),
            str(tmp_path / "b.csv"),
            "-o",
            str(matches),
            "--model",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(matches)) > 0
    report = tmp_path / "r.json"
    result = runner.invoke(
        app, ["evaluate", "pairs", str(folder), "--model", str(out), "--json", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text())["scorer"] == "learned"


def test_cli_train_without_labels_for_a_supervised_loss_is_one_line(tmp_path: Path) -> None:
    world = generate_catalogs(20, seed=1)
    world.left.to_csv(tmp_path / "a.csv", index=False)
    world.right.to_csv(tmp_path / "b.csv", index=False)
    result = runner.invoke(
        app,
        [
            "train",
            "--left",
            str(tmp_path / "a.csv"),
            "--right",
            str(tmp_path / "b.csv"),
            "-o",
            str(tmp_path / "m"),
        ],
    )
    assert result.exit_code == 2
    assert "needs labelled training pairs" in result.output


def test_learned_scorer_without_a_matcher_is_a_clear_error(tiny_model: Path) -> None:
    with pytest.raises(ProdmatchError, match="trained matcher folder"):
        Linker(MatchSettings(model=str(tiny_model), scorer="learned"))


def test_cross_encoder_is_trained_last_saved_in_cross_and_read_back(
    folder: Path, tiny_model: Path, tmp_path: Path
) -> None:
    from prodmatch.stream import StreamMatcher
    from prodmatch.train.cross_trainer import CrossTrainingConfig

    data = load_deepmatcher(folder)
    out = tmp_path / "cross-matcher"
    report = train_matcher(
        data.left,
        data.right,
        data.train,
        data.valid,
        out,
        mode="head",
        settings=MatchSettings(model=str(tiny_model)),
        cross_config=CrossTrainingConfig(epochs=1, batch_size=32, max_seq_length=32),
        progress=False,
        valid_split="given",  # the blend is chosen on data.valid, re-scored below
    )
    for name in ("cross/cross.json", "cross/blend.json", "cross/head.safetensors"):
        assert (out / name).is_file(), name
    assert not list(out.rglob("*.bin"))
    cross = report.metrics["cross_encoder"]
    assert cross["epochs_run"] == 1 and set(cross["blend"]) == {
        "head",
        "cross",
        "bias",
        "settled_cross",
    }
    info = json.loads((out / "prodmatch.json").read_text())
    assert info["cross_encoder"]["epochs"] == 1
    # the blend's threshold on the validation pairs gives way to the one chosen on the
    # validation listings' candidates, as matching will decide (the blended scores)
    end_to_end = info["metrics"]["end_to_end"]
    assert end_to_end["pair_list_threshold"] == pytest.approx(cross["threshold"])
    assert info["settings"]["threshold"] == pytest.approx(end_to_end["threshold"])
    assert "cross-encoder" in (out / "README.md").read_text()
    linker = Linker(matcher_settings(out), progress=False)
    assert linker.reranker is not None
    # prepared as in training, the matcher's valid scores are the blended ones it chose on
    needed = pd.concat([data.train, data.valid])
    sides = linker.prepare(
        data.left.select(list(dict.fromkeys(needed["left_id"]))),
        data.right.select(list(dict.fromkeys(needed["right_id"]))),
    )
    scores = linker.score_id_pairs(*sides, data.valid)
    assert best_threshold(scores, data.valid["label"])[1] == pytest.approx(cross["blend_f1"])
    # on the unseen test pairs, the matcher beats the encoder it started from
    untrained = evaluate_pairs(
        data, Linker(MatchSettings(model=str(tiny_model), scorer="dense"), progress=False)
    )
    trained = evaluate_pairs(data, linker)
    assert trained.f1 > untrained.f1 + 0.1, (trained.f1, untrained.f1)
    with pytest.raises(ProdmatchError, match="cross-encoders"):
        StreamMatcher(tmp_path / "work", matcher_settings(out), progress=False)


def test_cli_train_with_cross_encoder(folder: Path, tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    args = ["train", str(folder), "-o", str(out), "--mode", "head", "--model", str(tiny_model)]
    cross = ["--cross-encoder", "--cross-epochs", "1", "--classifier", "mlp"]
    result = runner.invoke(app, [*args, *cross])
    assert result.exit_code == 0, result.output
    assert "with the cross-encoder" in result.output
    assert (out / "cross" / "blend.json").is_file()
    # the MLP head is refitted; the threshold cuts the blend fitted on the head chosen: kept
    info = json.loads((out / "prodmatch.json").read_text())
    refit = info["metrics"]["refit"]
    assert refit["threshold_how"] == KEPT and refit["threshold"] == refit["chosen_threshold"]
    assert info["settings"]["threshold"] == info["metrics"]["end_to_end"]["threshold"]


def test_cli_train_keeps_a_users_folder(folder: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    result = runner.invoke(app, ["train", str(folder), "-o", str(mine), "--overwrite"])
    assert result.exit_code == 2, result.output
    assert "not a prodmatch matcher" in result.output and len(result.output.splitlines()) == 1
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    assert (mine / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / "mine.partial").exists()  # refused before any work
    # training's scratch folder beside the output: one of the user's by that name is kept too
    scratch = tmp_path / "new.partial"
    scratch.mkdir()
    (scratch / "notes.txt").write_text("keep me")
    result = runner.invoke(app, ["train", str(folder), "-o", str(tmp_path / "new")])
    assert result.exit_code == 2 and "not prodmatch's work in progress" in result.output
    assert sorted(p.name for p in scratch.iterdir()) == ["notes.txt"]


def test_head_mode_names_a_packaged_encoder_and_overwrite_replaces_a_matcher(
    folder: Path, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A head-mode matcher on a packaged encoder refers to it instead of copying its weights
    (89 MB for MiniLM), and scores exactly as the same matcher with the encoder copied in."""
    import sys
    import types

    from prodmatch.encode import models

    package = types.ModuleType("tiny_packaged_model")
    package.get_model_path = lambda: str(tiny_model)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tiny_packaged_model", package)
    monkeypatch.setitem(models._PACKAGED, "tiny-packaged", ("tiny_packaged_model", "tiny"))
    out = tmp_path / "m"
    old = runner.invoke(app, ["train", str(folder), "-o", str(out), "--mode", "head",
                              "--model", "tiny-packaged"])  # fmt: skip
    assert old.exit_code == 0, old.output
    (out / "cross").mkdir()  # a part of the old matcher the new one lacks
    args = ["train", str(folder), "-o", str(out), "--mode", "head", "--model", "tiny-packaged"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "--overwrite" in refused.output
    assert (out / "cross").is_dir()
    result = runner.invoke(app, [*args, "--overwrite"])
    assert result.exit_code == 0, result.output
    assert not (out / "cross").exists()

    info = json.loads((out / "prodmatch.json").read_text())
    assert info["packaged_encoder"] == "tiny-packaged"
    assert not (out / "encoder").exists()
    found = sorted(p.parent.name for p in out.rglob("*.safetensors"))
    assert found == ["head", "head", "lexical"]  # no encoder weights
    settings = matcher_settings(out)
    assert Linker(settings, progress=False).encoder.path == tiny_model.resolve()

    copied = tmp_path / "copied"
    shutil.copytree(out, copied)
    shutil.copytree(tiny_model, copied / "encoder")
    data = load_deepmatcher(folder)
    scores = []
    for matcher in (out, copied):
        linker = Linker(matcher_settings(matcher), progress=False)
        left, right = linker.prepare(data.left, data.right)
        scores.append(linker.score_id_pairs(left, right, data.valid))
    assert (scores[0] == scores[1]).all() and len(scores[0]) == len(data.valid)
