"""`prodmatch spark match` end to end: its output folder, a rerun into it, a foreign folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from prodmatch.cli import app
from prodmatch.synth import generate_catalogs

pytestmark = pytest.mark.spark


def test_a_rerun_into_the_same_output_gives_the_same_matches(
    spark: Any, tiny_model: Path, tmp_path: Path
) -> None:
    world = generate_catalogs(60, seed=2)
    left, right = tmp_path / "left.csv", tmp_path / "right.parquet"
    world.left.to_csv(left, index=False)
    world.right.to_parquet(right, index=False)
    out = tmp_path / "matches.parquet"
    args = ["spark", "match", str(left), str(right), "--output", str(out)]
    args += ["--model", str(tiny_model), "--engine", "torch", "--k", "5"]
    runner = CliRunner()
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    before = pd.read_parquet(out)
    assert len(before) > 20
    assert list(before.columns[:5]) == ["left_id", "right_id", "score", "rank", "decision"]
    run = json.loads((out / "_prodmatch.json").read_text())
    assert run["report"]["left_rows"] == len(world.left)
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    pd.testing.assert_frame_equal(pd.read_parquet(out), before)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".matches")]


def test_a_folder_prodmatch_did_not_write_is_never_overwritten(
    spark: Any, tiny_model: Path, tmp_path: Path
) -> None:
    left = tmp_path / "left.csv"
    pd.DataFrame({"id": ["a"], "title": ["x"]}).to_csv(left, index=False)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    args = ["spark", "match", str(left), str(left), "-o", str(mine), "--model", str(tiny_model)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "exists and was not written by prodmatch" in result.output
    assert (mine / "notes.txt").read_text() == "keep"
