"""A damaged file in a work folder ends a resumed run in one line naming it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from prodmatch.cli import app
from prodmatch.synth import generate_catalogs

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("stream")
    world = generate_catalogs(60, seed=5)
    left, right = folder / "left.csv", folder / "right.parquet"
    world.left.to_csv(left, index=False)
    world.right.to_parquet(right, index=False)
    return left, right


@pytest.mark.parametrize("scorer", ["hybrid", "dense"])
def test_a_damaged_parquet_part_is_one_line(
    tmp_path: Path, files: tuple[Path, Path], tiny_model: Path, scorer: str
) -> None:
    work = tmp_path / "work"
    args = [
        "match", *map(str, files), "-o", str(tmp_path / "m.csv"), "--work-dir", str(work),
        "--model", str(tiny_model), "--scorer", scorer, "--chunk-rows", "25", "--k", "3",
    ]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    for part in (work / "candidates" / "00001.parquet", work / "left" / "parts" / "00000.parquet"):
        part.write_bytes(part.read_bytes()[:100])  # truncated, as by a full disk
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        lines = [line for line in result.output.strip().splitlines() if "error" in line]
        assert len(lines) == 1 and "Traceback" not in result.output, result.output
        assert f"{part}: damaged work file" in lines[0]
        part.unlink()
        if "candidates" in part.parts:  # a lost candidates part is simply redone
            assert runner.invoke(app, args).exit_code == 0


def test_an_old_work_folder_with_the_codes_column_resumes_with_code_agreement(
    tmp_path: Path, files: tuple[Path, Path], tiny_model: Path
) -> None:
    """Candidates parts written before `codes` was named `code_agreement` are read with the
    new name: the resumed run gives the same matches, the column included."""
    work = tmp_path / "work"
    args = [
        "match", *map(str, files), "-o", str(tmp_path / "m.csv"), "--work-dir", str(work),
        "--model", str(tiny_model), "--chunk-rows", "25", "--k", "3",
    ]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    fresh = pd.read_csv(tmp_path / "m.csv")
    assert "code_agreement" in fresh and (fresh["code_agreement"] != 0).any()
    parts = sorted((work / "candidates").glob("*.parquet"))
    assert parts
    for part in parts:  # as an earlier version wrote them
        pd.read_parquet(part).rename(columns={"code_agreement": "codes"}).to_parquet(part)
    (tmp_path / "m.csv").unlink()
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "m.csv"), fresh)
