"""One record per benchmark run: what ran, where, when and at which commit, written atomically.

Every figure in README.md and BENCHMARKS.md must be traceable to such a record. A results
file is a JSON list of records, oldest first; a run appends its record and never rewrites
another's, so rows measured with different code stay apart, each with its own commit.

    from _results import append_record, start_record
    record = start_record()            # date, commit, command, machine (load at start)
    ...                                # measure
    append_record(RESULTS / "x.json", record, {"f1": 0.8})

Scripts that choose a default read a benchmark through ``without_test``, which never opens
its test split.

Timings on a shared machine are not idle figures: ``machine`` holds the load average at the
start and end of the run, and ``machine.shared`` says the cores were shared when it was so.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from prodmatch.data import load_catalog, load_pairs
from prodmatch.data.pairs import PairDataset
from prodmatch.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def commit() -> str:
    """The checked-out commit, with ``-dirty`` when tracked files other than results and
    Markdown differ from it (a figure being written into BENCHMARKS.md is not a code change)."""
    try:
        head = _git("rev-parse", "--short=12", "HEAD")
        dirty = _git(
            "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results", ":!*.md"
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True, timeout=30
    )
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    """The hardware and the load on it: a loaded machine's timings are not idle figures."""
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    return {
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu": cpu(),
        "cores": cores,
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "load_average_start": round(load, 2),
        # more runnable processes than cores at the start: timings are those of a busy machine
        "shared": load > cores,
    }


# what int8 and bf16 inference run much faster with (two machines with the same cores and
# memory have encoded 425 and 1,500 titles a second with onnx-int8; records before December 4
# did not say which processor they ran on)
_FAST_PATHS = ("avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16")


def cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, Any]:
    """The processor's model and which fast paths for int8 and bf16 it has: encoding rates,
    and so every share of them, differ between machines by more than any change measured."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return {"model": platform.processor() or None, "fast_paths": None}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    return {
        "model": fields.get("model name") or None,
        "fast_paths": [path for path in _FAST_PATHS if path in flags],
    }


def _memory_gib() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None
    return round(pages * size / 2**30, 1)


def start_record(argv: list[str] | None = None) -> dict[str, Any]:
    """Date, commit, command and machine of the run starting now."""
    args = sys.argv if argv is None else argv
    script = Path(args[0])
    name = script.relative_to(ROOT) if script.is_absolute() and ROOT in script.parents else script
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit(),
        "command": " ".join(["python", str(name), *args[1:]]),
        "machine": machine(),
    }


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of a results file, oldest first ([] when there is none yet)."""
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: not a list of run records")
    return data


def append_record(path: Path, record: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """Finish `record` with `results` and the end load, append it to `path` atomically."""
    done = {**record, "results": results}
    done["machine"] = {**record["machine"], "load_average_end": round(os.getloadavg()[0], 2)}
    records = [*read_records(path), done]
    atomic_write_text(path, json.dumps(records, indent=2) + "\n")
    return done


def latest(path: Path) -> dict[str, Any]:
    """The newest record of a results file."""
    records = read_records(path)
    if not records:
        raise ValueError(f"{path}: no records")
    return records[-1]


def without_test(folder: Path) -> PairDataset:
    """A DeepMatcher folder's tables, train and valid pairs; test.csv is never opened, so a
    choice made from what this returns cannot have seen the test split (its test is empty)."""
    left = load_catalog(folder / "tableA.csv", sep=",")
    right = load_catalog(folder / "tableB.csv", sep=",")
    known = {"left_ids": set(left.ids), "right_ids": set(right.ids)}
    train, valid = (load_pairs(folder / f"{s}.csv", **known, sep=",") for s in ("train", "valid"))
    return PairDataset(left=left, right=right, train=train, valid=valid, test=valid.iloc[:0])
