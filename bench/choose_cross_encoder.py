"""Choose the cross-encoder's epoch cap on the VALIDATION splits only; keep the matchers for
`choose_rerank_floor.py` (the floor and both reading orders).

    .venv/bin/python bench/choose_cross_encoder.py [--datasets ../shared/datasets] \\
        [--names abt-buy,amazon-google] [--epochs 4] [--train-pairs 2000] [--keep DIR]

For each dataset, trains a head-mode matcher with a cross-encoder (`prodmatch train DIR --mode
head --cross-encoder`: the frozen default encoder, the pair classifier on all training pairs,
the cross-encoder on the same base model) with early stopping off, so every one of the
`--epochs` epochs runs and is scored on the validation pairs (the cross-encoder alone, at the
threshold best on those pairs, as training picks its epoch). Training reads the train and
valid pairs through `without_test`: test.csv is never opened.

Scope, for a 2-core machine: the cross-encoder sees a stratified, seeded sample of
`--train-pairs` training pairs (the classifier sees them all); `0` uses every pair. An epoch
over fewer pairs is fewer steps, so the cap found here is, if anything, higher than the full
data would need. The learning rate decays linearly over all `--epochs` epochs, so epoch k of
this run is close to, not the same as, the last epoch of a k-epoch run.

The rule, fixed before looking: for each cap c, the validation F1 a run capped at c keeps (the
best of epochs 1..c), averaged over the datasets; the chosen cap is the smallest c within
0.2 points of the best cap. Appends a record (date, commit, command, machine, each epoch's
figures, the choice) to bench/results/cross_epochs.json; `--summary` applies the rule to the
newest run of each dataset there (when each dataset ran on its own) and appends that too.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _results import RESULTS, append_record, read_records, start_record, without_test

import prodmatch.train.cross_trainer as cross_trainer
from prodmatch.settings import MatchSettings
from prodmatch.train.api import train_matcher
from prodmatch.train.cross_trainer import CrossTrainingConfig

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("abt-buy", "amazon-google")
TOLERANCE = 0.002


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--names", default=",".join(DATASETS))
    parser.add_argument("--epochs", type=int, default=4, help="Epochs run (no early stopping).")
    parser.add_argument("--train-pairs", type=int, default=2000, help="0: every pair.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=None, help="Text encoder (default: the default).")
    parser.add_argument("--keep", type=Path, help="Keep the matchers here (NAME-cross).")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--summary",
        action="store_true",
        help="Train nothing: decide on the newest run of each dataset in the results file.",
    )
    args = parser.parse_args()
    record = start_record()
    if args.summary:
        append_record(args.out / "cross_epochs.json", record, summary(args.out))
        return
    settings = MatchSettings(model=args.model) if args.model else MatchSettings()
    config = CrossTrainingConfig(epochs=args.epochs, patience=args.epochs, seed=args.seed)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.names.split(","):
            data = without_test(args.datasets / name)
            sample = stratified_sample(data.train, args.train_pairs, args.seed)
            output = (args.keep or Path(tmp)) / f"{name}-cross"
            with _cross_pairs(sample):
                report = train_matcher(
                    data.left,
                    data.right,
                    data.train,
                    data.valid,
                    output,
                    mode="head",
                    settings=settings,
                    cross_config=config,
                    overwrite=True,
                    progress=False,
                )
            cross = report.metrics["cross_encoder"]
            runs.append(
                {
                    "dataset": name,
                    "matcher": str(output) if args.keep else None,
                    "cross_train_pairs": len(sample),
                    "cross_train_matches": int(sample["label"].sum()),
                    "classifier_train_pairs": len(data.train),
                    "valid_pairs": len(data.valid),
                    "classifier_valid_f1": round(float(report.metrics["head"]["f1"]), 4),
                    "valid_f1_by_epoch": [round(float(h["valid_f1"]), 4) for h in cross["history"]],
                    "best_epoch": int(cross["best_epoch"]),
                    "blend_valid_f1": round(float(cross["blend_f1"]), 4),
                    "cross_seconds": round(float(cross["seconds"]), 1),
                }
            )
            print(runs[-1], flush=True)
    results = {"config": {**vars(config)}, "model": settings.model, **decide(runs)}
    append_record(args.out / "cross_epochs.json", record, results)


def stratified_sample(pairs: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """`size` pairs with the labels' shares kept, the same for a seed (all when size is 0 or
    not smaller than the pairs)."""
    if size <= 0 or size >= len(pairs):
        return pairs
    share = size / len(pairs)
    parts = [
        group.sample(n=max(1, round(len(group) * share)), random_state=seed)
        for _, group in pairs.groupby("label", sort=True)
    ]
    return pd.concat(parts).sort_index()


@contextlib.contextmanager
def _cross_pairs(sample: pd.DataFrame) -> Iterator[None]:
    """Train the cross-encoder on `sample` instead of every training pair (a bench-only switch:
    the classifier still learns from all of them)."""
    original: Callable[..., Any] = cross_trainer.train_cross_encoder

    def on_sample(
        model_path: Path, listings: Any, train: pd.DataFrame, *rest: Any, **kw: Any
    ) -> Any:
        return original(model_path, listings, sample, *rest, **kw)

    cross_trainer.train_cross_encoder = on_sample  # type: ignore[assignment]
    try:
        yield
    finally:
        cross_trainer.train_cross_encoder = original  # type: ignore[assignment]


def summary(out: Path) -> dict[str, Any]:
    """The rule applied to the newest run of each dataset (datasets may be trained by separate
    invocations, one each, to use both cores)."""
    newest: dict[str, dict[str, Any]] = {}
    for past in read_records(out / "cross_epochs.json"):
        for run in past["results"].get("runs", []) if "summary_of" not in past["results"] else []:
            newest[run["dataset"]] = {**run, "record": past["date"], "commit": past["commit"]}
    if not newest:
        raise SystemExit(f"{out / 'cross_epochs.json'}: no runs to summarise")
    return {
        "summary_of": sorted(r["record"] for r in newest.values()),
        **decide(list(newest.values())),
    }


def decide(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The validation F1 each cap keeps, averaged over the datasets, and the chosen cap."""
    epochs = min(len(r["valid_f1_by_epoch"]) for r in runs)
    kept = {
        cap: round(float(np.mean([max(r["valid_f1_by_epoch"][:cap]) for r in runs])), 4)
        for cap in range(1, epochs + 1)
    }
    best = max(kept.values())
    return {
        "rule": f"the smallest cap whose mean kept valid F1 is at most {TOLERANCE} below the best",
        "mean_valid_f1_kept_by_cap": kept,
        "chosen_epochs": min(cap for cap, f1 in kept.items() if f1 >= best - TOLERANCE),
        "runs": runs,
    }


if __name__ == "__main__":
    main()
