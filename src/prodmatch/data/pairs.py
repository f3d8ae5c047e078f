"""Labelled pairs, gold mappings and DeepMatcher-format benchmark folders.

Pair files are read with the same private reader as catalogs (same formats, separator
sniffing and located errors). Ids are checked against the catalogs when given, because a
pair that points at no record would otherwise vanish later in a join and skew every metric.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from prodmatch.data.catalog import Catalog, _read_table, _Table, load_catalog
from prodmatch.errors import InputError

__all__ = [
    "DEEPMATCHER_FILES",
    "PairDataset",
    "load_deepmatcher",
    "load_gold",
    "load_pairs",
    "parse_pair_cols",
]

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
    name: str = "pairs"  # the folder's name, for reports and plot titles


def parse_pair_cols(value: str | None, option: str) -> tuple[str, ...] | None:
    """Column names given on the command line as 'LEFT,RIGHT' or 'LEFT,RIGHT,LABEL'.

    One parser for every option that names a pair file's columns (``--gold-cols``,
    ``--labels-cols``), so they all take the same spelling.
    """
    if value is None:
        return None
    parts = tuple(p.strip() for p in value.split(","))
    if len(parts) not in (2, 3) or not all(parts):
        raise InputError(f"{option} needs 'LEFT,RIGHT' or 'LEFT,RIGHT,LABEL', got {value!r}")
    return parts


def load_pairs(
    path: str | Path,
    *,
    left_ids: Collection[str] | None = None,
    right_ids: Collection[str] | None = None,
    sep: str | None = None,
    cols: Sequence[str] | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read labelled pairs: columns left_id, right_id (str) and label (int 0/1).

    ``cols`` names the left id, right id and label columns (default ltable_id, rtable_id,
    label, as DeepMatcher writes them; with two names the label column is 'label'). Ids are
    checked against ``left_ids``/``right_ids`` when given. A pair listed twice with different
    labels is an error (both lines named); exact repeats are kept as they are.
    """
    table = _read_table(Path(path), sep=sep, encoding=encoding)
    table.require_rows()
    left_col, right_col, label_col = _pair_columns(cols)
    left, right = _both_sides(table, left_col, right_col, left_ids, right_ids)
    labels = _labels(table, table.column_index(label_col), label_col)
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
    cols: Sequence[str] | None = None,
    left_ids: Collection[str] | None = None,
    right_ids: Collection[str] | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a gold mapping (all true matches): columns left_id, right_id (str), de-duplicated.

    ``cols`` names the left and right id columns, and optionally a label column; by default
    the first two columns are used, as in the JedAI files (header ``D1|D2`` or ``D1#D2``).
    A labelled pairs file (a ``label`` column, as DeepMatcher's test.csv) is read too: only
    its pairs labelled 1 are gold, since counting the non-matches as matches would make every
    figure meaningless without any error.
    """
    table = _read_table(Path(path), sep=sep, encoding=encoding)
    table.require_rows()
    if cols is None:
        left_col, right_col = _first_two(table)
        label_col = "label" if "label" in table.header[2:] else None
    else:
        left_col, right_col = cols[0], cols[1]
        label_col = cols[2] if len(cols) > 2 else None
    left, right = _both_sides(table, left_col, right_col, left_ids, right_ids)
    frame = pd.DataFrame(
        {"left_id": pd.Series(left, dtype=object), "right_id": pd.Series(right, dtype=object)}
    )
    if label_col is not None:
        labels = np.asarray(_labels(table, table.column_index(label_col), label_col))
        frame = frame[labels == 1]
    return frame.drop_duplicates(ignore_index=True)


def load_deepmatcher(folder: str | Path, *, encoding: str | None = None) -> PairDataset:
    """Read a DeepMatcher folder: tableA/tableB catalogs and train/valid/test pair files.

    All five files are checked up front so a half-copied folder fails with every missing name.
    ``encoding`` applies to all five (default UTF-8).
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
    left = load_catalog(folder / "tableA.csv", sep=",", encoding=encoding)
    right = load_catalog(folder / "tableB.csv", sep=",", encoding=encoding)
    left_ids, right_ids = set(left.ids), set(right.ids)
    splits = {
        split: load_pairs(
            folder / f"{split}.csv",
            left_ids=left_ids,
            right_ids=right_ids,
            sep=",",
            encoding=encoding,
        )
        for split in ("train", "valid", "test")
    }
    return PairDataset(left=left, right=right, **splits, name=folder.resolve().name)


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


def _pair_columns(cols: Sequence[str] | None) -> tuple[str, str, str]:
    if cols is None:
        return "ltable_id", "rtable_id", "label"
    if len(cols) not in (2, 3):
        raise ValueError(f"cols takes 2 or 3 names, got {list(cols)}")
    return cols[0], cols[1], cols[2] if len(cols) > 2 else "label"


def _both_sides(
    table: _Table,
    left_col: str,
    right_col: str,
    left_ids: Collection[str] | None,
    right_ids: Collection[str] | None,
) -> tuple[list[str], list[str]]:
    """The left and right ids of every pair, each checked against its own catalog."""
    left_set = None if left_ids is None else set(left_ids)
    right_set = None if right_ids is None else set(right_ids)
    positions = table.column_index(left_col), table.column_index(right_col)
    left = _pair_ids(table, positions[0], left_col, (left_set, right_set), "left")
    right = _pair_ids(table, positions[1], right_col, (right_set, left_set), "right")
    return left, right


def _pair_ids(
    table: _Table,
    col: int,
    col_name: str,
    known: tuple[set[str] | None, set[str] | None],
    side: str,
) -> list[str]:
    """The ids of one side; empty ids and ids missing from that side's catalog are errors.

    ``known`` holds this side's ids and the other side's. When most of the column's ids are
    not on this side but are on the other, the message says so: swapped columns are the
    common cause, and a bare "not in the catalog" would not point at it.
    """
    mine, other = known
    ids: list[str] = []
    for i in range(len(table.rows)):
        value = table.id_text(i, col)
        if not value:
            raise table.error("empty id", i, col_name)
        ids.append(value)
    if mine is None:
        return ids
    for i, value in enumerate(ids):
        if value not in mine:
            message = f"id {value!r} is not in the {side} catalog"
            raise table.error(message + _swap_hint(ids, mine, other, side), i, col_name)
    return ids


def _swap_hint(ids: list[str], mine: set[str], other: set[str] | None, side: str) -> str:
    """'; only 2 of 50 ids of this column are in the left catalog but 48 in the right one:
    are the columns swapped? ...', or '' when the other side explains no more of them."""
    if other is None:
        return ""
    here = sum(value in mine for value in ids)
    there = sum(value in other for value in ids)
    if there <= here:
        return ""
    opposite = "right" if side == "left" else "left"
    return (
        f"; only {here} of {len(ids)} ids of this column are in the {side} catalog but "
        f"{there} are in the {opposite} one: are the left and right columns swapped? "
        "(name them left first: --gold-cols, --labels-cols or --pairs-cols LEFT,RIGHT)"
    )


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
