"""How many labels the review page's choices need, against labels chosen at random.

    .venv/bin/python bench/active_learning.py [--dataset ../shared/datasets/abt-buy] \
        [--budgets 50,100,200,400] [--seeds 0,1]

The labels are simulated: the pool is the dataset's labelled *train* pairs, and a "reviewer"
answers each pair shown with its gold label. Two orders are compared:

- **active**: the page's own strategy (`prodmatch.review.active.next_pair`: uncertainty with
  diversity and a 20% random share), the ranking head retrained every 20 labels
  (`retrain_head`, as the page does, in head mode on the frozen default encoder);
- **random**: the pool in a seeded random order.

After 50, 100, 200 and 400 labels a head is trained on the labels so far with the page's
retraining (`retrain_head`: by default the logistic regression pulled toward the untrained
decision, `--retrain mlp` the older head-mode MLP) and its F1 measured on the **test**
split (`--split valid`: on the valid split, for choosing settings; no reference then). The
reference is a matcher trained on all train pairs as `prodmatch train DIR --mode head` does
with today's defaults, scored as `prodmatch evaluate pairs` does. No default is chosen
from the test figures. Appends a record to bench/results/active_learning.json
and draws bench/results/active_learning.png.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _head import head_report
from _results import RESULTS, append_record, start_record

from prodmatch.data import load_deepmatcher
from prodmatch.linker import Linker, Side
from prodmatch.review.active import (
    QueueOptions,
    head_scores,
    labelled_frame,
    next_pair,
    random_sample,
    retrain_head,
)
from prodmatch.settings import MatchSettings
from prodmatch.train.unseen import ValidSplit

ROOT = Path(__file__).resolve().parents[1]


def features(linker: Linker, left: Side, right: Side, pairs: pd.DataFrame) -> pd.DataFrame:
    """`pairs` (left_id, right_id, label) with the linker's signals and hybrid score."""
    li = left.catalog.records.index.get_indexer(pd.Index(pairs["left_id"]))
    ri = right.catalog.records.index.get_indexer(pd.Index(pairs["right_id"]))
    feats = linker.features(left, right, li, ri, attributes=True)
    feats["score"] = linker.score(left, right, feats)
    out = pd.concat([pairs.reset_index(drop=True), feats], axis=1)
    return out


def f1_of(scores: np.ndarray, labels: np.ndarray, cut: float) -> float:
    predicted = scores >= cut
    tp = float((predicted & (labels == 1)).sum())
    return 0.0 if tp == 0 else 2 * tp / (predicted.sum() + (labels == 1).sum())


def evaluate(
    linker: Linker, left: Side, right: Side, head: Any, test: pd.DataFrame
) -> float | None:
    if head is None:
        return None
    scores = head_scores(linker, head, left, right, test)
    return f1_of(scores, test["label"].to_numpy(), head.threshold)


def active_run(
    linker: Linker,
    left: Side,
    right: Side,
    pool: pd.DataFrame,
    test: pd.DataFrame,
    budgets: list[int],
    options: QueueOptions,
    config: Any = None,
) -> dict[str, Any]:
    truth = dict(
        zip(zip(pool["left_id"], pool["right_id"], strict=True), pool["label"], strict=True)
    )
    keys = list(truth)
    given: dict[tuple[str, str], int] = {}
    order: list[tuple[str, str]] = []
    scores, cut = pool["score"].to_numpy(np.float64), linker.settings.decision_threshold
    f1: dict[str, float | None] = {}
    while len(order) < max(budgets):
        row = next_pair(pool, scores, cut, given, order, len(order), options)
        if row is None:
            break
        key = keys[row]
        given[key] = int(truth[key])
        order.append(key)
        n = len(order)
        retrain = options.retrain_every and n % options.retrain_every == 0
        if retrain or n in budgets:
            head = retrain_head(
                linker, left, right, labelled_frame(pool, given), seed=options.seed, config=config
            )
            if head is not None and retrain:
                scores, cut = head_scores(linker, head, left, right, pool), head.threshold
            if n in budgets:
                f1[str(n)] = evaluate(linker, left, right, head, test)
                print(f"  active {n}: F1 {f1[str(n)]}", flush=True)
    positives = sum(given[k] for k in order[: max(budgets)])
    return {"f1": f1, "positives_in_labels": positives}


