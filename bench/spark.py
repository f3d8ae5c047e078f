"""Spark against the single-machine streamed run: the same synthetic catalogs, the same run.

    .venv/bin/python bench/spark.py --listings 100000  # one size: results/spark-100000.json
    .venv/bin/python bench/spark.py --summary          # spark.md and spark.png over every size

Generates two catalogs of about `--listings` listings a side (the generator `bench/scale.py`
uses), writes one settings file, and runs both commands a user would run on them, one after the
other in this process's run: `prodmatch match --work-dir` (streamed, one machine) and
`prodmatch spark match --master local[N]`. Each is timed from its start to its output on disk,
and its peak memory is the largest sum of resident memory over the process and every process
it started (Spark's JVM and Python workers included), sampled every half second. Both outputs
are scored against the generator's gold mapping; the index recall is each run's own report
(approximate search against exact search on sampled queries).

Run it alone: on 2 cores anything else running changes both times (the record keeps the load
average at the start and end, and `machine.shared` says when the cores were shared). The two
runs in one record saw the same load only roughly; their ratio is the figure to read.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
from _results import RESULTS, append_record, read_records, start_record
from scale import add_settings_arguments, generate, score, settings_from

from prodmatch.io import atomic_path, atomic_write_text

RUNS = ("streamed", "spark")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listings", type=int, default=10_000, help="About this many a side.")
    parser.add_argument("--seed", type=int, default=0)
    add_settings_arguments(parser)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--partitions", type=int, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--summary", action="store_true", help="Tabulate and plot all runs.")
    args = parser.parse_args()
    if args.summary:
        summarise(args.out)
        return
    settings = settings_from(args)
    record = start_record()
    with tempfile.TemporaryDirectory(prefix="prodmatch-spark-bench-") as tmp:
        folder = Path(tmp)
        left, right, gold = generate(args.listings, args.seed, folder)
        config = folder / "settings.json"
        config.write_text(json.dumps(settings.to_dict()))
        truth = pd.read_parquet(gold)
        runs = {
            "streamed": run_streamed(left, right, config, folder),
            "spark": run_spark(left, right, config, folder, args.master, args.partitions),
        }
        for result in runs.values():
            result.update(score(result.pop("matches"), truth))
    streamed, spark = runs["streamed"]["seconds"], runs["spark"]["seconds"]
    results = {
        "listings": args.listings,
        "settings": settings.to_dict(),
        "master": args.master,
        **runs,
        "spark_over_streamed": round(spark / streamed, 3),
    }
    append_record(args.out / f"spark-{args.listings}.json", record, results)
    print(json.dumps(results, indent=2))


def run_streamed(left: Path, right: Path, config: Path, folder: Path) -> dict[str, Any]:
    """`prodmatch match --work-dir`: time, peak memory, index recall, matches."""
    output = folder / "streamed.csv"
    command = ["match", str(left), str(right), "-o", str(output), "--settings", str(config)]
    seconds, peak = measured([*command, "--work-dir", str(folder / "work")])
    report = json.loads((folder / "work" / "report.json").read_text())
    matches = pd.read_csv(output, dtype={"left_id": str, "right_id": str})
    return {
        "seconds": seconds,
        "peak_rss_mb": peak,
        "left_rows": report["left_rows"],
        "right_rows": report["right_rows"],
        "index": report.get("index"),
        "index_recall": report.get("index_recall"),
        "matches": matches,
    }


def run_spark(
    left: Path, right: Path, config: Path, folder: Path, master: str, partitions: int | None
) -> dict[str, Any]:
    """`prodmatch spark match`: time, peak memory (JVM and workers included), matches."""
    output = folder / "spark-out"
    command = ["spark", "match", str(left), str(right), "-o", str(output)]
    command += ["--settings", str(config), "--master", master]
    if partitions:
        command += ["--partitions", str(partitions)]
    seconds, peak = measured(command)
    run = json.loads((output / "_prodmatch.json").read_text())["report"]
    matches = pd.read_parquet(output)
    matches = matches.astype({"left_id": str, "right_id": str})
    return {
        "seconds": seconds,
        "peak_rss_mb": peak,
        "left_rows": run["left_rows"],
        "right_rows": run["right_rows"],
        "index": run.get("index"),
        "index_recall": run.get("recall_at_k"),
        "matches": matches,
    }


def measured(arguments: list[str]) -> tuple[float, float]:
    """Run `prodmatch ARGUMENTS`; its wall seconds and the peak RSS (MB) of its process tree.
    A failed run stops the benchmark with the command's own error output."""
    command = [sys.executable, "-m", "prodmatch.cli", *arguments]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0]
    watcher = threading.Thread(target=_watch, args=(process.pid, peak), daemon=True)
    watcher.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    watcher.join(timeout=2)
    if process.returncode:
        raise SystemExit(f"{' '.join(arguments[:2])} failed:\n{stdout}\n{stderr}")
    return round(seconds, 1), round(peak[0], 1)


def _watch(pid: int, peak: list[float]) -> None:
    """Sample the RSS of `pid` and its descendants until it exits."""
    try:
        root = psutil.Process(pid)
        while root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
            total = 0
            for process in [root, *root.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            peak[0] = max(peak[0], total / 2**20)
            time.sleep(0.5)
    except psutil.Error:
        return


def summarise(folder: Path) -> None:
    """spark.md (one row per size, newest run) and spark.png (time against size, both runs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = []
    for path in folder.glob("spark-*.json"):
        records = read_records(path)
        if records:
            runs.append({**records[-1]["results"], "machine": records[-1]["machine"]})
    runs.sort(key=lambda r: r["listings"])
    lines = [
        "| listings a side | streamed s | Spark s | Spark / streamed | streamed peak GiB "
        "| Spark peak GiB | index recall (streamed / Spark) | F1 (streamed / Spark) | load |",
        "|---" * 9 + "|",
    ]
    for r in runs:
        s, p = r["streamed"], r["spark"]
        machine = r["machine"]
        load = f"{machine['load_average_start']} → {machine['load_average_end']}"
        lines.append(
            f"| {s['left_rows']:,} | {s['seconds']:.0f} | {p['seconds']:.0f} | "
            f"{r['spark_over_streamed']:.2f} | {s['peak_rss_mb'] / 1024:.2f} | "
            f"{p['peak_rss_mb'] / 1024:.2f} | {_recall(s)} / {_recall(p)} | "
            f"{s['f1']:.3f} / {p['f1']:.3f} | {load} |"
        )
    atomic_write_text(folder / "spark.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    sizes = [r["streamed"]["left_rows"] for r in runs]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for name in RUNS:
        ax.plot(sizes, [r[name]["seconds"] for r in runs], "o-", label=name)
    ax.set(xscale="log", yscale="log", xlabel="listings a side", ylabel="wall seconds")
    ax.set_title("prodmatch match: Spark local[2] against streamed, same data")
    ax.legend()
    fig.tight_layout()
    with atomic_path(folder / "spark.png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    print(f"wrote {folder / 'spark.md'} and {folder / 'spark.png'}")


def _recall(run: dict[str, Any]) -> str:
    found = run.get("index_recall")
    return "exact" if found is None else f"{found:.3f}"


if __name__ == "__main__":
    main()
