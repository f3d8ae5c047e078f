"""The labels a reviewer gives, kept durably the moment they are given.

The labels file is a plain ``ltable_id,rtable_id,label`` CSV (label 1 = same product, 0 =
different): exactly what `prodmatch train --train` and `match --labels` read. A new label is
appended, flushed and fsynced before the page hears "saved", so killing the server or
closing the tab loses nothing that was acknowledged. Pairs marked *unsure* are kept apart,
in ``<labels>.unsure.csv``, because a training file has no third label.

Changing a label or undoing the last one rewrites the file atomically (a complete new file
renamed over the old one, `prodmatch.io.atomic_path`): a label file never holds one pair
twice with two labels, which `load_pairs` would refuse.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

from prodmatch.errors import InputError
from prodmatch.io import atomic_path, sync_dir

HEADER = ("ltable_id", "rtable_id", "label")
UNSURE = -1  # the reviewer's "u": shown, not known
Key = tuple[str, str]


@dataclass(frozen=True)
class Label:
    left_id: str
    right_id: str
    label: int  # 1, 0 or UNSURE

    @property
    def key(self) -> Key:
        return (self.left_id, self.right_id)


class LabelStore:
    """The labels of one review, in the order they were given, mirrored on disk."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.unsure_path = self.path.with_name(self.path.stem + ".unsure.csv")
        self._labels: list[Label] = []
        for file, unsure in ((self.path, False), (self.unsure_path, True)):
            self._labels.extend(_read(file, unsure))

    def __len__(self) -> int:
        return len(self._labels)

    @property
    def labels(self) -> list[Label]:
        return list(self._labels)

    def get(self, key: Key) -> Label | None:
        return next((x for x in self._labels if x.key == key), None)

    def add(self, left_id: str, right_id: str, label: int) -> Label:
        """Record one label on disk, then in memory; a pair labelled again is relabelled."""
        if label not in (0, 1, UNSURE):
            raise ValueError(f"a label is 1, 0 or {UNSURE}, got {label}")
        new = Label(str(left_id), str(right_id), label)
        old = self.get(new.key)
        if old is not None:
            if old.label == label:
                return old
            self._labels = [x for x in self._labels if x.key != new.key] + [new]
            self._rewrite()
            return new
        _append(self.unsure_path if label == UNSURE else self.path, new)
        self._labels.append(new)
        return new

    def undo(self) -> Label | None:
        """Forget the last label given (the file is rewritten without it)."""
        if not self._labels:
            return None
        last = self._labels.pop()
        self._rewrite()
        return last

    def _rewrite(self) -> None:
        for file, unsure in ((self.path, False), (self.unsure_path, True)):
            rows = [x for x in self._labels if (x.label == UNSURE) == unsure]
            if rows or file.exists():
                _write_all(file, rows)


def _line(label: Label) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(
        [label.left_id, label.right_id, "" if label.label == UNSURE else label.label]
    )
    return out.getvalue()


def _append(path: Path, label: Label) -> None:
    """Append one line and fsync it; a new file gets the header first (and its folder is
    fsynced, so the file itself survives a crash too)."""
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", encoding="utf-8", newline="") as handle:
        if new:
            handle.write(",".join(HEADER) + "\n")
        handle.write(_line(label))
        handle.flush()
        os.fsync(handle.fileno())
    if new:
        sync_dir(path.parent)


def _write_all(path: Path, labels: list[Label]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(",".join(HEADER) + "\n" + "".join(map(_line, labels)), encoding="utf-8")
    sync_dir(path.parent)


def _read(path: Path, unsure: bool) -> list[Label]:
    """Labels already in a file (a review reopened continues where it stopped)."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    if rows and not text.endswith("\n"):
        rows.pop()  # a line cut short by a crash mid-write: never acknowledged, so not kept
    if not rows:
        return []
    if tuple(c.strip() for c in rows[0][:3]) != HEADER:
        raise InputError(
            f"a labels file starts with the header {','.join(HEADER)}", file=path, line=1
        )
    found: dict[Key, Label] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) < 3 or (not unsure and row[2].strip() not in ("0", "1")):
            raise InputError("expected left id, right id and a label 0 or 1", file=path, line=line)
        label = UNSURE if unsure else int(row[2])
        item = Label(row[0], row[1], label)
        found.pop(item.key, None)  # the last line of a pair wins
        found[item.key] = item
    return list(found.values())
