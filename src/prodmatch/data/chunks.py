"""Catalogs read a chunk of rows at a time, for files too large to hold in memory at once.

Each chunk is checked exactly as :func:`~prodmatch.data.catalog.load_catalog` checks a whole
file (header, field counts, ids, requested columns) and errors name the file and the physical
line (text files) or row (Parquet). Ids must be unique across the whole file, so the reader
remembers every id it has seen: a few tens of bytes per listing, the one thing that grows.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from prodmatch.data.catalog import (
    _FIELD_LIMIT,
    _PANDAS_INDEX_PREFIX,
    JSONL_SUFFIXES,
    PARQUET_SUFFIXES,
    Catalog,
    _add_record,
    _build_catalog,
    _check_file,
    _json_object,
    _resolve_sep,
    _Table,
)
from prodmatch.errors import InputError

__all__ = ["DEFAULT_CHUNK_ROWS", "estimate_rows", "read_catalog_chunks"]

# Listings per chunk of a streamed run: small enough that a chunk's texts, vectors and
# candidates stay a few hundred MB, large enough that per-chunk overheads do not show.
DEFAULT_CHUNK_ROWS = 20_000


def read_catalog_chunks(
    path: Path,
    *,
    rows: int = DEFAULT_CHUNK_ROWS,
    sep: str | None = None,
    id_col: str = "id",
    columns: Sequence[str] | None = None,
    encoding: str | None = None,
    name: str | None = None,
) -> Iterator[Catalog]:
    """Yield the catalog in `path` as catalogs of at most `rows` listings, in file order."""
    if rows < 1:
        raise InputError(f"chunk rows must be at least 1, got {rows}", file=path)
    path = Path(path)
    suffix = _check_file(path)
    seen: dict[str, int] = {}
    tables = (
        _parquet_tables(path, rows)
        if suffix in PARQUET_SUFFIXES
        else _text_tables(path, rows, sep, encoding, jsonl=suffix in JSONL_SUFFIXES)
    )
    empty = True
    for table in tables:
        empty = False
        catalog = _build_catalog(
            table, id_col=id_col, columns=columns, name=name or path.stem, source=path
        )
        _check_unseen(table, catalog, seen, id_col)
        yield catalog
    if empty:
        raise InputError("no rows: the file has a header but no listings", file=path)


def _check_unseen(table: _Table, catalog: Catalog, seen: dict[str, int], id_col: str) -> None:
    """Ids are unique within a chunk already; here, across chunks."""
    for i, listing_id in enumerate(catalog.ids):
        if listing_id in seen:
            where = "line" if table.by_line else "row"
            message = f"duplicate id {listing_id!r} (also on {where} {seen[listing_id]})"
            raise table.error(message, i, id_col)
        seen[listing_id] = table.locs[i]


def _text_tables(
    path: Path, rows: int, sep: str | None, encoding: str | None, *, jsonl: bool
) -> Iterator[_Table]:
    try:
        with path.open("r", encoding=encoding or "utf-8-sig", newline="") as handle:
            yield from (
                _jsonl_tables(handle, path, rows) if jsonl else _csv_tables(handle, path, rows, sep)
            )
    except UnicodeDecodeError as exc:
        offset, line = _first_bad_byte(path, encoding or "utf-8-sig")
        where = f" at byte offset {offset}" if offset is not None else ""
        raise InputError(
            f"cannot decode as {encoding or 'UTF-8'}: byte 0x{exc.object[exc.start]:02x}{where};"
            " give --encoding",
            file=path,
            line=line,
        ) from exc


def _first_bad_byte(path: Path, encoding: str) -> tuple[int | None, int | None]:
    """Byte offset and line of the first byte `encoding` cannot decode, found again from the
    start a block at a time: the error of a buffered text reader only knows its place in one
    block. Lines are counted as b"\\n" bytes (right for every ASCII-compatible encoding)."""
    with path.open("rb") as handle:
        consumed = 0
        if encoding.replace("_", "-").lower() == "utf-8-sig":
            encoding = "utf-8"
            if handle.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8:
                consumed = len(codecs.BOM_UTF8)
            else:
                handle.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        lines = 0
        for block in iter(lambda: handle.read(1 << 16), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                # the decoder's input is the end of a character held from the last block + block
                held = len(exc.object) - len(block)
                return consumed - held + exc.start, lines + exc.object[: exc.start].count(b"\n") + 1
            consumed += len(block)
            lines += block.count(b"\n")
        try:
            decoder.decode(b"", final=True)  # a character cut off by the end of the file
        except UnicodeDecodeError as exc:
            return consumed - len(exc.object) + exc.start, lines + 1
    return None, None


def _csv_tables(handle: TextIO, path: Path, rows: int, sep: str | None) -> Iterator[_Table]:
    header_line = handle.readline()
    if not header_line.strip():
        raise InputError("file is empty or its first line is blank", file=path)
    delimiter = _resolve_sep(sep, path.suffix.lower(), header_line, str(path))
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    header = next(csv.reader([header_line.rstrip("\r\n")], delimiter=delimiter))
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    table = _new_table(path, header, delimiter)
    start = 2
    try:
        for record in reader:
            if record:
                _add_record(table, record, start)
            start = reader.line_num + 2  # the reader counts from the line after the header
            if len(table.rows) == rows:
                yield table
                table = _new_table(path, header, delimiter)
    except csv.Error as exc:
        raise InputError(
            f"malformed CSV: {exc} (check for an unbalanced '\"')", file=path, line=start
        ) from exc
    if table.rows:
        yield table


def _new_table(path: Path, header: list[str], delimiter: str) -> _Table:
    table = _Table(file=str(path), header=[], rows=[], locs=[], by_line=True, sep=delimiter)
    _add_record(table, list(header), 1)
    return table


def _jsonl_tables(handle: TextIO, path: Path, rows: int) -> Iterator[_Table]:
    """Chunks of JSON objects; the columns are the first chunk's keys plus any new ones seen."""
    keys: dict[str, None] = {}
    objects: list[dict[str, Any]] = []
    locs: list[int] = []
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        value = _json_object(line, number, str(path))
        keys.update(dict.fromkeys(value))
        objects.append(value)
        locs.append(number)
        if len(objects) == rows:
            yield _json_table(path, keys, objects, locs)
            objects, locs = [], []
    if objects:
        yield _json_table(path, keys, objects, locs)


