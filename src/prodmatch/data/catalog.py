"""Product catalogs read from CSV-like text, JSON Lines or Parquet, every value kept as text.

Everything downstream (normalisation, encoders, blocking) works on strings, and every
bad input must surface as one :class:`~prodmatch.errors.InputError` that says where to look
(file, line or row, column) instead of a pandas traceback or, worse, a silently dropped row.
So files are read by a small private reader (:func:`_read_table`) that keeps the physical
line of every record; :mod:`prodmatch.data.pairs` reuses it for pair and gold files.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prodmatch.errors import InputError

__all__ = ["SUPPORTED_SUFFIXES", "Catalog", "catalog_from_frame", "load_catalog"]

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + JSONL_SUFFIXES + PARQUET_SUFFIXES

# Separators tried when none is given, in order of preference when the header splits equally.
SNIFF_SEPARATORS = (",", "|", "#", ";", "\t")

# Product descriptions can be long; the csv module's default 128 KiB field limit would turn a
# legitimate long field into an error, so it is raised (never lowered) before reading.
_FIELD_LIMIT = min(sys.maxsize, 2**31 - 1)

# Columns pandas adds to Parquet files to store a non-default index; they are not data.
_PANDAS_INDEX_PREFIX = "__index_level_"


@dataclass(frozen=True, eq=False)
class Catalog:
    """A product catalog: string ids and the descriptive columns as strings ('' for missing).

    ``eq=False`` keeps identity comparison and hashing: comparing DataFrames element-wise
    has no single truth value, so the generated ``__eq__``/``__hash__`` would only raise.
    """

    name: str
    records: pd.DataFrame
    source: Path | None = None

    def __post_init__(self) -> None:
        """Check the invariants every consumer relies on (unique ids, index named 'id')."""
        if not self.records.index.is_unique:
            dup = self.records.index[self.records.index.duplicated()][0]
            raise ValueError(f"catalog {self.name!r}: duplicate id {dup!r}")
        if self.records.index.name != "id":
            raise ValueError(f"catalog {self.name!r}: the records index must be named 'id'")

    @property
    def ids(self) -> list[str]:
        """The product ids, in catalog order."""
        return [str(i) for i in self.records.index]

    @property
    def columns(self) -> list[str]:
        """The descriptive columns, in order."""
        return [str(c) for c in self.records.columns]

    def __len__(self) -> int:
        return len(self.records)

    def select(self, ids: Iterable[str]) -> Catalog:
        """The records with the given ids, in the given order (e.g. one side of a pair split).

        Raises KeyError for unknown ids rather than inventing empty records.
        """
        wanted = list(ids)
        unknown = [i for i in wanted if i not in self.records.index]
        if unknown:
            shown = ", ".join(repr(i) for i in unknown[:5])
            raise KeyError(f"{len(unknown)} id(s) not in catalog {self.name!r}: {shown}")
        return Catalog(self.name, self.records.loc[wanted], self.source)


def load_catalog(
    path: str | Path,
    *,
    sep: str | None = None,
    id_col: str = "id",
    columns: Sequence[str] | None = None,
    name: str | None = None,
    encoding: str | None = None,
) -> Catalog:
    """Read a catalog file (format chosen by suffix) into a :class:`Catalog`.

    ``sep`` applies to text files (sniffed from the header when omitted); ``columns`` are
    the descriptive columns to keep, in order (default: all but ``id_col``); ``encoding``
    defaults to UTF-8 (a BOM is accepted). Raises InputError for any problem in the file.
    """
    path = Path(path)
    table = _read_table(path, sep=sep, encoding=encoding)
    return _build_catalog(
        table, id_col=id_col, columns=columns, name=name or path.stem, source=path
    )


def catalog_from_frame(
    frame: pd.DataFrame,
    *,
    id_col: str = "id",
    columns: Sequence[str] | None = None,
    name: str = "catalog",
    source: Path | None = None,
) -> Catalog:
    """Build a catalog from an in-memory DataFrame, with the same checks as :func:`load_catalog`.

    The ids may be a column or the index (when the index is named ``id_col``). Problems are
    located by 1-based row number.
    """
    if id_col not in frame.columns and frame.index.name == id_col:
        frame = frame.reset_index()
    header = [str(c) for c in frame.columns]
    rows = [list(r) for r in frame.itertuples(index=False, name=None)]
    table = _Table(
        file=str(source) if source is not None else None,
        header=header,
        rows=rows,
        locs=list(range(1, len(rows) + 1)),
        by_line=False,
    )
    _check_header(table)
    return _build_catalog(table, id_col=id_col, columns=columns, name=name, source=source)


# --------------------------------------------------------------------------- the private reader


@dataclass
class _Table:
    """A file read as cells, each record remembering where it came from for error messages.

    ``locs`` holds the physical line of each record (``by_line``) or its 1-based record number
    (Parquet, DataFrames). Cells are str for text files, raw values for JSON/Parquet/frames.
    """

    file: str | None
    header: list[str]
    rows: list[list[Any]]
    locs: list[int]
    by_line: bool
    sep: str | None = None
    header_line: int = 1

    def error(
        self, message: str, index: int | None = None, column: str | None = None
    ) -> InputError:
        """An InputError located at record ``index`` (None: the whole file)."""
        loc = None if index is None else self.locs[index]
        return InputError(
            message,
            file=self.file,
            line=loc if self.by_line else None,
            row=None if self.by_line else loc,
            column=column,
        )

    def place(self, index: int) -> str:
        """'line N' or 'row N' for record ``index``, to mention a second location in a message."""
        return f"{'line' if self.by_line else 'row'} {self.locs[index]}"

    def require_rows(self) -> None:
        """A file without records is always a mistake (wrong file, or an export that failed)."""
        if not self.rows:
            raise self.error("no rows (only a header, no records)")

    def column_index(self, name: str, role: str = "column") -> int:
        """Position of column ``name``; the error lists what was found and hints at --sep."""
        if name in self.header:
            return self.header.index(name)
        found = ", ".join(repr(c) for c in self.header)
        message = f"{role} not found; columns found: {found}"
        if len(self.header) == 1 and self.sep is not None:
            message += (
                f" (only one column when split on {self.sep!r}: if the file uses another"
                " separator, pass it with --sep / sep=...)"
            )
        raise InputError(message, file=self.file, column=name)

    def text(self, index: int, col: int) -> str:
        """The cell as text ('' for missing), as stored in a Catalog."""
        return _cell_text(self._decoded(index, col))

    def id_text(self, index: int, col: int) -> str:
        """The cell as an id: text, stripped, integral numbers without '.0'."""
        return _id_text(self._decoded(index, col))

    def _decoded(self, index: int, col: int) -> Any:
        """The raw cell, with bytes (a Parquet binary column) decoded as UTF-8: text, not
        the "b'...'" that str() would make of them; bad bytes name the row and column."""
        value = self.rows[index][col]
        if not isinstance(value, bytes | bytearray):
            return value
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.error(
                f"not valid UTF-8: byte 0x{value[exc.start]:02x} at byte {exc.start} of the value",
                index,
                self.header[col],
            ) from exc


def _read_table(path: Path, *, sep: str | None, encoding: str | None) -> _Table:
    """Read any supported file into a :class:`_Table`; the one entry point for all loaders."""
    suffix = _check_file(path)
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(path)
    text = _decode(path, encoding)
    if not text.strip():
        raise InputError("file is empty (only blank lines)", file=path)
    if suffix in JSONL_SUFFIXES:
        return _read_jsonl(text, str(path))
    delimiter = _resolve_sep(sep, suffix, text, str(path))
    return _read_delimited(text, delimiter, str(path))


def _check_file(path: Path) -> str:
    """Fail early, with a plain message, on paths that cannot be a data file; return the suffix."""
    if not path.exists():
        raise InputError("file not found", file=path)
    if path.is_dir():
        raise InputError("is a directory, expected a file", file=path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = " ".join(SUPPORTED_SUFFIXES)
        raise InputError(
            f"unsupported file type {suffix or '(none)'!r}; supported: {supported}", file=path
        )
    if path.stat().st_size == 0:
        raise InputError("file is empty (0 bytes)", file=path)
    return suffix


def _decode(path: Path, encoding: str | None) -> str:
    """Decode the whole file; bad bytes are reported by line and byte offset, never replaced."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=path) from exc
    if encoding is not None:
        return _decode_as(data, encoding, path)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(
            "looks like UTF-16 (byte order mark); pass --encoding utf-16 (encoding='utf-16')",
            file=path,
        )
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = bom + exc.start
        raise InputError(
            f"not valid UTF-8: byte 0x{data[offset]:02x} at byte offset {offset}; if the file"
            " uses another encoding, pass it with --encoding (encoding=... from Python), e.g."
            " latin-1 or cp1252",
            file=path,
            line=data.count(b"\n", 0, offset) + 1,
        ) from exc


