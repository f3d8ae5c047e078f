from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from prodmatch.data import load_catalog
from prodmatch.data.chunks import read_catalog_chunks
from prodmatch.errors import InputError


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(n)],
            "title": [
                f'item {i}, "quoted"\nsecond line' if i % 5 == 0 else f"item {i}" for i in range(n)
            ],
            "price": [str(i) if i % 3 else "" for i in range(n)],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_chunks_concatenate_to_the_whole_catalog(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"catalog{suffix}"
    frame = _frame(23)
    if suffix == ".csv":
        frame.to_csv(path, index=False, sep="|")
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
    chunks = list(read_catalog_chunks(path, rows=5))
    assert [len(c) for c in chunks] == [5, 5, 5, 5, 3]
    whole = load_catalog(path)
    joined = pd.concat([c.records for c in chunks])
    pd.testing.assert_frame_equal(joined, whole.records)


def test_a_duplicate_id_in_a_later_chunk_names_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("id,title\na,x\nb,y\nc,z\na,again\n")
    with pytest.raises(InputError) as error:
        list(read_catalog_chunks(path, rows=2))
    message = str(error.value)
    assert "duplicate id 'a'" in message and "line 2" in message and "line 5" in message


def test_a_bad_row_names_its_physical_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text('id,title\na,"two\nlines"\nb,y\nc,z,extra\n')
    chunks = read_catalog_chunks(path, rows=1)
    assert next(chunks).records.loc["a", "title"] == "two\nlines"
    assert len(next(chunks)) == 1
    with pytest.raises(InputError, match=r"line 5.*expected 2 fields"):
        next(chunks)


def test_an_empty_catalog_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("id,title\n")
    with pytest.raises(InputError, match="no rows"):
        list(read_catalog_chunks(path))
