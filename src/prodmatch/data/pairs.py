"""Labelled pairs, gold mappings and DeepMatcher-format benchmark folders.

Pair files are read with the same private reader as catalogs (same formats, separator
sniffing and located errors). Ids are checked against the catalogs when given, because a
pair that points at no record would otherwise vanish later in a join and skew every metric.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from prodmatch.data.catalog import Catalog, _read_table, _Table, load_catalog
from prodmatch.errors import InputError

__all__ = ["DEEPMATCHER_FILES", "PairDataset", "load_deepmatcher", "load_gold", "load_pairs"]

DEEPMATCHER_FILES = ("tableA.csv", "tableB.csv", "train.csv", "valid.csv", "test.csv")

# Accepted spellings of the two labels (pandas exports may write floats, Parquet may hold bools).
_LABELS = {"0": 0, "1": 1, "0.0": 0, "1.0": 1, "false": 0, "true": 1}


@dataclass(frozen=True, eq=False)
class PairDataset:
    """A DeepMatcher-format benchmark: two catalogs and labelled train/valid/test pairs.

    ``eq=False`` for the same reason as :class:`Catalog`: DataFrames have no single truth value.
    """

    left: Catalog
    right: Catalog
    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame


def load_pairs(
    path: str | Path,
    *,
    left_ids: Collection[str] | None = None,
    right_ids: Collection[str] | None = None,
    sep: str | None = None,
    left_col: str = "ltable_id",
    right_col: str = "rtable_id",
    label_col: str = "label",
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read labelled pairs: columns left_id, right_id (str) and label (int 0/1).

    Ids are checked against ``left_ids``/``right_ids`` when given. A pair listed twice with
    different labels is an error (both lines named); exact repeats are kept as they are.
    """
    table = _read_table(Path(path), sep=sep, encoding=encoding)
    table.require_rows()
    positions = [table.column_index(c) for c in (left_col, right_col, label_col)]
    left = _pair_ids(table, positions[0], left_col, left_ids, "left")
    right = _pair_ids(table, positions[1], right_col, right_ids, "right")
    labels = _labels(table, positions[2], label_col)
    _check_consistent(table, left, right, labels, label_col)
    return pd.DataFrame(
        {
            "left_id": pd.Series(left, dtype=object),
            "right_id": pd.Series(right, dtype=object),
            "label": pd.Series(labels, dtype="int64"),
        }
    )


def load_gold(
    path: str | Path,
    *,
    sep: str | None = None,
    cols: tuple[str, str] | None = None,
    left_ids: Collection[str] | None = None,
    right_ids: Collection[str] | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a gold mapping (all true matches): columns left_id, right_id (str), de-duplicated.

    ``cols`` names the left and right id columns; by default the first two columns are used,
    as in the JedAI files (header ``D1|D2`` or ``D1#D2``).
    """
    table = _read_table(Path(path), sep=sep, encoding=encoding)
    table.require_rows()
    left_col, right_col = cols if cols is not None else _first_two(table)
    left = _pair_ids(table, table.column_index(left_col), left_col, left_ids, "left")
    right = _pair_ids(table, table.column_index(right_col), right_col, right_ids, "right")
    frame = pd.DataFrame(
        {"left_id": pd.Series(left, dtype=object), "right_id": pd.Series(right, dtype=object)}
    )
    return frame.drop_duplicates(ignore_index=True)


def load_deepmatcher(folder: str | Path) -> PairDataset:
    """Read a DeepMatcher folder: tableA/tableB catalogs and train/valid/test pair files.

    All five files are checked up front so a half-copied folder fails with every missing name.
    """
    folder = Path(folder)
    if not folder.is_dir():
        message = "is a file, expected a folder" if folder.exists() else "folder not found"
        raise InputError(message, file=folder)
    missing = [name for name in DEEPMATCHER_FILES if not (folder / name).is_file()]
    if missing:
        raise InputError(
            f"not a DeepMatcher folder: missing {', '.join(missing)}", file=folder / missing[0]
        )
    left = load_catalog(folder / "tableA.csv", sep=",")
    right = load_catalog(folder / "tableB.csv", sep=",")
    left_ids, right_ids = set(left.ids), set(right.ids)
    splits = {
        split: load_pairs(folder / f"{split}.csv", left_ids=left_ids, right_ids=right_ids, sep=",")
        for split in ("train", "valid", "test")
    }
    return PairDataset(left=left, right=right, **splits)


def _first_two(table: _Table) -> tuple[str, str]:
    """The first two column names; a single column almost always means a wrong separator."""
    if len(table.header) < 2:
        found = ", ".join(repr(c) for c in table.header)
        hint = (
            f" when split on {table.sep!r}; pass the right one with --sep / sep=..."
            if table.sep
            else ""
        )
        raise table.error(f"need two id columns, found one: {found}{hint}")
    return table.header[0], table.header[1]


def _pair_ids(
    table: _Table, col: int, col_name: str, known: Collection[str] | None, side: str
) -> list[str]:
    """The ids of one side; empty ids and ids missing from that side's catalog are errors."""
    known_set = None if known is None else set(known)
    ids: list[str] = []
    for i in range(len(table.rows)):
        value = table.id_text(i, col)
        if not value:
            raise table.error("empty id", i, col_name)
        if known_set is not None and value not in known_set:
            raise table.error(f"id {value!r} is not in the {side} catalog", i, col_name)
        ids.append(value)
    return ids


def _labels(table: _Table, col: int, col_name: str) -> list[int]:
    """Labels as 0/1; anything else (including empty) is an error at its line."""
    labels: list[int] = []
    for i in range(len(table.rows)):
        text = table.text(i, col).strip()
        label = _LABELS.get(text.lower())
        if label is None:
            raise table.error(f"label must be 0 or 1, found {text!r}", i, col_name)
        labels.append(label)
    return labels


def _check_consistent(
    table: _Table, left: list[str], right: list[str], labels: list[int], label_col: str
) -> None:
    """The same pair cannot be both a match and a non-match."""
    first: dict[tuple[str, str], int] = {}
    for i, pair in enumerate(zip(left, right, strict=True)):
        j = first.setdefault(pair, i)
        if labels[j] != labels[i]:
            raise table.error(
                f"pair ({pair[0]!r}, {pair[1]!r}) has label {labels[i]} here but"
                f" {labels[j]} on {table.place(j)}",
                i,
                label_col,
            )