def random_run(
    linker: Linker,
    left: Side,
    right: Side,
    pool: pd.DataFrame,
    test: pd.DataFrame,
    budgets: list[int],
    seed: int,
    config: Any = None,
) -> dict[str, Any]:
    order = np.random.default_rng(seed).permutation(len(pool))
    f1: dict[str, float | None] = {}
    for n in budgets:
        chosen = pool.iloc[order[:n]]
        given = dict(
            zip(
                zip(chosen["left_id"], chosen["right_id"], strict=True),
                chosen["label"],
                strict=True,
            )
        )
        head = retrain_head(
            linker, left, right, labelled_frame(pool, given), seed=seed, config=config
        )
        f1[str(n)] = evaluate(linker, left, right, head, test)
        print(f"  random {n}: F1 {f1[str(n)]}", flush=True)
    return {"f1": f1, "positives_in_labels": int(pool.iloc[order[: max(budgets)]]["label"].sum())}


def reference(data: Any, folder: Path, name: str) -> dict[str, Any]:
    """A matcher trained on the train pairs as `prodmatch train DIR --mode head
    --valid-split SPLIT [--classifier prior]` does with today's defaults, scored as
    `prodmatch evaluate pairs` does; `name` is SPLIT, or "prior-SPLIT". "unseen" (the
    default) moves the pairs of some products out of training to validate on; "given"
    trains on all train pairs and validates on the valid pairs."""
    from prodmatch.train.prior_head import PriorConfig

    split: ValidSplit = "given" if name.endswith("given") else "unseen"
    config = PriorConfig() if name.startswith("prior") else None
    report = head_report(data, folder, valid_split=split, head_config=config)
    return {"f1": report.f1, "precision": report.precision, "recall": report.recall,
            "threshold": report.threshold}  # fmt: skip


def page_config(args: argparse.Namespace) -> Any:
    """The page's retraining (`--retrain prior`, the default) or the MLP head, with the
    options given changed."""
    from dataclasses import replace

    from prodmatch.review.active import RETRAIN_CONFIG
    from prodmatch.train.prior_head import PriorConfig

    if args.retrain == "prior":
        given = {
            "sharpness": args.sharpness,
            "strength": args.strength,
            "threshold": args.threshold,
            "vectors": args.vectors,
            "signals": None if args.signals is None else args.signals == "all",
        }
        return PriorConfig(**{k: v for k, v in given.items() if v is not None})
    config = RETRAIN_CONFIG
    if args.hidden is not None:
        config = replace(config, classifier_hidden=args.hidden)
    if args.projection_epochs is not None:
        config = replace(config, projection_epochs=args.projection_epochs)
    return config


