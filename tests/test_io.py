from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from prodmatch.errors import ProdmatchError
from prodmatch.io import atomic_path, atomic_write_text, write_table

FRAME = pd.DataFrame({"left_id": ["a", "b"], "right_id": ["1", "2"], "score": [0.9, 0.5]})


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".jsonl"])
def test_tables_round_trip(tmp_path: Path, suffix: str) -> None:
    path = write_table(FRAME, tmp_path / f"out{suffix}")
    if suffix == ".parquet":
        back = pd.read_parquet(path)
    elif suffix == ".jsonl":
        back = pd.read_json(path, lines=True, dtype={"left_id": str, "right_id": str})
    else:
        back = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype={"right_id": str})
    pd.testing.assert_frame_equal(back, FRAME)


def test_unknown_format_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProdmatchError, match=r"cannot write '\.xlsx'"):
        write_table(FRAME, tmp_path / "out.xlsx")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "keep.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old\n"
    assert list(tmp_path.iterdir()) == [target]


def test_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ProdmatchError, match="cannot write here"):
        write_table(FRAME, blocker / "out.csv")  # a file where a folder should be


def test_atomic_writes_get_ordinary_permissions(tmp_path: Path) -> None:
    """mkstemp's private 0600 must not leak into files users share (outputs, models)."""
    import os
    import stat

    umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.txt"
        atomic_write_text(fresh, "x")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        kept = tmp_path / "kept.txt"
        kept.write_text("old")
        kept.chmod(0o640)
        atomic_write_text(kept, "new")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "new"
    finally:
        os.umask(umask)
