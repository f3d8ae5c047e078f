"""A trained matcher end to end against no training, on the full tables.

Run: .venv/bin/python bench/trained_vs_untrained.py [--datasets ../shared/datasets]
For each benchmark: `train <deepmatcher> --mode head` (train and valid pairs only; test.csv is
never opened), then the full tables matched with that matcher and with the untrained default
(the hybrid score, its threshold calibrated on the candidates, the default decision since
2026-12-02; the fixed 0.39 is recorded too), one to one, against the whole gold mapping: F1 at
the threshold each decides with and the best F1 any threshold gives (a bound: it reads the
gold).
Also the figures training recorded on its validation listings' candidates
(prodmatch.json metrics.end_to_end), and the full tables' F1 at the other thresholds training
recorded (chosen on all validation listings; on the validation pairs). Appends a record to
bench/results/trained_vs_untrained.json. `--no-refit` trains as `train --no-refit`: the head
chosen on unseen products, not refitted on all the training pairs (issue #12).
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from _results import RESULTS, ROOT, append_record, start_record, without_test
from calibration import _full, measure

from prodmatch.linker import Linker
from prodmatch.matcher import matcher_settings
from prodmatch.settings import MatchSettings
from prodmatch.train.api import train_matcher
from prodmatch.train.prior_head import PriorConfig

PAIRS = {"abt-buy-full": "abt-buy", "amazon-google-full": "amazon-google"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--full", default="abt-buy-full")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--no-refit", action="store_true", help="Train as `train --no-refit` (issue #12)."
    )
    parser.add_argument(
        "--classifier",
        choices=("mlp", "prior"),
        default="mlp",
        help="Train as `train --classifier` (prior: `prodmatch.train.prior_head`).",
    )
    args = parser.parse_args()
    record = start_record()
    results: dict[str, Any] = {}
    for name in filter(None, args.full.split(",")):
        head = PriorConfig() if args.classifier == "prior" else None
        results[name] = compare(args.datasets, name, refit=not args.no_refit, head=head)
        row = results[name]
        print(
            f"{name}: trained F1 {row['trained']['fixed_f1']:.3f} (best "
            f"{row['trained']['best_f1']:.3f}), untrained {row['untrained']['calibrated_f1']:.3f} "
            f"(fixed {row['untrained']['fixed_f1']:.3f}, best {row['untrained']['best_f1']:.3f}); "
            "on validation candidates trained "
            f"{row['validation']['trained_f1']:.3f}, untrained "
            f"{row['validation']['untrained_f1']:.3f}"
        )
    append_record(args.out / "trained_vs_untrained.json", record, results)


def compare(
    datasets: Path, name: str, *, refit: bool = True, head: PriorConfig | None = None
) -> dict[str, Any]:
    """Train a head-mode matcher on the DeepMatcher pairs, then match the full tables."""
    data = without_test(datasets / PAIRS[name])
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "matcher"
        pairs = (data.left, data.right, data.train, data.valid)
        report = train_matcher(
            *pairs, folder, mode="head", progress=False, refit=refit, head_config=head
        )
        full = _full(datasets / name)
        settings = matcher_settings(folder)
        trained = measure(Linker(settings, progress=False), *full)
        record = report.metrics["end_to_end"]
        # the other thresholds training recorded, and the one a refit restated
        thresholds = {k: record[k] for k in ("all_listings_threshold", "pair_list_threshold")}
        if "refit" in report.metrics:
            thresholds["refit_chosen_threshold"] = report.metrics["refit"]["chosen_threshold"]
        others = {
            f"{name}_f1": measure(Linker(replace(settings, threshold=cut), progress=False), *full)[
                "fixed_f1"
            ]
            for name, cut in thresholds.items()
        }
    untrained = measure(Linker(MatchSettings(), progress=False), *full)
    keep = ("best_threshold", "best_f1", "fixed_threshold", "fixed_f1", "candidates")
    return {
        "trained": {k: trained[k] for k in keep} | others,
        "untrained": {k: untrained[k] for k in (*keep, "calibrated_threshold", "calibrated_f1")},
        "validation": report.metrics["end_to_end"],
        "refit": {k: v for k, v in report.metrics.get("refit", {}).items() if k != "history"},
        "train_seconds": round(report.seconds, 1),
    }


if __name__ == "__main__":
    main()
