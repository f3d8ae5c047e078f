"""Zero-shot benchmark (no training): pair F1 and end-to-end linkage on the public benchmarks.

Runs each measurement as the `prodmatch` command a user would type, one process each, and
appends one record (date, commit, command, machine, and every report) to
bench/results/zero_shot.json; bench/results/zero_shot.md tabulates the newest record.

    .venv/bin/python bench/zero_shot.py [--datasets ../shared/datasets] [--scorers hybrid,...]
    .venv/bin/python bench/zero_shot.py --scorers dense --names abt-buy --engine onnx-int8
    .venv/bin/python bench/zero_shot.py --preset accurate --names abt-buy,abt-buy-full \
        --engine onnx --columns name

The F1 figures do not depend on the machine's load; the reports' seconds and peak RSS do (the
record says whether the machine was shared).

Slow (minutes): not part of the test suite; tests/bench/test_bench_smoke.py runs it on a
synthetic folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _results import append_record, start_record

from prodmatch.encode.presets import PRESETS
from prodmatch.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
PAIR_SETS = ("abt-buy", "amazon-google")
FULL_SETS = {
    "abt-buy-full": ("abt.csv", "buy.csv", "gt.csv"),
    "amazon-google-full": ("amazon.csv", "gp.csv", "gt.csv"),
}
# The lexical baselines retrieve lexically too, so no neural model touches their figures.
RETRIEVAL = {"hybrid": "hybrid", "dense": "dense", "tfidf": "sparse", "fuzzy": "sparse"}


def run(args: list[str], report: Path) -> dict[str, object]:
    command = [sys.executable, "-m", "prodmatch.cli", *args, "--json", str(report)]
    print("$ prodmatch " + " ".join(args), flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return dict(json.loads(report.read_text()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--scorers", default="hybrid,dense,tfidf,fuzzy")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--engine", default=None, help="Text encoder engine (default: torch).")
    parser.add_argument("--only", choices=("pairs", "linkage"), default=None)
    parser.add_argument("--names", default=None, help="Only these datasets, e.g. abt-buy.")
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None)
    parser.add_argument("--columns", default=None, help="Only these columns, e.g. name.")
    args = parser.parse_args()
    record = {**start_record(), "preset": args.preset or "fast"}
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for scorer in args.scorers.split(","):
            common = ["--scorer", scorer, *(["--engine", args.engine] if args.engine else [])]
            common += ["--preset", args.preset] if args.preset else []
            common += ["--columns", args.columns] if args.columns else []
            names = args.names.split(",") if args.names else None
            for name in PAIR_SETS:
                folder = args.datasets / name
                if names is not None and name not in names:
                    continue
                if folder.is_dir() and args.only != "linkage":
                    key = f"pairs/{name}/{scorer}"
                    results[key] = run(
                        ["evaluate", "pairs", str(folder), *common], Path(tmp) / "r.json"
                    )
            for name, (left, right, gold) in FULL_SETS.items():
                folder = args.datasets / name
                if names is not None and name not in names:
                    continue
                if folder.is_dir() and args.only != "pairs":
                    key = f"linkage/{name}/{scorer}"
                    results[key] = run(
                        [
                            "evaluate",
                            "linkage",
                            str(folder / left),
                            str(folder / right),
                            "--gold",
                            str(folder / gold),
                            "--retrieval",
                            RETRIEVAL[scorer],
                            *common,
                        ],
                        Path(tmp) / "r.json",
                    )
    append_record(args.out / "zero_shot.json", record, results)
    atomic_write_text(args.out / "zero_shot.md", markdown(results) + "\n")
    print(markdown(results))


def markdown(results: dict[str, dict[str, object]]) -> str:
    lines = [
        "| measurement | scorer | precision | recall | F1 | threshold | R@1 | R@10 | R@50 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, r in results.items():
        kind, name, scorer = key.split("/")
        recall_at = r.get("recall_at_k", {})
        assert isinstance(recall_at, dict)
        at = [f"{recall_at[k]:.3f}" if k in recall_at else "" for k in ("1", "10", "50")]
        lines.append(
            f"| {kind} {name} | {scorer} | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{r['f1']:.3f} | {r['threshold']:.3f} | " + " | ".join(at) + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
