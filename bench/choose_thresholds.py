"""Choose each scorer's default threshold on synthetic catalogs (never on a benchmark).

Run: .venv/bin/python bench/choose_thresholds.py [--size 2000] [--seed 1]
Prints, per scorer, the threshold with the best end-to-end F1 under one-to-one assignment.
"""

from __future__ import annotations

import argparse

from prodmatch.data import catalog_from_frame
from prodmatch.evaluate import evaluate_linkage
from prodmatch.linker import Linker
from prodmatch.settings import MatchSettings
from prodmatch.synth import generate_catalogs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    world = generate_catalogs(args.size, seed=args.seed)
    left = catalog_from_frame(world.left, name="a")
    right = catalog_from_frame(world.right, name="b")
    for scorer in ("hybrid", "dense", "tfidf", "fuzzy"):
        retrieval = "sparse" if scorer in ("tfidf", "fuzzy") else "hybrid"
        settings = MatchSettings.from_dict({"scorer": scorer, "retrieval": retrieval})
        linker = Linker(settings, progress=False)
        report = evaluate_linkage(left, right, world.gold, linker, ks=(10,))
        print(
            f"{scorer}: best threshold {report.oracle_threshold:.3f} "
            f"(F1 {report.oracle_f1:.3f}); at current default {report.threshold}: "
            f"F1 {report.f1:.3f}"
        )


if __name__ == "__main__":
    main()
