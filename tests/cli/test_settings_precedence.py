"""Which value a run uses: an option typed > the settings file > the matcher's > the default.

Each command's settings are captured where the pipeline would start (a stand-in Linker that
records them and stops), so every level is checked through the real command line without
encoding anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from prodmatch.cli import app
from prodmatch.errors import ProdmatchError
from prodmatch.matcher import MATCHER_FILE, MATCHER_FORMAT
from prodmatch.settings import MatchSettings

runner = CliRunner()
STOP = "stopped where the pipeline starts"


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[MatchSettings]:
    """The settings each Linker was built with; building one ends the command.

    The constructor is patched, not the name: a module first imported while the name was
    patched would keep the stand-in after the test (it broke later tests of `train`)."""
    from prodmatch.linker import Linker

    captured: list[MatchSettings] = []

    def record(self: Linker, settings: MatchSettings, *_: Any, **__: Any) -> None:
        captured.append(settings)
        raise ProdmatchError(STOP)

    monkeypatch.setattr(Linker, "__init__", record)
    return captured


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    left, right, gold = tmp_path / "left.csv", tmp_path / "right.csv", tmp_path / "gold.csv"
    left.write_text("id,title\na1,red kettle 1.7l\na2,blue toaster\n")
    right.write_text("id,title\nb1,kettle red 1.7 l\nb2,toaster blue\n")
    gold.write_text("left_id,right_id\na1,b1\n")
    matcher = tmp_path / "matcher"
    matcher.mkdir()
    trained = {"model": ".", "k": 7, "assignment": "best", "threshold": 0.61, "engine": "onnx"}
    (matcher / MATCHER_FILE).write_text(
        json.dumps({"format": MATCHER_FORMAT, "settings": trained}), encoding="utf-8"
    )
    settings = tmp_path / "run.json"
    settings.write_text(json.dumps({"k": 5, "assignment": "all"}), encoding="utf-8")
    return {"left": left, "right": right, "gold": gold, "matcher": matcher, "settings": settings}


def _settings_of(seen: list[MatchSettings], *args: str | Path) -> MatchSettings:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 2 and STOP in result.output, result.output
    return seen[-1]


def _commands(files: dict[str, Path], out: Path) -> dict[str, list[str | Path]]:
    return {
        "match": ["match", files["left"], files["right"], "-o", out],
        "linkage": [
            "evaluate",
            "linkage",
            files["left"],
            files["right"],
            "--gold",
            files["gold"],
        ],
    }


@pytest.mark.parametrize("command", ["match", "linkage"])
def test_each_level_of_settings_wins_over_the_ones_below(
    seen: list[MatchSettings], files: dict[str, Path], tmp_path: Path, command: str
) -> None:
    args = _commands(files, tmp_path / "out.csv")[command]
    matcher = ["--model", files["matcher"]]
    file = ["--settings", files["settings"]]

    default = _settings_of(seen, *args)
    assert (default.k, default.assignment, default.threshold) == (20, "one-to-one", None)

    trained = _settings_of(seen, *args, *matcher)
    assert (trained.k, trained.assignment, trained.threshold) == (7, "best", 0.61)
    assert trained.model == str(files["matcher"].resolve())

    filed = _settings_of(seen, *args, *matcher, *file)
    # the file's keys win; the keys it does not name stay the matcher's
    assert (filed.k, filed.assignment, filed.threshold, filed.engine) == (5, "all", 0.61, "onnx")

    typed = _settings_of(seen, *args, *matcher, *file, "--assign", "one-to-one")
    assert (typed.assignment, typed.k) == ("one-to-one", 5)
    if command == "match":
        typed = _settings_of(seen, *args, *matcher, *file, "--k", "3", "--threshold", "0.2")
        assert (typed.k, typed.threshold, typed.assignment) == (3, 0.2, "all")


def test_a_settings_file_naming_a_matcher_brings_its_settings(
    seen: list[MatchSettings], files: dict[str, Path], tmp_path: Path
) -> None:
    named = tmp_path / "named.json"
    named.write_text(json.dumps({"model": str(files["matcher"]), "k": 9}), encoding="utf-8")
    args = _commands(files, tmp_path / "out.csv")["match"]
    settings = _settings_of(seen, *args, "--settings", named)
    assert (settings.k, settings.assignment, settings.threshold) == (9, "best", 0.61)
    assert settings.model == str(files["matcher"].resolve())


def test_dedupe_and_evaluate_pairs_merge_the_same_way(
    seen: list[MatchSettings], files: dict[str, Path], tmp_path: Path
) -> None:
    dedupe = ["dedupe", files["left"], "-o", tmp_path / "c.csv", "--model", files["matcher"]]
    assert _settings_of(seen, *dedupe).threshold == 0.61
    assert _settings_of(seen, *dedupe, "--settings", files["settings"]).k == 5
    # dedupe's --threshold is its own dedup threshold, not the settings' linking threshold
    assert _settings_of(seen, *dedupe, "--threshold", "0.3").threshold == 0.61

    from prodmatch.synth import generate_catalogs, generate_pairs, write_deepmatcher

    world = generate_catalogs(30, seed=1)
    write_deepmatcher(world, generate_pairs(world, seed=1), tmp_path / "dm")
    pairs = ["evaluate", "pairs", tmp_path / "dm", "--model", files["matcher"]]
    assert _settings_of(seen, *pairs).engine == "onnx"
    assert _settings_of(seen, *pairs, "--engine", "torch").engine == "torch"


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_a_preset_picks_the_encoder_unless_a_model_is_named(
    seen: list[MatchSettings], files: dict[str, Path], tmp_path: Path
) -> None:
    match = _commands(files, tmp_path / "out.csv")["match"]
    assert (_settings_of(seen, *match).model, seen[-1].preset) == ("all-MiniLM-L6-v2", None)
    accurate = _settings_of(seen, *match, "--preset", "accurate")
    assert (accurate.model, accurate.preset) == ("all-mpnet-base-v2", "accurate")
    assert _settings_of(seen, *match, "--preset", "fast").model == "all-MiniLM-L6-v2"

    code, output = _run(*match, "--preset", "accurate", "--model", "all-MiniLM-L6-v2")
    assert seen[-1].model == "all-MiniLM-L6-v2" and code == 2
    assert "a named model wins over --preset accurate (all-mpnet-base-v2)" in output
    named = _settings_of(seen, *match, "--preset", "accurate", "--model", files["matcher"])
    assert named.model == str(files["matcher"].resolve())  # a matcher brings its own encoder
    file = tmp_path / "preset.json"
    file.write_text(json.dumps({"preset": "accurate"}), encoding="utf-8")
    assert _settings_of(seen, *match, "--settings", file).model == "all-mpnet-base-v2"
    # a matcher trained with a preset records it; using the matcher repeats no line about it
    info = json.loads((files["matcher"] / MATCHER_FILE).read_text(encoding="utf-8"))
    info["settings"]["preset"] = "accurate"
    (files["matcher"] / MATCHER_FILE).write_text(json.dumps(info), encoding="utf-8")
    code, output = _run(*match, "--model", files["matcher"])
    assert seen[-1].preset == "accurate" and "wins over" not in output, output


def test_dedupe_train_and_evaluate_take_the_preset_and_the_device(
    seen: list[MatchSettings],
    files: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dedupe = ["dedupe", files["left"], "-o", tmp_path / "c.csv", "--preset", "accurate"]
    assert _settings_of(seen, *dedupe, "--device", "cpu").model == "all-mpnet-base-v2"
    assert seen[-1].device == "cpu"
    linkage = _commands(files, tmp_path / "out.csv")["linkage"]
    assert _settings_of(seen, *linkage, "--preset", "accurate").model == "all-mpnet-base-v2"

    trained: list[MatchSettings] = []

    def record(*_: Any, settings: MatchSettings, **__: Any) -> None:
        trained.append(settings)
        raise ProdmatchError(STOP)

    monkeypatch.setattr("prodmatch.train.api.train_matcher", record)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("ltable_id,rtable_id,label\na1,b1,1\n")
    train = ["train", "--left", files["left"], "--right", files["right"], "--pairs", pairs]
    code, output = _run(*train, "--preset", "accurate", "--device", "cpu", "-o", tmp_path / "m")
    assert code == 2 and STOP in output, output
    assert (trained[-1].model, trained[-1].device) == ("all-mpnet-base-v2", "cpu")


def test_device_cuda_without_cuda_is_one_line_before_any_work(
    seen: list[MatchSettings],
    files: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, output = _run(*_commands(files, tmp_path / "out.csv")["match"], "--device", "cuda")
    assert code == 2 and "torch sees no CUDA GPU" in output and "Traceback" not in output
    assert not seen  # refused before a Linker was built
