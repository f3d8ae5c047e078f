"""Decide on the validation splits whether each of the pair classifier's signals earns its place.

    .venv/bin/python bench/choose_signals.py [--datasets ../shared/datasets] [--drop code_variant]

For abt-buy and amazon-google, trains head-mode matchers (`prodmatch train DIR --mode head`:
the frozen default encoder, projection head and pair classifier; seconds to a minute each)
with every signal and with the ``--drop`` signal left out, for several seeds, and compares
their validation F1 (the classifier's threshold chosen on the same validation pairs, as
training does). No test pair is read. The rule, fixed before looking: a signal is kept when
leaving it out lowers the validation F1 averaged over seeds and both datasets.

Appends a record (date, commit, command, machine, every run, the decision) to
bench/results/signals.json.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from _results import RESULTS, append_record, start_record, without_test

import prodmatch.train.api as train_api
import prodmatch.train.classifier_stage as classifier_stage
from prodmatch.matcher import HEAD_DIR
from prodmatch.matcher.head import MatchHead
from prodmatch.settings import MatchSettings
from prodmatch.train.head_trainer import HeadTrainingConfig

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("abt-buy", "amazon-google")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--names", default=",".join(DATASETS))
    parser.add_argument("--drop", default="code_variant", help="The signal to test.")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--model", default=None, help="Text encoder (default: the default).")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.drop not in train_api.EXTRA_COLUMNS:
        parser.error(f"--drop must be one of {', '.join(train_api.EXTRA_COLUMNS)}")
    record = start_record()
    settings = MatchSettings(model=args.model) if args.model else MatchSettings()
    runs: list[dict[str, Any]] = []
    for name in args.names.split(","):
        dataset = without_test(args.datasets / name)
        for seed in [int(s) for s in args.seeds.split(",")]:
            for variant in ("all", f"without {args.drop}"):
                columns = tuple(
                    c for c in train_api.EXTRA_COLUMNS if variant == "all" or c != args.drop
                )
                with _signals(columns), tempfile.TemporaryDirectory() as tmp:
                    report = train_api.train_matcher(
                        dataset.left,
                        dataset.right,
                        dataset.train,
                        dataset.valid,
                        Path(tmp) / "matcher",
                        mode="head",
                        settings=settings,
                        head_config=HeadTrainingConfig(seed=seed),
                        progress=False,
                    )
                    read = MatchHead.load(Path(tmp) / "matcher" / HEAD_DIR).extra_columns
                head = report.metrics["head"]
                runs.append(
                    {
                        "dataset": name,
                        "seed": seed,
                        "signals": list(read),  # what the trained classifier reads
                        "variant": variant,
                        "valid_f1": round(float(head["f1"]), 4),
                    }
                )
                print(runs[-1], flush=True)
    append_record(args.out / "signals.json", record, decide(runs, args.drop, settings.model))


@contextlib.contextmanager
def _signals(columns: tuple[str, ...]) -> Iterator[None]:
    """Train with only `columns` as the classifier's scalar signals (a bench-only switch: the
    trained head records the columns it reads, so matching needs no switch)."""
    saved = classifier_stage.EXTRA_COLUMNS  # read by the classifier stage when it runs
    classifier_stage.EXTRA_COLUMNS = columns
    try:
        yield
    finally:
        classifier_stage.EXTRA_COLUMNS = saved


def decide(runs: list[dict[str, Any]], signal: str, model: str) -> dict[str, Any]:
    """Mean validation F1 with and without the signal, per dataset and overall."""
    variants = ("all", f"without {signal}")
    means: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(r["dataset"] for r in runs):
        means[name] = {
            v: _mean(r["valid_f1"] for r in runs if r["dataset"] == name and r["variant"] == v)
            for v in variants
        }
    overall = {v: _mean(m[v] for m in means.values()) for v in variants}
    return {
        "signal": signal,
        "model": model,
        "rule": "keep the signal when leaving it out lowers the mean validation F1",
        "mean_valid_f1": {**means, "both": overall},
        "keep": overall["all"] > overall[variants[1]],
        "runs": runs,
    }


def _mean(values: Iterable[float]) -> float:
    return round(float(np.mean(list(values))), 4)


if __name__ == "__main__":
    main()