def _decode_as(data: bytes, encoding: str, path: Path) -> str:
    """Decode with a user-chosen encoding, turning its failures into InputError too."""
    try:
        text = data.decode(encoding)
    except LookupError as exc:
        raise InputError(f"unknown encoding {encoding!r}", file=path) from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"cannot decode as {encoding}: byte 0x{data[exc.start]:02x} at byte offset {exc.start}",
            file=path,
            line=data.count(b"\n", 0, exc.start) + 1,
        ) from exc
    return text.removeprefix("\ufeff")


def _resolve_sep(sep: str | None, suffix: str, text: str, file: str) -> str:
    """The separator to use: the given one, tab for .tsv, else sniffed from the header line."""
    if sep is not None:
        sep = {"\\t": "\t", "tab": "\t"}.get(sep, sep)
        if len(sep) != 1:
            raise InputError(f"separator must be a single character, got {sep!r}", file=file)
        return sep
    if suffix == ".tsv":
        return "\t"
    return _sniff_sep(text)


def _sniff_sep(text: str) -> str:
    """Pick the candidate separator that splits the header line into the most fields.

    Only the header is used: it is short, always present and (unlike descriptions) rarely
    contains stray separator characters. A one-column header falls back to ','.
    """
    header = next((line for line in text.split("\n") if line.strip()), "")
    best, best_count = ",", 1
    for candidate in SNIFF_SEPARATORS:
        count = len(next(csv.reader([header.rstrip("\r")], delimiter=candidate)))
        if count > best_count:
            best, best_count = candidate, count
    return best


