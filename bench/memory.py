"""Peak memory of the in-memory path (`Linker`): dedupe or linkage of synthetic catalogs.

    .venv/bin/python bench/memory.py --task dedupe --listings 25000
    .venv/bin/python bench/memory.py --task linkage --left 2500 --right 22000
    .venv/bin/python bench/memory.py --task features --listings 25000 --pairs 1000000

Generates catalogs with `prodmatch.synth.generate_catalogs` (dedupe: both platforms' listings in
one catalog, ids prefixed; linkage: the first `--left` and `--right` listings of each side),
runs the same steps as `prodmatch dedupe` / `prodmatch match` in this process, and records the
process's peak resident memory (ru_maxrss) after each step, the candidates' count and the bytes
the candidate frame holds. `--task features` isolates the scoring step: `Linker.features` of
`--pairs` random candidate pairs among `--listings` listings with random unit vectors (no
encoder, no generator: seconds), the step where the candidates' vectors are gathered. One record
per run is appended to `bench/results/memory.json`.

Memory is the figure here: the machine is shared, so the seconds are recorded only as a rough
indication (`"timing": "contended"`). Vectors come from the encoder cache when the same texts
were encoded before, so a second run measures matching, not encoding; the model is loaded in
every run, as a first run would. Run each measurement in a fresh process (this script is one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from prodmatch.data import catalog_from_frame
from prodmatch.data.catalog import Catalog
from prodmatch.encode.models import DEFAULT_MODEL
from prodmatch.io import atomic_write_text
from prodmatch.linker import Linker, Side
from prodmatch.settings import MatchSettings
from prodmatch.synth import generate_catalogs

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "memory.json"
OVERLAP = 0.8  # the generator's default: each side holds 0.9 of the products


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", choices=("dedupe", "linkage", "features"), default="dedupe")
    parser.add_argument("--pairs", type=int, default=1_000_000, help="features: pairs scored")
    parser.add_argument("--listings", type=int, default=25_000, help="dedupe: catalog size")
    parser.add_argument("--left", type=int, default=2_500, help="linkage: left listings")
    parser.add_argument("--right", type=int, default=22_000, help="linkage: right listings")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--engine", default="torch")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--label", default="", help="a note stored with the record")
    parser.add_argument(
        "--code-commit", default=None, help="the commit of the sources run, when not this repo's"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    settings = MatchSettings(model=args.model, engine=args.engine, k=args.k)
    linker = Linker(settings, progress=False)
    steps: dict[str, dict[str, float]] = {}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps[name] = {"peak_rss_mb": peak_rss_mb(), "seconds": round(now - clock, 1)}
        clock = now

    if args.task != "features":
        assert linker.encoder.model is not None  # loaded as in a first run, even when cached
    if args.task == "features":
        side, li, ri = random_side(args.listings, args.pairs, args.seed)
        step("generate")
        pairs = linker.features(side, side, li, ri)
        step("features")
        decided, sizes = pairs.assign(decision=False), {"listings": args.listings}
    elif args.task == "dedupe":  # as `prodmatch dedupe` runs it
        catalog = dedupe_catalog(args.listings, args.seed)
        step("generate")
        pairs, _ = linker.dedupe(catalog)
        step("dedupe")
        decided, sizes = pairs, {"listings": len(catalog)}
    else:  # as `prodmatch match` runs it
        left, right = linkage_catalogs(args.left, args.right, args.seed)
        step("generate")
        left_side, right_side = linker.prepare(left, right)
        step("prepare")
        pairs = linker.candidates(left_side, right_side)
        step("candidates")
        decided = linker.decide(pairs)
        step("decide")
        sizes = {"left_rows": len(left), "right_rows": len(right)}
    frame_mb = pairs.memory_usage(deep=True).sum() / 2**20
    record: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": args.code_commit or _commit(),
        "command": "python bench/memory.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {_cores()} cores, {_memory_gib()} GiB, shared",
        "timing": "contended (machine shared with other jobs): seconds are indicative only",
        "label": args.label,
        "task": args.task,
        **sizes,
        "settings": settings.to_dict(),
        "candidates": len(pairs),
        "candidate_frame_mb": round(frame_mb, 1),
        "candidate_dtypes": {str(c): str(t) for c, t in pairs.dtypes.items()},
        "decided": int(decided["decision"].sum()),
        "steps": steps,
        "peak_rss_mb": peak_rss_mb(),
    }
    append(args.out, record)
    print(json.dumps(record, indent=2))


def dedupe_catalog(listings: int, seed: int) -> Catalog:
    """About `listings` listings: both synthetic platforms in one catalog, ids prefixed."""
    world = generate_catalogs(round(listings / (2 * (OVERLAP + (1 - OVERLAP) / 2))), seed=seed)
    frames = [
        frame.assign(id=prefix + frame["id"].astype(str))
        for prefix, frame in (("a-", world.left), ("b-", world.right))
    ]
    return catalog_from_frame(pd.concat(frames, ignore_index=True), name="combined")


def random_side(listings: int, pairs: int, seed: int) -> tuple[Side, Any, Any]:
    """A prepared side of random unit vectors and TF-IDF rows (150 n-grams each), no codes,
    and random (left, right) positions of `pairs` candidates."""
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((listings, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    columns = np.sort(rng.choice(200_000, size=(listings, 150)), axis=1)
    tfidf = sp.csr_matrix(
        (
            np.full(columns.size, 0.08, np.float32),
            columns.ravel(),
            np.arange(0, columns.size + 1, 150),
        ),
        shape=(listings, 200_000),
    )
    tfidf.sum_duplicates()
    ids = [f"x{i}" for i in range(listings)]
    catalog = catalog_from_frame(pd.DataFrame({"id": ids, "title": ids}), name="random")
    side = Side(catalog, texts=[], plain=[], codes=[frozenset()] * listings, vectors=vectors)
    side.tfidf = tfidf
    return side, rng.integers(0, listings, pairs), rng.integers(0, listings, pairs)


def linkage_catalogs(left: int, right: int, seed: int) -> tuple[Catalog, Catalog]:
    """The first `left` and `right` listings of two catalogs of a generated world."""
    world = generate_catalogs(round(max(left, right) / (OVERLAP + (1 - OVERLAP) / 2)), seed=seed)
    return (
        catalog_from_frame(world.left.head(left), name="left"),
        catalog_from_frame(world.right.head(right), name="right"),
    )


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports KiB); defined here so that the
    script also measures older sources (`--code-commit`)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def append(path: Path, record: dict[str, Any]) -> None:
    """One record per run, appended; the file is replaced atomically."""
    runs = json.loads(path.read_text()) if path.is_file() else []
    atomic_write_text(path, json.dumps([*runs, record], indent=2) + "\n")


def _commit() -> str:
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True
    ).stdout.strip()
    return head + ("-dirty" if dirty else "")


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def _memory_gib() -> int:
    with open("/proc/meminfo") as handle:
        kib = int(handle.readline().split()[1])
    return round(kib / 1024**2)


if __name__ == "__main__":
    main()
