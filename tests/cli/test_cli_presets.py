"""`--preset` and `--device` on the command line: a preset picks the encoder unless a model is
named, and both land in the run's settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from prodmatch.cli import app
from prodmatch.errors import ProdmatchError
from prodmatch.settings import MatchSettings

runner = CliRunner()
STOP = "stopped where the pipeline starts"


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[MatchSettings]:
    captured: list[MatchSettings] = []

    class Recorder:
        def __init__(self, settings: MatchSettings, **_: Any) -> None:
            captured.append(settings)
            raise ProdmatchError(STOP)

    monkeypatch.setattr("prodmatch.linker.Linker", Recorder)
    return captured


@pytest.fixture
def match(tmp_path: Path) -> list[str]:
    left, right = tmp_path / "left.csv", tmp_path / "right.csv"
    left.write_text("id,title\na1,red kettle 1.7l\n")
    right.write_text("id,title\nb1,kettle red 1.7 l\n")
    return ["match", str(left), str(right), "-o", str(tmp_path / "out.csv")]


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_a_preset_picks_the_encoder(seen: list[MatchSettings], match: list[str]) -> None:
    _run(*match)
    assert (seen[-1].model, seen[-1].preset) == ("all-MiniLM-L6-v2", None)
    _run(*match, "--preset", "accurate")
    assert (seen[-1].model, seen[-1].preset) == ("all-mpnet-base-v2", "accurate")
    _run(*match, "--preset", "fast")
    assert seen[-1].model == "all-MiniLM-L6-v2"


def test_a_named_model_wins_and_the_run_says_so(
    seen: list[MatchSettings], match: list[str], tmp_path: Path
) -> None:
    code, output = _run(*match, "--preset", "accurate", "--model", "all-MiniLM-L6-v2")
    assert seen[-1].model == "all-MiniLM-L6-v2" and code == 2
    assert "a named model wins over --preset accurate (all-mpnet-base-v2)" in output
    file = tmp_path / "run.json"
    file.write_text(json.dumps({"preset": "accurate"}), encoding="utf-8")
    _run(*match, "--settings", str(file))
    assert seen[-1].model == "all-mpnet-base-v2"


def test_dedupe_train_and_evaluate_take_the_preset(
    seen: list[MatchSettings], match: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run("dedupe", match[1], "-o", str(tmp_path / "c.csv"), "--preset", "accurate")
    assert seen[-1].model == "all-mpnet-base-v2"
    gold = tmp_path / "gold.csv"
    gold.write_text("left_id,right_id\na1,b1\n")
    _run("evaluate", "linkage", match[1], match[2], "--gold", str(gold), "--preset", "accurate")
    assert seen[-1].model == "all-mpnet-base-v2"

    trained: list[MatchSettings] = []

    def record(*_: Any, settings: MatchSettings, **__: Any) -> None:
        trained.append(settings)
        raise ProdmatchError(STOP)

    monkeypatch.setattr("prodmatch.train.api.train_matcher", record)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("ltable_id,rtable_id,label\na1,b1,1\n")
    args = ["train", "--left", match[1], "--right", match[2], "--pairs", str(pairs)]
    code, output = _run(*args, "--preset", "accurate", "--device", "cpu", "-o", str(tmp_path / "m"))
    assert code == 2 and STOP in output, output
    assert (trained[-1].model, trained[-1].device) == ("all-mpnet-base-v2", "cpu")


def test_device_cuda_without_cuda_is_one_line(
    seen: list[MatchSettings], match: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, output = _run(*match, "--device", "cuda")
    assert code == 2 and "torch sees no CUDA GPU" in output and "Traceback" not in output
    assert not seen  # refused before any work
    _run(*match, "--device", "cpu")
    assert seen[-1].device == "cpu"
