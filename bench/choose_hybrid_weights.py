"""Choose the hybrid scorer's weights (dense_weight, code_weight) on the validation splits only.

    .venv/bin/python bench/choose_hybrid_weights.py [--datasets ../shared/datasets]

For abt-buy and amazon-google, each grid point (the hybrid score is ``w * dense + (1 - w) *
sparse + c * codes``; the signals are computed once) is scored two ways, both on validation
data only (`_results.without_test` never opens test.csv):

- pair F1 on the VALIDATION pairs at the threshold best on those same pairs (and the
  threshold-free average precision), the TF-IDF statistics fitted on those pairs' listings;
- the way `match` uses the score: the left listing of every validation match is matched
  against the whole (unlabelled) right table, retrieval as `match` does it with k = 20 both
  ways, and the mean reciprocal rank (MRR) of its true match among its scored candidates (0
  when not retrieved) is taken.

The rule: the points whose mean pair F1 over the two datasets is within ``--margin`` (1 point:
each validation split holds about 200 matches, so smaller differences are within its sampling
noise) of the best; among them, the one with the best mean MRR, since the default scorer ranks
candidates in `match`. (A first version chose by pair F1 alone: dense_weight 0, code_weight
0.15. The MRR was added after that choice lowered the end-to-end figures on the full tables,
whose gold includes the test pairs; BENCHMARKS.md says so.)

Appends a record (date, commit, command, machine, the whole grid, the choice) to
bench/results/hybrid_weights.json.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from _results import RESULTS, append_record, start_record, without_test
from sklearn.metrics import average_precision_score

from prodmatch.decide import best_threshold
from prodmatch.linker import Linker, with_ids
from prodmatch.score import score_pairs
from prodmatch.settings import MatchSettings

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("abt-buy", "amazon-google")
DENSE_WEIGHTS = [round(0.05 * n, 2) for n in range(21)]
CODE_WEIGHTS = [round(0.05 * n, 2) for n in range(9)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--names", default=",".join(DATASETS))
    parser.add_argument("--model", default=None, help="Text encoder (default: the default).")
    parser.add_argument("--margin", type=float, default=0.01)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    record = start_record()
    defaults = MatchSettings()
    settings = MatchSettings(model=args.model) if args.model else defaults
    grid: dict[str, dict[str, dict[str, float]]] = {}
    ranks: dict[str, dict[str, float]] = {}
    for name in args.names.split(","):
        grid[name] = valid_grid(args.datasets / name, settings)
        ranks[name] = valid_ranks(args.datasets / name, settings)
    results = choose(grid, ranks, (defaults.dense_weight, defaults.code_weight), args.margin)
    results["mean_reciprocal_rank"] = ranks
    results["model"] = settings.model
    results["grid"] = grid
    append_record(args.out / "hybrid_weights.json", record, results)
    for key in ("default", "best", "best_by_mean_reciprocal_rank", "chosen"):
        print(key, results[key])


def valid_grid(folder: Path, settings: MatchSettings) -> dict[str, dict[str, float]]:
    """Validation F1 (threshold chosen on valid) and average precision at each grid point."""
    dataset = without_test(folder)
    valid = dataset.valid
    linker = Linker(settings, progress=False)
    left = dataset.left.select(list(dict.fromkeys(valid["left_id"])))
    right = dataset.right.select(list(dict.fromkeys(valid["right_id"])))
    left_side, right_side = linker.prepare(left, right)
    li = left_side.catalog.records.index.get_indexer(valid["left_id"])
    ri = right_side.catalog.records.index.get_indexer(valid["right_id"])
    features = linker.features(left_side, right_side, li, ri)
    labels = valid["label"].to_numpy()
    grid = {}
    for dense_weight in DENSE_WEIGHTS:
        for code_weight in CODE_WEIGHTS:
            scores = score_pairs(
                features, "hybrid", dense_weight=dense_weight, code_weight=code_weight
            )
            threshold, f1 = best_threshold(scores, labels)
            grid[_key(dense_weight, code_weight)] = {
                "f1": round(f1, 4),
                "threshold": round(threshold, 4),
                "average_precision": round(float(average_precision_score(labels, scores)), 4),
            }
    return grid


def valid_ranks(folder: Path, settings: MatchSettings) -> dict[str, float]:
    """Mean reciprocal rank of each validation match's right listing among its left listing's
    scored candidates from the whole right table, at each grid point."""
    dataset = without_test(folder)
    matches = dataset.valid[dataset.valid["label"] == 1]
    linker = Linker(replace(settings, k=20), progress=False)
    left_side, right_side = linker.prepare(
        dataset.left.select(list(dict.fromkeys(matches["left_id"]))), dataset.right
    )
    found = with_ids(linker.candidates(left_side, right_side), left_side, right_side)
    gold = set(zip(matches["left_id"], matches["right_id"], strict=True))
    is_gold = np.array(
        [pair in gold for pair in zip(found["left_id"], found["right_id"], strict=True)]
    )
    ranks = {}
    for dense_weight in DENSE_WEIGHTS:
        for code_weight in CODE_WEIGHTS:
            scores = score_pairs(
                found, "hybrid", dense_weight=dense_weight, code_weight=code_weight
            )
            frame = found[["left"]].assign(score=scores, gold=is_gold)
            frame["rank"] = frame.groupby("left")["score"].rank(ascending=False, method="average")
            reciprocal = (1.0 / frame.loc[frame["gold"], "rank"]).sum()
            ranks[_key(dense_weight, code_weight)] = round(float(reciprocal) / len(gold), 4)
    return ranks


def choose(
    grid: dict[str, dict[str, dict[str, float]]],
    ranks: dict[str, dict[str, float]],
    default: tuple[float, float],
    margin: float,
) -> dict[str, Any]:
    """Among the points within `margin` of the best mean validation F1, the best mean MRR."""

    def mean(key: str, metric: str = "f1") -> float:
        return float(np.mean([points[key][metric] for points in grid.values()]))

    def mrr(key: str) -> float:
        return float(np.mean([points[key] for points in ranks.values()]))

    keys = list(next(iter(grid.values())))
    best = max(keys, key=mean)
    near = [k for k in keys if mean(k) >= mean(best) - margin]
    chosen = max(near, key=mrr)
    default_key = _key(*default)

    def summary(key: str) -> dict[str, Any]:
        return {"weights": key, "mean_f1": round(mean(key), 4), "mean_mrr": round(mrr(key), 4)}

    return {
        "rule": f"among points within {margin} of the best mean valid pair F1, the best mean MRR",
        "default": summary(default_key),
        "best": {
            **summary(best),
            "mean_average_precision": round(mean(best, "average_precision"), 4),
        },
        "best_by_average_precision": max(keys, key=lambda k: mean(k, "average_precision")),
        "best_by_mean_reciprocal_rank": summary(max(keys, key=mrr)),
        "within_margin": len(near),
        "chosen": summary(chosen),
        "changed": chosen != default_key,
    }


def _key(dense_weight: float, code_weight: float) -> str:
    return f"dense_weight={dense_weight:.2f},code_weight={code_weight:.2f}"


if __name__ == "__main__":
    main()
