"""Atomic writes: a file a user keeps is either the old one or the complete new one, never half.

Each write goes to a temporary file in the same folder, is flushed to disk, then renamed over
the target; rename within one file system is atomic.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from prodmatch.errors import ProdmatchError

TABLE_FORMATS = (".csv", ".tsv", ".parquet", ".jsonl")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, else is removed."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as error:
        raise ProdmatchError(f"{target}: cannot write here: {error.strerror or error}") from error
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV, TSV, Parquet or JSON Lines, chosen by the file's suffix."""
    target = Path(path)
    writer = _writer(target.suffix.lower())
    with atomic_path(target) as tmp:
        writer(frame, tmp)
    return target


def _writer(suffix: str) -> Callable[[pd.DataFrame, Path], None]:
    if suffix == ".csv":
        return lambda f, p: f.to_csv(p, index=False)
    if suffix == ".tsv":
        return lambda f, p: f.to_csv(p, index=False, sep="\t")
    if suffix == ".parquet":
        return lambda f, p: f.to_parquet(p, index=False)
    if suffix == ".jsonl":
        return lambda f, p: f.to_json(p, orient="records", lines=True, force_ascii=False)
    raise ProdmatchError(f"cannot write '{suffix}' files; use one of {', '.join(TABLE_FORMATS)}")
