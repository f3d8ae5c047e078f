"""Errors that reach the user as one clear line instead of a traceback."""

from __future__ import annotations

from pathlib import Path


class ProdmatchError(Exception):
    """A problem with the user's input or settings; the CLI prints it as one line and exits 2."""


class InputError(ProdmatchError):
    """Bad input data, located by file, line (or row) and column so the user can fix it.

    ``line`` is the physical line in a text file (the header is line 1); ``row`` is the 1-based
    record number, used where lines mean nothing (Parquet). Give whichever locates the problem.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.row = row
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message


def first_line(error: BaseException) -> str:
    """The first line of a library's error message: the user gets one line, not a dump
    (torch's load_state_dict, for one, lists every missing key on its own line)."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