def _json_table(
    path: Path, keys: dict[str, None], objects: list[dict[str, Any]], locs: list[int]
) -> _Table:
    header = list(keys)
    rows = [[obj.get(k) for k in header] for obj in objects]
    return _Table(file=str(path), header=header, rows=rows, locs=locs, by_line=True)


def _parquet_tables(path: Path, rows: int) -> Iterator[_Table]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
        names = [n for n in reader.schema_arrow.names if not n.startswith(_PANDAS_INDEX_PREFIX)]
        first = 1
        for batch in reader.iter_batches(batch_size=rows, columns=names):
            columns = [batch.column(n).to_pylist() for n in names]
            cells = [list(values) for values in zip(*columns, strict=True)]
            locs = list(range(first, first + len(cells)))
            first += len(cells)
            yield _Table(file=str(path), header=list(names), rows=cells, locs=locs, by_line=False)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(f"not a readable Parquet file ({exc})", file=path) from exc


def estimate_rows(path: Path) -> int:
    """Rows for a progress bar, without reading them: Parquet knows; text files are counted
    by line breaks.

    A last line without a line break is a row too (buy.csv ends so: counting breaks alone
    gave "1076/1075"). Quoted line breaks still overcount; the bar then ends at the count.
    JSON Lines files have no header line.
    """
    if path.suffix.lower() in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 24):
            lines += block.count(b"\n")
            last = block[-1:]
    lines += last != b"\n"
    header = 0 if path.suffix.lower() in JSONL_SUFFIXES else 1
    return max(1, lines - header)
