"""No command writes over its own input: an output that is an input is refused up front."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from prodmatch.cli import app
from prodmatch.synth import generate_catalogs

runner = CliRunner()


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    world = generate_catalogs(10, seed=2)
    left, right = tmp_path / "abt.csv", tmp_path / "buy.csv"
    world.left.to_csv(left, index=False)
    world.right.to_csv(right, index=False)
    return left, right


def _refused(args: list[str | Path], *kept: Path) -> str:
    before = [path.read_bytes() for path in kept]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    assert [path.read_bytes() for path in kept] == before  # the inputs are untouched
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_match_refuses_to_write_over_an_input(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    left, right = inputs
    line = _refused(["match", left, right, "-o", right], left, right)
    assert "is the input" in line
    other_spelling = tmp_path / "sub" / ".." / "buy.csv"
    (tmp_path / "sub").mkdir()
    _refused(["match", left, right, "-o", other_spelling], left, right)
    link = tmp_path / "link.csv"
    link.symlink_to(left)
    _refused(["match", left, right, "-o", link], left, right)
    labels = tmp_path / "labels.csv"
    labels.write_text("ltable_id,rtable_id,label\n")
    args = ["match", left, right, "-o", labels, "--threshold", "auto", "--labels", labels]
    _refused(args, labels)


def test_a_work_folder_holding_an_input_is_refused(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    left, right = inputs
    line = _refused(
        ["match", left, right, "-o", tmp_path / "m.csv", "--work-dir", tmp_path], left, right
    )
    assert "work folder holds the input" in line


def test_dedupe_refuses_an_input_or_one_file_for_both_outputs(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    left, _ = inputs
    _refused(["dedupe", left, "-o", left], left)
    out = tmp_path / "out.csv"
    line = _refused(["dedupe", left, "-o", out, "--pairs-output", out], left)
    assert "two different outputs" in line
    _refused(["dedupe", left, "-o", out, "--pairs-output", left], left)


def test_train_refuses_an_input_as_its_output(inputs: tuple[Path, Path]) -> None:
    left, right = inputs
    _refused(["train", "--left", left, "--right", right, "--loss", "selfsup", "-o", left], left)
