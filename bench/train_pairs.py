"""Training benchmark: pair F1 on the DeepMatcher test splits for each training mode.

For each dataset and each configuration below, runs `prodmatch train` (timed) and then
`prodmatch evaluate pairs --model` on the test split, one process each, as a user would.
Each (dataset, configuration) run appends its own record (date, commit, command, machine,
figures) to bench/results/train_pairs.json, so rows measured with different code keep their
own commit; bench/results/train_pairs.md tabulates the newest record of each row.

    .venv/bin/python bench/train_pairs.py [--datasets ../shared/datasets] [--configs head,supcon]

The three head rows answer issue #12's refit question: `head` (the defaults: chosen on
validation pairs of unseen products, then the projection and classifier refitted on all the
training pairs), `head+no-refit` (the head chosen on, trained without the products moved to
validation) and `head+given` (chosen on valid.csv as given); each row records how many pairs
it chose with and how many the final classifier trained on.

`--seed N` trains every run with that seed (rows named e.g. `head+seed1`). `--queue-size N`
and `--freeze-layers L` add the negative queue and the layer cache to the
full-mode runs (the row is named e.g. `supcon+q4096+f3`). `--train-pairs N` trains on a seeded
sample of N training pairs and measures on the validation split only, never test: the valid
F1s and the fine-tuning steps' seconds by epoch (what the layer cache and the queue change)
go to bench/results/train_pairs_subset.json instead.

Slow (tens of minutes): not part of the test suite; tests/bench/test_bench_smoke.py runs it on a
tiny synthetic folder with a tiny model.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _results import append_record, read_records, start_record

from prodmatch.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("abt-buy", "amazon-google")
CONFIGS: dict[str, list[str]] = {
    "head": ["--mode", "head"],  # chosen on unseen products, then refitted on all train pairs
    "head+no-refit": ["--mode", "head", "--no-refit"],  # the head chosen on, as trained
    "head+given": ["--mode", "head", "--valid-split", "given"],  # chosen on valid.csv as given
    "supcon": ["--mode", "full", "--loss", "supcon"],
    "infonce": ["--mode", "full", "--loss", "infonce"],
    "selfsup": ["--mode", "full", "--loss", "selfsup"],
    "supcon+cross": ["--mode", "full", "--loss", "supcon", "--cross-encoder"],
    "infonce+cross": ["--mode", "full", "--loss", "infonce", "--cross-encoder"],
}
# Self-supervised means no labels: it reads the two tables, and the validation pairs only to
# pick its threshold (as the zero-shot figures do); the training pairs are never given.
UNLABELLED = {"selfsup"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--names", default=",".join(DATASETS))
    parser.add_argument("--configs", default="head,supcon,infonce,selfsup,supcon+cross")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--extra", default="", help="More `prodmatch train` options, quoted.")
    parser.add_argument("--keep", type=Path, help="Keep the trained matchers in this folder.")
    parser.add_argument("--queue-size", type=int, default=0, help="Full mode: --queue-size.")
    parser.add_argument("--momentum", type=float, help="Full mode: --momentum of the queue.")
    parser.add_argument("--freeze-layers", type=int, default=0, help="Full mode: cached layers.")
    parser.add_argument("--seed", type=int, default=0, help="--seed of every run (row +seedN).")
    parser.add_argument(
        "--train-pairs", type=int, help="Train on this many sampled pairs; valid figures only."
    )
    args = parser.parse_args()
    subset = args.train_pairs is not None
    results_file = args.out / ("train_pairs_subset.json" if subset else "train_pairs.json")
    with tempfile.TemporaryDirectory() as tmp:
        models = args.keep or Path(tmp)
        for name in args.names.split(","):
            folder = args.datasets / name
            sample = sampled_pairs(folder, args.train_pairs, Path(tmp)) if subset else None
            for config in args.configs.split(","):
                variant = _variant(args, config)
                label = config + "".join(f"+{part}" for part in variant)
                model = models / f"{name}-{label}"
                data = (
                    [
                        "--left",
                        str(folder / "tableA.csv"),
                        "--right",
                        str(folder / "tableB.csv"),
                        "--valid",
                        str(folder / "valid.csv"),
                    ]
                    if config in UNLABELLED or sample is not None
                    else [str(folder)]
                )
                if sample is not None and config not in UNLABELLED:
                    data += ["--pairs", str(sample)]
                train = ["train", *data, "-o", str(model), "--overwrite", *CONFIGS[config]]
                # --overwrite: a --keep folder of an earlier run
                train += _applicable(args.extra.split(), CONFIGS[config])
                train += [word for option in variant.values() for word in option]
                record = start_record()
                seconds = _run(train)
                if subset:
                    shown = [a.replace(tmp, "TMP") for a in train]  # the sample lives in TMP
                    row = subset_row(f"{name}/{label}", model, seconds, shown, args.train_pairs)
                    append_record(results_file, record, row)
                    print(json.dumps(row))
                    continue
                report = Path(tmp) / "report.json"
                _run(
                    ["evaluate", "pairs", str(folder), "--model", str(model), "--json", str(report)]
                )
                result = json.loads(report.read_text())
                info = json.loads((model / "prodmatch.json").read_text())
                row = {
                    "row": f"{name}/{label}",
                    "precision": result["precision"],
                    "recall": result["recall"],
                    "f1": result["f1"],
                    "valid_f1": result["valid_f1"],  # valid.csv, where the threshold is chosen
                    "threshold": result["threshold"],
                    "train_seconds": round(seconds, 1),
                    "command": " ".join(
                        [
                            "prodmatch train",
                            *(a.replace(str(args.datasets), "../shared/datasets") for a in data),
                            "-o",
                            f"{name}-{label}",
                            *train[len(data) + 3 :],
                        ]
                    ),
                    "pairs_chosen_with": info["train_pairs"],
                    "pairs_final_classifier": info.get("final_pairs", info["train_pairs"]),
                    "epochs_kept": _epochs_kept(info["metrics"].get("head", {})),
                    "fine_tune": info["metrics"].get("fine_tune", {}),
                    "cross_encoder": info["metrics"].get("cross_encoder", {}),
                }
                append_record(results_file, record, row)
    if subset:
        return
    table = markdown(newest_rows(read_records(results_file)))
    atomic_write_text(args.out / "train_pairs.md", table + "\n")
    print(table)


def newest_rows(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each row's newest figures with the commit they were measured at, in first-run order."""
    rows: dict[str, dict[str, Any]] = {}
    for record in records:
        result = record["results"]
        rows[result["row"]] = {**result, "commit": record["commit"]}
    return rows