def _read_delimited(text: str, delimiter: str, file: str) -> _Table:
    """Parse with standard CSV quoting; fall back to literal quotes only when that is clean.

    Some exports (e.g. the JedAI benchmark files) never quote and may contain a bare '"' in
    a description. Standard CSV parsing would then join lines or fail. If standard parsing
    fails but splitting every physical line on the separator gives exactly the header's
    field count everywhere, the file clearly does not use quoting and that reading is used;
    otherwise the standard parser's error (with its line) is raised. Nothing is dropped.
    """
    try:
        return _parse_csv(text, delimiter, file, literal_quotes=False)
    except InputError:
        literal = _parse_literal(text, delimiter, file)
        if literal is None:
            raise
        return literal


def _parse_literal(text: str, delimiter: str, file: str) -> _Table | None:
    """The file read with quotes as ordinary characters, or None if that does not fit either."""
    if '"' not in text:
        return None
    try:
        return _parse_csv(text, delimiter, file, literal_quotes=True)
    except InputError:
        return None


def _parse_csv(text: str, delimiter: str, file: str, *, literal_quotes: bool) -> _Table:
    """Parse delimited text, recording the physical start line of each record.

    ``strict`` makes the csv module report an unterminated quote instead of silently
    swallowing the rest of the file into one field. Blank lines are skipped (they hold no data).
    """
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quoting=csv.QUOTE_NONE if literal_quotes else csv.QUOTE_MINIMAL,
        strict=True,
    )
    table = _Table(file=file, header=[], rows=[], locs=[], by_line=True, sep=delimiter)
    start = 1
    try:
        for record in reader:
            if record:
                _add_record(table, record, start)
            start = reader.line_num + 1
    except csv.Error as exc:
        span = f" (record spans lines {start}-{reader.line_num})" if reader.line_num > start else ""
        raise InputError(
            f"malformed CSV: {exc} (check for an unbalanced '\"'){span}", file=file, line=start
        ) from exc
    return table


def _add_record(table: _Table, record: list[str], line: int) -> None:
    """Take the first record as the header; every later one must have as many fields."""
    if not table.header:
        table.header, table.header_line = record, line
        _check_header(table)
        return
    if len(record) != len(table.header):
        raise InputError(
            f"expected {len(table.header)} fields (as in the header), found {len(record)}",
            file=table.file,
            line=line,
        )
    table.rows.append(record)
    table.locs.append(line)


