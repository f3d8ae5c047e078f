"""Bench results are written atomically: a run that dies while writing keeps the old file."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _results import append_record, cpu, read_records


def test_a_failed_write_keeps_the_earlier_records_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "results.json"
    append_record(path, {"command": "first", "machine": {}}, {"f1": 0.5})
    before = path.read_bytes()
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    append_record(path, {"command": "second", "machine": {}}, {"f1": 0.6})
    assert synced, "the new records were not flushed to disk before the rename"
    assert [r["command"] for r in read_records(path)] == ["first", "second"]

    def dies(*args: object) -> None:
        raise OSError("disk full")

    path.write_bytes(before)
    monkeypatch.setattr(os, "replace", dies)
    with pytest.raises(OSError):
        append_record(path, {"command": "third", "machine": {}}, {"f1": 0.7})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]
    assert json.loads(before)[0]["command"] == "first"


def test_the_machine_record_names_the_cpu_and_its_int8_fast_paths(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse avx512f avx512_vnni\n\n"
        "processor\t: 1\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse avx512f avx512_vnni\n"
    )
    assert cpu(cpuinfo) == {"model": "AMD EPYC", "fast_paths": ["avx512_vnni"]}
    older = tmp_path / "older"
    older.write_text("model name\t: Intel Xeon\nflags\t\t: fpu sse avx2\n")
    assert cpu(older) == {"model": "Intel Xeon", "fast_paths": []}