def plot(results: dict[str, Any], budgets: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for name, color in (("active", "#1565c0"), ("random", "#9e9e9e")):
        runs = [r[name]["f1"] for r in results["runs"]]
        mean = [np.mean([r[str(b)] or 0.0 for r in runs]) for b in budgets]
        axes.plot(budgets, mean, marker="o", color=color, label=f"{name} order")
    lines = (
        ("given", "--", "train --mode head, --valid-split given"),
        ("unseen", "-.", "train --mode head, --valid-split unseen"),
        ("prior-given", ":", "the same, given, --classifier prior"),
    )
    for name, style, label in lines:
        if name in results.get("reference", {}):
            axes.axhline(results["reference"][name]["f1"], color="#2e7d32", linestyle=style,
                         label=label)  # fmt: skip
    if results.get("zero_labels_f1") is not None:
        axes.axhline(results["zero_labels_f1"], color="#ef6c00", linestyle=":",
                     label="no labels (untrained hybrid)")  # fmt: skip
    axes.set_xscale("log")
    axes.set_xticks(budgets, [str(b) for b in budgets])
    axes.minorticks_off()
    axes.set_xlabel("labels")
    axes.set_ylabel("test F1 (head mode)")
    seeds = ", ".join(str(r["seed"]) for r in results["runs"])
    axes.set_title(f"{results['dataset']}: labels chosen by the review page (seeds {seeds})")
    axes.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--dataset", type=Path, default=ROOT.parent / "shared" / "datasets" / "abt-buy"
    )
    parser.add_argument("--budgets", default="50,100,200,400")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--retrain-every", type=int, default=20)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--retrain", choices=("prior", "mlp"), default="prior", help="The page's retraining."
    )
    parser.add_argument("--sharpness", type=float, default=None, help="prior: PriorConfig.")
    parser.add_argument("--strength", type=float, default=None, help="prior: PriorConfig.")
    parser.add_argument("--vectors", type=float, default=None, help="prior: u * v precision")
    parser.add_argument("--threshold", choices=("half", "folds"), default=None, help="prior")
    parser.add_argument("--signals", choices=("all", "prior"), default=None, help="prior")
    parser.add_argument("--no-reference", action="store_true", help="Skip the all-pairs head.")
    parser.add_argument(
        "--hidden", type=int, default=None, help="mlp: hidden size (0: logistic regression)."
    )
    parser.add_argument(
        "--projection-epochs", type=int, default=None, help="Projection epochs (0: identity)."
    )
    parser.add_argument(
        "--split", choices=("test", "valid"), default="test", help="Measure on (valid: choosing)."
    )
    args = parser.parse_args()
    config = page_config(args)
    record = start_record()
    budgets = sorted(int(b) for b in args.budgets.split(","))
    data = load_deepmatcher(args.dataset)
    linker = Linker(MatchSettings(), progress=False)
    start = time.perf_counter()
    left, right = linker.prepare(data.left, data.right)
    pool = features(linker, left, right, data.train)
    test = features(linker, left, right, data.test if args.split == "test" else data.valid)
    print(f"prepared in {time.perf_counter() - start:.0f} s; {len(pool)} pool pairs", flush=True)
    results: dict[str, Any] = {
        "dataset": data.name,
        "train_pairs": len(pool),
        "budgets": budgets,
        "retrain_every": args.retrain_every,
        "split": args.split,
        "retrain": args.retrain,
        "config": asdict(config),
        "zero_labels_f1": evaluate(
            linker, left, right, retrain_head(linker, left, right, pool[:0], config=config), test
        ),
        "runs": [],
    }
    print(f"no labels: F1 {results['zero_labels_f1']}", flush=True)
    for seed in (int(s) for s in args.seeds.split(",")):
        options = QueueOptions(retrain_every=args.retrain_every, seed=seed)
        pool["random"] = random_sample(len(pool), options)
        t = time.perf_counter()
        run = {
            "seed": seed,
            "active": active_run(linker, left, right, pool, test, budgets, options, config),
            "random": random_run(linker, left, right, pool, test, budgets, seed, config),
        }
        run["seconds"] = round(time.perf_counter() - t, 1)
        results["runs"].append(run)
    if args.split == "test" and not args.no_reference:  # never on the choosing runs
        with tempfile.TemporaryDirectory() as tmp:
            results["reference"] = {
                name: reference(data, Path(tmp) / name, name)
                for name in ("given", "unseen", "prior-given")
            }
        print(f"reference (all train pairs): {results['reference']}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    append_record(args.out / "active_learning.json", record, results)
    if args.split == "test":
        plot(results, budgets, args.out / "active_learning.png")
    print(f"-> {args.out / 'active_learning.json'}")


if __name__ == "__main__":
    main()