def _check_header(table: _Table) -> None:
    """Strip header names (a stray space must not hide the id column) and reject repeats."""
    table.header = [h.strip().removeprefix("\ufeff").strip() for h in table.header]
    seen: set[str] = set()
    for name in table.header:
        if name in seen:
            line = table.header_line if table.by_line else None
            raise InputError(
                "column appears twice in the header", file=table.file, line=line, column=name
            )
        seen.add(name)


def _read_jsonl(text: str, file: str) -> _Table:
    """One JSON object per line; columns are the union of keys in first-seen order.

    Lines are split on '\\n' only: JSON strings may legally contain U+2028 and friends,
    which str.splitlines would treat as line breaks.
    """
    keys: dict[str, None] = {}
    objects: list[dict[str, Any]] = []
    locs: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        value = _json_object(line, number, file)
        keys.update(dict.fromkeys(value))
        objects.append(value)
        locs.append(number)
    header = list(keys)
    rows = [[obj.get(k) for k in header] for obj in objects]
    table = _Table(file=file, header=header, rows=rows, locs=locs, by_line=True)
    _check_header(table)
    return table


def _json_object(line: str, number: int, file: str) -> dict[str, Any]:
    """One JSON Lines record, or an error naming its line."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"malformed JSON: {exc.msg} (character {exc.colno})", file=file, line=number
        ) from exc
    if not isinstance(value, dict):
        raise InputError(
            f"expected a JSON object, found {type(value).__name__}", file=file, line=number
        )
    return value


def _read_parquet(path: Path) -> _Table:
    """Read via pyarrow's to_pylist so integer columns with nulls stay integers (not 12.0)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(f"not a readable Parquet file ({exc})", file=path) from exc
    names = [str(n) for n in arrow.column_names if not str(n).startswith(_PANDAS_INDEX_PREFIX)]
    columns = [arrow.column(n).to_pylist() for n in names]
    rows = [list(values) for values in zip(*columns, strict=True)] if columns else []
    table = _Table(
        file=str(path), header=names, rows=rows, locs=list(range(1, len(rows) + 1)), by_line=False
    )
    _check_header(table)
    return table


# --------------------------------------------------------------------------- cells and catalogs


def _is_missing(value: Any) -> bool:
    """None, NaN, pd.NA, NaT; containers are never 'missing' as a whole."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _cell_text(value: Any) -> str:
    """A value as catalog text: str as is, missing as '', containers as JSON, others str()."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    if _is_missing(value):
        return ""
    return str(value)


def _id_text(value: Any) -> str:
    """An id as text, stripped; a float 12.0 (e.g. an int column with nulls) becomes '12'."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return _cell_text(value).strip()


def _build_catalog(
    table: _Table, *, id_col: str, columns: Sequence[str] | None, name: str, source: Path | None
) -> Catalog:
    """Check ids and columns of a table and turn it into a Catalog of strings."""
    table.require_rows()
    id_index = table.column_index(id_col, role="id column")
    keep = _keep_columns(table, id_col, columns)
    ids = _unique_ids(table, id_index, id_col)
    data = {col: [table.text(i, j) for i in range(len(table.rows))] for col, j in keep}
    index = pd.Index(ids, name="id", dtype=object)
    records = pd.DataFrame(data, index=index, columns=[col for col, _ in keep], dtype=object)
    return Catalog(name=name, records=records, source=source)


def _keep_columns(
    table: _Table, id_col: str, columns: Sequence[str] | None
) -> list[tuple[str, int]]:
    """The descriptive columns to keep with their positions, in the requested order."""
    if columns is None:
        return [(c, j) for j, c in enumerate(table.header) if c != id_col]
    if isinstance(columns, str):  # a lone string would otherwise be read as its characters
        columns = [columns]
    keep: list[tuple[str, int]] = []
    for col in columns:
        if col in (c for c, _ in keep):
            raise InputError("column requested twice", file=table.file, column=col)
        keep.append((col, table.column_index(col, role="requested column")))
    return keep


def _unique_ids(table: _Table, col: int, id_col: str) -> list[str]:
    """All ids as text; an empty or repeated id is an error naming the line(s)."""
    first_seen: dict[str, int] = {}
    ids: list[str] = []
    for i in range(len(table.rows)):
        value = table.id_text(i, col)
        if not value:
            raise table.error("empty id", i, id_col)
        if value in first_seen:
            raise table.error(
                f"duplicate id {value!r} (also on {table.place(first_seen[value])})", i, id_col
            )
        first_seen[value] = i
        ids.append(value)
    return ids
