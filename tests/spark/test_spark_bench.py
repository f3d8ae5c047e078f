"""bench/spark.py on a few hundred listings: both runs measured, scored and summarised."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.long]  # two CLI runs, a JVM: ~100 s

ROOT = Path(__file__).resolve().parents[2]


def test_spark_benchmark_measures_both_runs_on_the_same_data(
    tmp_path: Path, tiny_model: Path
) -> None:
    out = tmp_path / "results"
    bench = [sys.executable, str(ROOT / "bench" / "spark.py")]
    options = ["--model", str(tiny_model), "--engine", "torch", "--out", str(out)]
    subprocess.run([*bench, "--listings", "300", *options], check=True, capture_output=True)
    (record,) = json.loads((out / "spark-300.json").read_text())
    results = record["results"]
    streamed, spark = results["streamed"], results["spark"]
    assert streamed["left_rows"] == spark["left_rows"] > 250
    # Same settings, exact search on both at this size: the same decisions.
    assert spark["f1"] == pytest.approx(streamed["f1"], abs=0.01) and streamed["f1"] > 0.5
    # Spark's JVM is in the process tree, so its peak is far above the streamed one's.
    assert spark["peak_rss_mb"] > streamed["peak_rss_mb"] > 50
    assert results["spark_over_streamed"] == pytest.approx(
        spark["seconds"] / streamed["seconds"], abs=0.01
    )
    assert record["command"].startswith("python bench/spark.py")
    subprocess.run([*bench, "--summary", "--out", str(out)], check=True, capture_output=True)
    table = (out / "spark.md").read_text().splitlines()
    assert len(table) == 3 and (out / "spark.png").stat().st_size > 10_000
