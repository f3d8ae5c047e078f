from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from prodmatch.data import load_pairs
from prodmatch.errors import InputError
from prodmatch.review.labels import UNSURE, LabelStore


def test_labels_are_a_training_file_and_reopen_in_order(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    store = LabelStore(path)
    store.add("a1", "b3", 1)
    store.add("a1", "b4", 0)
    store.add("a2", "b9", UNSURE)
    assert path.read_text() == "ltable_id,rtable_id,label\na1,b3,1\na1,b4,0\n"
    assert (tmp_path / "labels.unsure.csv").read_text() == "ltable_id,rtable_id,label\na2,b9,\n"
    pairs = load_pairs(path)  # what `prodmatch train --train` reads
    assert pairs[["left_id", "right_id", "label"]].values.tolist() == [
        ["a1", "b3", 1],
        ["a1", "b4", 0],
    ]
    from prodmatch.cli import _training_data  # and with the catalogs, as `train` calls it

    left, right = tmp_path / "left.csv", tmp_path / "right.csv"
    left.write_text("id,title\na1,x\na2,y\n", encoding="utf-8")
    right.write_text("id,title\nb3,x\nb4,y\nb9,z\n", encoding="utf-8")
    _, _, train, _ = _training_data(None, left, right, path, None, None, "id")
    assert train.values.tolist() == pairs.values.tolist()
    again = LabelStore(path)
    assert [(x.key, x.label) for x in again.labels] == [
        (("a1", "b3"), 1),
        (("a1", "b4"), 0),
        (("a2", "b9"), UNSURE),
    ]


def test_relabel_and_undo_rewrite_without_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    store = LabelStore(path)
    store.add("a1", "b3", 1)
    store.add("a1", "b4", 0)
    store.add("a1", "b3", 0)  # changed mind: one line per pair, the new label last
    assert path.read_text().splitlines()[1:] == ["a1,b4,0", "a1,b3,0"]
    undone = store.undo()
    assert undone is not None and undone.key == ("a1", "b3")
    assert path.read_text().splitlines()[1:] == ["a1,b4,0"]
    assert len(LabelStore(path)) == 1


def test_a_line_cut_short_by_a_crash_is_dropped_and_a_foreign_file_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("ltable_id,rtable_id,label\na1,b3,1\na2,b")
    assert [x.key for x in LabelStore(path).labels] == [("a1", "b3")]
    other = tmp_path / "other.csv"
    other.write_text("id,title\n1,x\n")
    with pytest.raises(InputError, match=r"other.csv, line 1"):
        LabelStore(other)


_WRITER = """
import sys
from prodmatch.review.labels import LabelStore
store = LabelStore(sys.argv[1])
for n in range(1000000):
    store.add(f"l{n}", f"r{n}", n % 2)
    print(n, flush=True)  # acknowledged
"""


def test_a_killed_writer_loses_no_acknowledged_label(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    process = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    acknowledged = -1
    for line in process.stdout:
        acknowledged = int(line)
        if acknowledged >= 30:
            break
    process.kill()
    process.wait()
    kept = LabelStore(path).labels
    assert len(kept) >= acknowledged + 1
    assert [x.key for x in kept[: acknowledged + 1]] == [
        (f"l{n}", f"r{n}") for n in range(acknowledged + 1)
    ]
    load_pairs(path)  # still a valid training file
