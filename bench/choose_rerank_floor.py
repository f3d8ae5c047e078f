"""Choose `rerank_floor` (and check both reading orders) on a split's VALIDATION pairs only.

    .venv/bin/python bench/choose_rerank_floor.py MATCHER ../shared/datasets/amazon-google \\
        [--floors 0,0.01,0.05] [--orders]

MATCHER is a folder trained with `prodmatch train DIR --cross-encoder`. The cross-encoder reads
every validation pair once (timed); each floor is then replayed exactly: pairs the classifier
gives less than the floor keep the blend's settled value, as `Reranker.rescore` does, and the
validation F1 is taken at the threshold best on those pairs. The cost of a floor is the share
of pairs the cross-encoder re-reads (load-independent) and the time that share took in this
run. With --orders the pairs are read a second time, right listing first, the two logits
averaged and the blend refitted on the validation pairs, against a refit on one order. The
blend was fitted on these same validation pairs, so every F1 here is optimistic, alike for
each choice. No test pair is read.

The rules, fixed before looking: the largest floor whose validation F1 is at most 0.2 points
below floor 0's (across datasets: the smallest of their choices); both orders only when they
raise the refitted blend's validation F1 by more than 0.2 points (they double the time).
Appends a record (date, commit, command, machine, figures, the choice) to
bench/results/rerank_floor.json.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from _results import RESULTS, append_record, start_record, without_test

from prodmatch.data.pairs import PairDataset
from prodmatch.decide import best_threshold
from prodmatch.linker import Linker
from prodmatch.matcher import matcher_settings
from prodmatch.rerank.reranker import fit_blend

TOLERANCE = 0.002


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("matcher", type=Path)
    parser.add_argument("dataset", type=Path, help="A DeepMatcher folder (its valid.csv).")
    parser.add_argument("--floors", default="0,0.001,0.005,0.01,0.02,0.05,0.1,0.2")
    parser.add_argument("--orders", action="store_true", help="Also read both orders.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    record = start_record()
    settings = matcher_settings(args.matcher)
    settings.rerank_floor = 0.0
    linker = Linker(settings, progress=False)
    if linker.head is None or linker.reranker is None:
        parser.error(f"{args.matcher}: not a matcher with a cross-encoder")
    data = without_test(args.dataset)
    valid = data.valid
    head_p, left_texts, right_texts = _classifier(linker, data)
    labels = valid["label"].to_numpy()
    model, blend = linker.reranker.model, linker.reranker.blend
    start = time.perf_counter()
    logits = model.logits(left_texts, right_texts, batch_size=linker.reranker.batch_size)
    seconds = time.perf_counter() - start
    floors = []
    for floor in [float(f) for f in args.floors.split(",")]:
        read = head_p >= floor
        cross = np.where(read, logits, blend.settled_cross)
        threshold, f1 = best_threshold(blend.combine(head_p, cross), labels)
        floors.append(
            {
                "floor": floor,
                "valid_f1": round(f1, 4),
                "threshold": round(threshold, 4),
                "reread_share": round(float(read.mean()), 4),
                "reread_seconds": round(seconds * float(read.mean()), 1),
            }
        )
        print(floors[-1], flush=True)
    results: dict[str, Any] = {
        "matcher": str(args.matcher),
        "dataset": args.dataset.name,
        "valid_pairs": len(valid),
        "cross_seconds_all_pairs": round(seconds, 1),
        "rule": f"the largest floor whose valid F1 is at most {TOLERANCE} below floor 0's",
        "floors": floors,
        "chosen_floor": _choose(floors),
    }
    if args.orders:
        reverse = model.logits(right_texts, left_texts, batch_size=linker.reranker.batch_size)
        both = (logits + reverse) / 2
        results["orders"] = {
            "one": _refit_f1(head_p, logits, labels),
            "both": _refit_f1(head_p, both, labels),
            "cross_alone_one": round(best_threshold(logits, labels)[1], 4),
            "cross_alone_both": round(best_threshold(both, labels)[1], 4),
        }
        results["orders_rule"] = (
            f"both orders only when the refitted blend's valid F1 is more than {TOLERANCE} "
            "above one order's (they double the cross-encoder's time)"
        )
        results["both_orders_chosen"] = (
            results["orders"]["both"] > results["orders"]["one"] + TOLERANCE
        )
        print(results["orders"], flush=True)
    append_record(args.out / "rerank_floor.json", record, results)


def _classifier(
    linker: Linker, data: PairDataset
) -> tuple[npt.NDArray[np.float64], list[str], list[str]]:
    """The classifier's probabilities of the validation pairs, and the pairs' texts."""
    valid = data.valid
    left, right = linker.prepare(
        data.left.select(list(dict.fromkeys(valid["left_id"]))),
        data.right.select(list(dict.fromkeys(valid["right_id"]))),
    )
    assert linker.head is not None and left.vectors is not None and right.vectors is not None
    li = left.catalog.records.index.get_indexer(valid["left_id"])
    ri = right.catalog.records.index.get_indexer(valid["right_id"])
    features = linker.features(left, right, li, ri)
    extra = linker.head.extra_matrix(features)
    head_p = linker.head.score(left.vectors[li], right.vectors[ri], extra)
    return (
        np.asarray(head_p, dtype=np.float64),
        [left.texts[i] for i in li],
        [right.texts[i] for i in ri],
    )


def _refit_f1(
    head_p: npt.NDArray[np.float64], logits: npt.NDArray[np.float64], labels: Any
) -> float:
    blend = fit_blend(head_p, logits, labels)
    return round(best_threshold(blend.combine(head_p, logits), labels)[1], 4)


def _choose(floors: list[dict[str, Any]]) -> float:
    base = next((f["valid_f1"] for f in floors if f["floor"] == 0.0), None)
    if base is None:
        return min(f["floor"] for f in floors)
    return max(f["floor"] for f in floors if f["valid_f1"] >= base - TOLERANCE)


if __name__ == "__main__":
    main()
