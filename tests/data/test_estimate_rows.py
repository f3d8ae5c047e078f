"""Progress totals (the streamed run, registry load): the estimated rows equal the rows read."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from prodmatch.data.chunks import estimate_rows, read_catalog_chunks


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("final-newline.csv", "id|title\n1|a\n2|b\n3|c\n"),
        ("no-final-newline.csv", "id|title\n1|a\n2|b\n3|c"),  # as buy.csv: gave 3/2
        ("crlf.csv", "id|title\r\n1|a\r\n2|b\r\n3|c"),
        ("rows.jsonl", '{"id": 1, "title": "a"}\n{"id": 2, "title": "b"}\n{"id": 3, "title": "c"}'),
    ],
)
def test_estimated_rows_equal_the_rows_read(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_bytes(text.encode())
    read = sum(len(chunk) for chunk in read_catalog_chunks(path, rows=2))
    assert read == 3
    assert estimate_rows(path) == read


def test_parquet_rows_come_from_its_metadata(tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    pd.DataFrame({"id": ["1", "2"], "title": ["a", "b"]}).to_parquet(path)
    assert estimate_rows(path) == 2
