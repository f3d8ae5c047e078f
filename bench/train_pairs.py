"""Training benchmark: pair F1 on the DeepMatcher test splits for each training mode.

For each dataset and each configuration below, runs `prodmatch train` (timed) and then
`prodmatch evaluate pairs --model` on the test split, one process each, as a user would.
Each (dataset, configuration) run appends its own record (date, commit, command, machine,
figures) to bench/results/train_pairs.json, so rows measured with different code keep their
own commit; bench/results/train_pairs.md tabulates the newest record of each row.

    .venv/bin/python bench/train_pairs.py [--datasets ../shared/datasets] [--configs head,supcon]

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
    "head": ["--mode", "head"],
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
    args = parser.parse_args()
    results_file = args.out / "train_pairs.json"
    with tempfile.TemporaryDirectory() as tmp:
        models = args.keep or Path(tmp)
        for name in args.names.split(","):
            folder = args.datasets / name
            for config in args.configs.split(","):
                model = models / f"{name}-{config}"
                data = (
                    [
                        "--left",
                        str(folder / "tableA.csv"),
                        "--right",
                        str(folder / "tableB.csv"),
                        "--valid",
                        str(folder / "valid.csv"),
                    ]
                    if config in UNLABELLED
                    else [str(folder)]
                )
                train = ["train", *data, "-o", str(model), "--overwrite", *CONFIGS[config]]
                # --overwrite: a --keep folder of an earlier run
                train += _applicable(args.extra.split(), CONFIGS[config])
                record = start_record()
                seconds = _run(train)
                report = Path(tmp) / "report.json"
                _run(
                    ["evaluate", "pairs", str(folder), "--model", str(model), "--json", str(report)]
                )
                result = json.loads(report.read_text())
                info = json.loads((model / "prodmatch.json").read_text())
                row = {
                    "row": f"{name}/{config}",
                    "precision": result["precision"],
                    "recall": result["recall"],
                    "f1": result["f1"],
                    "train_seconds": round(seconds, 1),
                    "command": " ".join(
                        [
                            "prodmatch train",
                            *(a.replace(str(args.datasets), "../shared/datasets") for a in data),
                            "-o",
                            f"{name}-{config}",
                            *train[len(data) + 3 :],
                        ]
                    ),
                    "fine_tune": info["metrics"].get("fine_tune", {}),
                    "cross_encoder": info["metrics"].get("cross_encoder", {}),
                }
                append_record(results_file, record, row)
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


FULL_MODE_ONLY = ("--lr", "--max-seq-length", "--freeze-layers")


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
