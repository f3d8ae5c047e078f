"""Choose each scorer's default threshold on synthetic catalogs (never on a benchmark).

Run: .venv/bin/python bench/choose_thresholds.py [--size 2000] [--seed 1] [--scorers hybrid]
Prints, per scorer, the threshold with the best end-to-end F1 under one-to-one assignment,
and appends a record (date, commit, command, machine, each scorer's best threshold and F1, and
the F1 at the current default) to bench/results/thresholds.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _results import RESULTS, append_record, start_record

from prodmatch.data import catalog_from_frame
from prodmatch.evaluate import evaluate_linkage
from prodmatch.linker import Linker
from prodmatch.settings import MatchSettings
from prodmatch.synth import generate_catalogs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scorers", default="hybrid,dense,tfidf,fuzzy")
    parser.add_argument("--model", default=None, help="Text encoder (default: the default).")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    record = start_record()
    world = generate_catalogs(args.size, seed=args.seed)
    left = catalog_from_frame(world.left, name="a")
    right = catalog_from_frame(world.right, name="b")
    results: dict[str, dict[str, float]] = {}
    for scorer in args.scorers.split(","):
        retrieval = "sparse" if scorer in ("tfidf", "fuzzy") else "hybrid"
        chosen = {"scorer": scorer, "retrieval": retrieval}
        settings = MatchSettings.from_dict(chosen | ({"model": args.model} if args.model else {}))
        linker = Linker(settings, progress=False)
        report = evaluate_linkage(left, right, world.gold, linker, ks=(10,))
        results[scorer] = {
            "best_threshold": round(report.oracle_threshold, 4),
            "best_f1": round(report.oracle_f1, 4),
            "default_threshold": report.threshold,
            "f1_at_default": round(report.f1, 4),
            "dense_weight": settings.dense_weight,
            "code_weight": settings.code_weight,
        }
        print(
            f"{scorer}: best threshold {report.oracle_threshold:.3f} "
            f"(F1 {report.oracle_f1:.3f}); at current default {report.threshold}: "
            f"F1 {report.f1:.3f}"
        )
    append_record(args.out / "thresholds.json", record, results)


if __name__ == "__main__":
    main()
