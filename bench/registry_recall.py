"""How much of exact search the registry's approximate index finds, and how fast.

Generated titles of another seed than the load benchmark's (default 1; the load benchmark
uses 0), encoded; the first `--size` go into the index as a registry would hold them, the
next 1,000 are queries. The exact index (what a registry under `APPROXIMATE_FROM` listings
searches) is compared with the approximate one `VectorIndex.built` makes at that size: the
share of the exact nearest 20 and 5 found, how often the nearest is the same, and the time
a query takes on one thread, searched 500 at a time as a batch is placed.

    python bench/registry_recall.py --size 30000

Writes bench/results/registry_recall.json (appends one record).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _results import RESULTS, append_record, start_record
from registry_load import titles

from prodmatch.encode import TextEncoder
from prodmatch.registry import vectors as registry_vectors
from prodmatch.registry.vectors import VectorIndex
from prodmatch.settings import MatchSettings

QUERIES = 1000


def overlap(exact: np.ndarray, found: np.ndarray, k: int) -> float:
    """The mean share of each query's exact nearest `k` that `found` has among its own."""
    shares = [len(set(e[:k]) & set(f[:k])) / k for e, f in zip(exact, found, strict=True)]
    return float(np.mean(shares))


def query_ms(index: VectorIndex, queries: np.ndarray) -> float:
    started = time.perf_counter()
    for start in range(0, len(queries), 500):
        index.search(queries[start : start + 500], 20)
    return 1000 * (time.perf_counter() - started) / len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=30_000)
    parser.add_argument("--engine", default="onnx-int8")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", default=None, help="a local model folder (the smoke test's)")
    parser.add_argument(
        "--approximate-from", type=int, default=None, help="smaller, for a quick smoke run"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.approximate_from is not None:
        registry_vectors.APPROXIMATE_FROM = args.approximate_from
    record = start_record()
    model = {"model": args.model} if args.model else {}
    settings = MatchSettings(engine=args.engine, **model)
    encoder = TextEncoder(settings.model, engine=settings.engine, cache=False)
    texts, _ = titles(args.size + QUERIES, args.seed)
    encoded = encoder.encode(texts, progress=True)
    stored, queries = encoded[: args.size], encoded[args.size :]
    exact = VectorIndex(encoded.shape[1])
    exact.add(np.arange(1, args.size + 1, dtype=np.int64), stored)
    approximate = VectorIndex.built(exact.dim, *exact.snapshot(), vseq=0)
    if not approximate.cells:
        raise SystemExit(f"{args.size} listings are searched exactly: nothing to compare")
    _, truth = exact.search(queries, 20)
    _, found = approximate.search(queries, 20)
    result = {
        "size": args.size,
        "seed": args.seed,
        "cells": approximate.cells,
        "probed": int(approximate.index.nprobe),
        "recall_at_20": round(overlap(truth, found, 20), 4),
        "recall_at_5": round(overlap(truth, found, 5), 4),
        "same_nearest": round(float(np.mean(truth[:, 0] == found[:, 0])), 4),
        "exact_ms_per_query": round(query_ms(exact, queries), 3),
        "approximate_ms_per_query": round(query_ms(approximate, queries), 3),
    }
    print(result)
    append_record(args.out / "registry_recall.json", record, result)


if __name__ == "__main__":
    main()
