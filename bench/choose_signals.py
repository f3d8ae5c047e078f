"""Decide on the validation splits whether each of the pair classifier's signals earns its place.

    .venv/bin/python bench/choose_signals.py [--datasets ../shared/datasets] [--drop code_variant]
    .venv/bin/python bench/choose_signals.py --add all [--seeds 0,1]

`--add` weighs signals the classifier does not read yet (the attribute signals of
`prodmatch.text.attributes`, in groups: price is price_ratio with price_missing) by adding
each group alone to today's signals; see :func:`choose_additions`. Otherwise (`--drop`):

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
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _results import RESULTS, append_record, start_record, without_test

import prodmatch.train.api as train_api
import prodmatch.train.classifier_stage as classifier_stage
from prodmatch.data.pairs import PairDataset
from prodmatch.linker import Linker
from prodmatch.matcher import HEAD_DIR
from prodmatch.matcher.head import MatchHead
from prodmatch.settings import MatchSettings
from prodmatch.text.attributes import ATTRIBUTE_COLUMNS
from prodmatch.train.head_trainer import (
    HeadTrainingConfig,
    ListingVectors,
    pair_features,
    train_head,
)
from prodmatch.train.inputs import fit_lexical
from prodmatch.train.split import validation_pairs

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("abt-buy", "amazon-google")
GROUPS: dict[str, tuple[str, ...]] = {
    "price": ("price_ratio", "price_missing"),
    "brand": ("brand_agreement",),
    "units": ("unit_agreement",),
    "year": ("year_agreement",),
    "edition": ("edition_agreement",),
    "platform": ("platform_agreement",),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--names", default=",".join(DATASETS))
    parser.add_argument("--drop", default="code_variant", help="The signal to test.")
    parser.add_argument(
        "--add", default=None, help=f"Signal groups to weigh: all, or some of {', '.join(GROUPS)}."
    )
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--model", default=None, help="Text encoder (default: the default).")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.drop not in train_api.EXTRA_COLUMNS:
        parser.error(f"--drop must be one of {', '.join(train_api.EXTRA_COLUMNS)}")
    record = start_record()
    settings = MatchSettings(model=args.model) if args.model else MatchSettings()
    if args.add is not None:
        groups = list(GROUPS) if args.add == "all" else args.add.split(",")
        if not set(groups) <= set(GROUPS):
            parser.error(f"--add takes all or some of {', '.join(GROUPS)}")
        seeds = [int(s) for s in args.seeds.split(",")]
        found = choose_additions(args.datasets, args.names.split(","), groups, seeds, settings)
        append_record(args.out / "signals.json", record, found)
        return
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


def choose_additions(
    datasets: Path,
    names: list[str],
    groups: list[str],
    seeds: list[int],
    settings: MatchSettings,
) -> dict[str, Any]:
    """Which signal groups to add, decided on validation pairs of unseen products (the
    split training chooses on by default, seeded like training), never on test.

    The rule, fixed before looking: a group is kept when adding it alone to the other signals
    raises the validation F1 averaged over the seeds and datasets; the kept groups are then
    trained together, and adopted only if that too beats today's signals (else none is).
    Each run trains the head of `train --mode head` (projection and classifier, seeded) on
    one encoding of the listings per dataset, so variants differ only in the signals read.
    """
    # the classifier's signals other than the attribute signals ("today": before these)
    base = tuple(c for c in classifier_stage.EXTRA_COLUMNS if c not in ATTRIBUTE_COLUMNS)
    runs: list[dict[str, Any]] = []
    prepared = {name: _Features(without_test(datasets / name), settings) for name in names}

    def run(variant: str, columns: tuple[str, ...]) -> None:
        for name, features in prepared.items():
            for seed in seeds:
                f1 = features.valid_f1(columns, seed)
                runs.append({"dataset": name, "seed": seed, "variant": variant, "valid_f1": f1})
                print(runs[-1], flush=True)

    run("today", base)
    for group in groups:
        run(f"+{group}", base + GROUPS[group])
    means = {v: _mean(r["valid_f1"] for r in runs if r["variant"] == v) for v in _variants(runs)}
    kept = [g for g in groups if means[f"+{g}"] > means["today"]]
    if len(kept) > 1:
        run("+kept", base + tuple(c for g in kept for c in GROUPS[g]))
        means["+kept"] = _mean(r["valid_f1"] for r in runs if r["variant"] == "+kept")
        if means["+kept"] <= means["today"]:
            kept = []
    return {
        "model": settings.model,
        "validation": "unseen products (--valid-split unseen), seeded like training",
        "rule": "add a group when adding it alone raises the mean validation F1 over seeds and "
        "datasets; adopt the kept groups together only if they beat today's signals too",
        "mean_valid_f1": means,
        "per_dataset": {
            name: {
                v: _mean(r["valid_f1"] for r in runs if r["variant"] == v and r["dataset"] == name)
                for v in _variants(runs)
            }
            for name in names
        },
        "keep": kept,
        "columns": list(base + tuple(c for g in kept for c in GROUPS[g])),
        "runs": runs,
    }


def _variants(runs: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(r["variant"] for r in runs))


class _Features:
    """One dataset's listings encoded once, and each seed's split and pair signals."""

    def __init__(self, data: PairDataset, settings: MatchSettings) -> None:
        self.data = data
        lexical = fit_lexical(settings, data.left, data.right)
        self.linker = Linker(replace(settings, scorer="hybrid"), lexical=lexical, progress=False)
        pairs = pd.concat([data.train, data.valid])
        self.sides = self.linker.prepare(
            data.left.select(list(dict.fromkeys(pairs["left_id"]))),
            data.right.select(list(dict.fromkeys(pairs["right_id"]))),
        )
        self.vectors = tuple(ListingVectors.from_side(side) for side in self.sides)
        self._splits: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}

    def valid_f1(self, columns: tuple[str, ...], seed: int) -> float:
        train, valid = self._split(seed)
        result = train_head(
            *self.vectors,
            train,
            valid,
            extra_columns=columns,
            config=HeadTrainingConfig(seed=seed),
            progress=False,
        )
        return round(float(result.metrics["f1"]), 4)

    def _split(self, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        if seed not in self._splits:
            data = self.data
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the split's line, said once per run anyway
                train, valid, _, _ = validation_pairs(
                    data.left, data.right, data.train, data.valid, seed, valid_split="unseen"
                )
            assert train is not None and valid is not None
            self._splits[seed] = tuple(  # type: ignore[assignment]
                pair_features(self.linker, *self.sides, frame) for frame in (train, valid)
            )
        return self._splits[seed]


def _mean(values: Iterable[float]) -> float:
    return round(float(np.mean(list(values))), 4)


if __name__ == "__main__":
    main()
