"""Scale benchmark: synthetic catalogs of a given size matched end to end, stage by stage.

    .venv/bin/python bench/scale.py --listings 100000  # one size: results/scale-100000.json
    .venv/bin/python bench/scale.py --summary          # table and PNG over every size run

Generates two catalogs of about `--listings` listings each with the demo generator (streamed
to Parquet in blocks, so generation itself stays small), matches them with `StreamMatcher`
(chunked, through a work folder) and reports per stage (load, encode, index, search, score,
decide) the wall time, listings per second and the process's peak RSS, the approximate index's
top-k recall against exact search on held-out queries, and precision/recall/F1 against the
generator's gold mapping. Run it alone: on 2 cores anything else running halves the figures
(each result file records the machine's load at the start and end of its run, and its commit).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
from _results import start_record

from prodmatch.data.chunks import DEFAULT_CHUNK_ROWS
from prodmatch.encode.models import DEFAULT_MODEL
from prodmatch.io import atomic_path, atomic_write_text
from prodmatch.settings import MatchSettings
from prodmatch.stream import StreamMatcher
from prodmatch.synth import iter_catalog_chunks

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
OVERLAP = 0.8
STAGES = ("load", "encode", "index", "search", "score", "decide")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listings", type=int, default=10_000, help="About this many a side.")
    parser.add_argument("--seed", type=int, default=0)
    add_settings_arguments(parser)
    parser.add_argument("--index", default="auto")
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    parser.add_argument("--work", type=Path, default=None, help="Keep the work folder here.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--summary", action="store_true", help="Tabulate and plot all runs.")
    args = parser.parse_args()
    if args.summary:
        summarise(args.out)
        return
    settings = settings_from(args)
    settings.index = args.index
    record = start_record()  # one file per size: date, commit, command, machine and load
    with tempfile.TemporaryDirectory(prefix="prodmatch-scale-") as tmp:
        work = args.work or Path(tmp) / "work"
        started = time.perf_counter()
        left, right, gold = generate(args.listings, args.seed, Path(tmp))
        generated = time.perf_counter() - started
        result = StreamMatcher(work, settings, chunk_rows=args.chunk_rows).run(left, right)
        quality = score(result.matches, pd.read_parquet(gold))
    report = {
        "listings": args.listings,
        **record,
        "settings": settings.to_dict(),
        "generate_seconds": round(generated, 1),
        **result.report,
        **quality,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    report["machine"] = {**record["machine"], "load_average_end": round(os.getloadavg()[0], 2)}
    path = args.out / f"scale-{args.listings}.json"
    atomic_write_text(path, json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """The matching settings a scale run sets (shared with bench/spark.py)."""
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--engine", default="onnx-int8")
    parser.add_argument("--columns", default="title,brand,price")
    parser.add_argument("--max-seq-length", type=int, default=64)
    parser.add_argument("--k", type=int, default=10)


def settings_from(args: argparse.Namespace) -> MatchSettings:
    return MatchSettings(
        model=args.model,
        engine=args.engine,
        columns=[c for c in args.columns.split(",") if c],
        max_seq_length=args.max_seq_length,
        k=args.k,
    )


def generate(listings: int, seed: int, folder: Path) -> tuple[Path, Path, Path]:
    """Left, right and gold Parquet files, written block by block."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    products = round(listings / (OVERLAP + (1 - OVERLAP) / 2))
    paths = [folder / f"{name}.parquet" for name in ("left", "right", "gold")]
    writers: list[pq.ParquetWriter | None] = [None, None, None]
    for frames in iter_catalog_chunks(products, seed=seed, overlap=OVERLAP):
        for n, frame in enumerate(frames):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            writer = writers[n]
            if writer is None:
                writer = writers[n] = pq.ParquetWriter(paths[n], table.schema)
            writer.write_table(table)
    for writer in writers:
        assert writer is not None
        writer.close()
    return paths[0], paths[1], paths[2]


def score(matches: pd.DataFrame, gold: pd.DataFrame) -> dict[str, float]:
    truth = set(zip(gold.iloc[:, 0].astype(str), gold.iloc[:, 1].astype(str), strict=True))
    found = set(zip(matches["left_id"], matches["right_id"], strict=True))
    hits = len(truth & found)
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def summarise(folder: Path) -> None:
    """scale.md (one row per size) and scale.png (time per stage and peak memory by size)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted(
        (json.loads(p.read_text()) for p in folder.glob("scale-*.json")),
        key=lambda r: r["listings"],
    )
    header = "| listings a side | " + " | ".join(f"{s} s" for s in STAGES)
    lines = [
        header + " | total s | listings/s (both sides) | peak RSS GiB | recall@k | F1 |",
        "|---" * (len(STAGES) + 6) + "|",
    ]
    for r in runs:
        cells = [f"{r['stages'].get(s, {}).get('seconds', 0):.0f}" for s in STAGES]
        rows = r["left_rows"] + r["right_rows"]
        found = r.get("index_recall", r.get("recall_at_k"))  # the key's name before 2026-12-02
        recall = "exact" if found is None else f"{found:.3f}"
        lines.append(
            f"| {r['left_rows']:,} x {r['right_rows']:,} | " + " | ".join(cells) + " | "
            f"{r['total_seconds']:.0f} | {rows / r['total_seconds']:.0f} | "
            f"{r['peak_rss_mb'] / 1024:.2f} | {recall} | {r['f1']:.3f} |"
        )
    atomic_write_text(folder / "scale.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    sizes = [r["left_rows"] for r in runs]
    fig, (time_ax, memory_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for stage in STAGES:
        seconds = [r["stages"].get(stage, {}).get("seconds", 0) for r in runs]
        time_ax.plot(sizes, seconds, "o-", label=stage)
    time_ax.plot(sizes, [r["total_seconds"] for r in runs], "k--", label="total")
    time_ax.set(xscale="log", yscale="log", xlabel="listings a side", ylabel="seconds")
    time_ax.set_title("Wall time by stage")
    time_ax.legend(fontsize=8)
    memory_ax.plot(sizes, [r["peak_rss_mb"] / 1024 for r in runs], "o-")
    memory_ax.axhline(8, color="red", linestyle=":", label="8 GiB target")
    memory_ax.set(xscale="log", xlabel="listings a side", ylabel="peak RSS (GiB)")
    memory_ax.set_title("Peak memory")
    memory_ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(folder / "scale.png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    print(f"wrote {folder / 'scale.md'} and {folder / 'scale.png'}")


if __name__ == "__main__":
    main()
