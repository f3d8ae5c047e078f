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


def _chunk_error(path: Path, rows: int = 2) -> str:
    with pytest.raises(InputError) as error:
        list(read_catalog_chunks(path, rows=rows))
    return str(error.value)


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_a_missing_id_column_is_one_line_naming_file_and_column(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"catalog{suffix}"
    frame = _frame(5).rename(columns={"id": "sku"})
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
    message = _chunk_error(path)
    assert message.startswith(f"{path}, column 'id': id column not found; columns found: 'sku'")
    assert "\n" not in message


def test_duplicate_ids_across_parquet_and_jsonl_chunks_name_both_places(tmp_path: Path) -> None:
    frame = _frame(7)
    frame.loc[6, "id"] = "p1"
    frame.to_parquet(tmp_path / "a.parquet", index=False)
    frame.to_json(tmp_path / "a.jsonl", orient="records", lines=True)
    assert _chunk_error(tmp_path / "a.parquet", rows=3) == (
        f"{tmp_path / 'a.parquet'}, row 7, column 'id': duplicate id 'p1' (also on row 2)"
    )
    assert _chunk_error(tmp_path / "a.jsonl", rows=3) == (
        f"{tmp_path / 'a.jsonl'}, line 7, column 'id': duplicate id 'p1' (also on line 2)"
    )


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_bad_bytes_name_the_line_and_file_offset_even_far_into_the_file(
    tmp_path: Path, bom: bytes
) -> None:
    # far past the reader's first block, with a two-byte character cut by a block boundary
    body = b"".join(b"%d,caf\xc3\xa9 item %d\n" % (i, i) for i in range(20_000))
    data = bom + b"id,title\n" + body + b"x,caf\xe9\n"
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    message = _chunk_error(path, rows=1000)
    offset = data.index(b"\xe9")
    assert message.startswith(f"{path}, line 20002: cannot decode as UTF-8")
    assert f"byte 0xe9 at byte offset {offset}" in message
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_bytes(b'{"id": "1"}\n{"id": "2", "title": "\xff"}\n')
    assert _chunk_error(jsonl).startswith(f"{jsonl}, line 2: cannot decode as UTF-8: byte 0xff")


def test_a_parquet_binary_cell_that_is_not_utf8_names_row_and_column(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "a.parquet"
    titles = pa.array([b"ok", b"fine", b"caf\xe9"], pa.binary())
    pq.write_table(pa.table({"id": ["a", "b", "c"], "title": titles}), path)
    assert _chunk_error(path) == (
        f"{path}, row 3, column 'title': not valid UTF-8: byte 0xe9 at byte 3 of the value"
    )