def _epochs_kept(head: dict[str, Any]) -> dict[str, Any]:
    """The projection's and the classifier's epochs chosen on validation (a refit trains
    exactly these)."""
    return {k: head[k] for k in ("projection_epoch", "classifier_epoch") if k in head}


FULL_MODE_ONLY = ("--lr", "--max-seq-length", "--freeze-layers", "--queue-size", "--momentum")


def _variant(args: argparse.Namespace, config: str) -> dict[str, list[str]]:
    """The queue and layer-cache options a configuration takes (full mode only), and a
    seed other than 0, by the suffix they give its row: q<size> (and m<momentum>),
    f<layers>, seed<N>."""
    variant: dict[str, list[str]] = {}
    if args.seed:
        variant[f"seed{args.seed}"] = ["--seed", str(args.seed)]
    if "head" in CONFIGS[config]:
        return variant
    if args.queue_size and config not in UNLABELLED:  # the queue masks by cluster: labels
        variant[f"q{args.queue_size}"] = ["--queue-size", str(args.queue_size)]
        if args.momentum is not None:
            variant[f"m{args.momentum:g}"] = ["--momentum", str(args.momentum)]
    if args.freeze_layers:
        variant[f"f{args.freeze_layers}"] = ["--freeze-layers", str(args.freeze_layers)]
    return variant


def sampled_pairs(folder: Path, pairs: int, tmp: Path) -> Path:
    """`pairs` of `folder`'s training pairs, sampled with seed 0, as a pairs file in `tmp`;
    runs on a sample read the tables, these and the validation pairs, never test.csv."""
    import pandas as pd

    train = pd.read_csv(folder / "train.csv")
    path = tmp / f"{folder.name}-train-{pairs}.csv"
    train.sample(n=min(pairs, len(train)), random_state=0).to_csv(path, index=False)
    return path


def subset_row(
    row: str, model: Path, seconds: float, train: list[str], pairs: int
) -> dict[str, Any]:
    """Valid figures of a matcher trained on a sample, and its fine-tuning steps' seconds."""
    info = json.loads((model / "prodmatch.json").read_text())
    metrics = info["metrics"]
    tune = metrics.get("fine_tune", {})
    steps = tune.get("steps", 0.0)
    epochs = tune.get("epochs_run", 0.0)
    by_epoch = [tune[k] for k in sorted(tune) if k.startswith("steps_seconds_epoch_")]
    return {
        "row": row,
        "train_pairs": pairs,
        "train_seconds": round(seconds, 1),
        "command": "prodmatch " + " ".join(train),
        "valid_cosine_f1": tune.get("best_valid_f1"),
        "valid_classifier_f1": metrics.get("head", {}).get("f1"),
        "valid_end_to_end_f1": metrics.get("end_to_end", {}).get("trained_f1"),
        "steps": steps,
        "steps_seconds_by_epoch": by_epoch,
        "seconds_per_step_by_epoch": [
            round(s / (steps / epochs), 3) if steps and epochs else None for s in by_epoch
        ],
        "fine_tune": tune,
    }


def _applicable(extra: list[str], config: list[str]) -> list[str]:
    """The --extra options a run takes: head mode refuses those that only fine-tuning reads."""
    if "head" not in config:
        return extra
    kept: list[str] = []
    skip = False
    for word in extra:
        if skip:
            skip = False
        elif word in FULL_MODE_ONLY:
            skip = True
        else:
            kept.append(word)
    return kept


def _run(args: list[str]) -> float:
    print("$ prodmatch " + " ".join(args), flush=True)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "prodmatch.cli", *args], check=True, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def markdown(results: dict[str, dict[str, object]]) -> str:
    lines = [
        "| dataset | training | precision | recall | F1 | train time (s) | commit |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, r in results.items():
        name, config = key.split("/")
        lines.append(
            f"| {name} | {config} | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{r['f1']:.3f} | {r['train_seconds']:.0f} | {r['commit']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
