"""`match --decision`: the threshold line says which threshold was used and why."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from prodmatch.cli import app
from prodmatch.synth import generate_catalogs, write_catalogs

runner = CliRunner()
LEXICAL = ("--scorer", "tfidf", "--retrieval", "sparse", "--columns", "title,brand")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_catalogs(generate_catalogs(300, seed=11), tmp_path_factory.mktemp("decision"))


def _match(world: dict[str, Path], out: Path, *options: str) -> str:
    args = ["match", str(world["left"]), str(world["right"]), "-o", str(out), *LEXICAL, *options]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_calibrated_by_default_names_the_estimated_share(
    world: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "m.csv"
    output = _match(world, out)  # the default
    pattern = r"threshold (\d\.\d{4}): calibrated on these catalogs \(estimated (\d+)%"
    line = re.search(pattern, output)
    assert line is not None, output
    left = pd.read_csv(world["left"], dtype=str)
    gold = pd.read_csv(world["gold"], dtype=str)
    true_share = gold["left_id"].nunique() / len(left)
    assert abs(int(line.group(2)) / 100 - true_share) < 0.15
    matches = pd.read_csv(out, dtype={"left_id": str, "right_id": str})
    assert matches["score"].min() >= float(line.group(1)) - 1e-4
    assert matches["probability"].between(0, 1).all()
    # higher scores never get a lower probability
    ordered = matches.sort_values("score")
    assert (ordered["probability"].diff().dropna() >= -1e-4).all()


def test_decision_fixed_uses_the_scorer_default(world: dict[str, Path], tmp_path: Path) -> None:
    output = _match(world, tmp_path / "m.csv", "--decision", "fixed")
    assert "threshold 0.3700: the default of the tfidf scorer (--decision fixed)" in output
    assert "probability" in pd.read_csv(tmp_path / "m.csv").columns  # estimated all the same
    given = _match(world, tmp_path / "g.csv", "--threshold", "0.5", "--decision", "calibrated")
    assert "threshold 0.5000: given (--threshold)" in given


def test_settings_file_carries_the_decision(world: dict[str, Path], tmp_path: Path) -> None:
    settings = tmp_path / "s.json"
    settings.write_text(json.dumps({"decision": "fixed"}))
    output = _match(world, tmp_path / "m.csv", "--settings", str(settings))
    assert "the default of the tfidf scorer (--decision fixed)" in output
