"""Smoke test of bench/calibration.py on small synthetic catalogs with a lexical scorer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_calibration_benchmark_records_every_share(tmp_path: Path) -> None:
    command = [
        *(sys.executable, str(ROOT / "bench" / "calibration.py")),
        *("--full", "", "--dev", "", "--synth-left", "200", "--shares", "0.3,1.0"),
        *("--scorer", "tfidf", "--retrieval", "sparse", "--out", str(tmp_path)),
    ]
    subprocess.run(command, check=True, capture_output=True, text=True)
    records = json.loads((tmp_path / "calibration.json").read_text())
    assert len(records) == 1 and records[0]["command"].startswith("python bench/calibration.py")
    results = records[0]["results"]
    assert set(results) == {"synth/share0.3", "synth/share1.0"}
    few, all_ = results["synth/share0.3"], results["synth/share1.0"]
    assert few["true_share"] < 0.4 and all_["true_share"] == 1.0
    assert few["estimated_share"] < 0.5 < all_["estimated_share"]  # the share is estimated
    for row in (few, all_):
        ratio = row["calibrated_f1"] / row["best_f1"]
        assert abs(row["calibrated_ratio"] - ratio) < 2e-4
        assert row["calibrated_f1"] <= row["best_f1"] and row["decision"] == "calibrated"


def test_choose_sweeps_the_null_shift_on_dev_cases_only(tmp_path: Path) -> None:
    common = [
        *("--full", "", "--dev", "", "--synth-left", "200", "--shares", "0.3,1.0"),
        *("--scorer", "tfidf", "--retrieval", "sparse"),
    ]
    script = str(ROOT / "bench" / "calibration.py")
    chosen, measured = tmp_path / "choose", tmp_path / "measure"
    choose = [sys.executable, script, *common, "--choose", "--null-shifts", "0,0.6"]
    subprocess.run([*choose, "--out", str(chosen)], check=True, capture_output=True, text=True)
    subprocess.run(
        [sys.executable, script, *common, "--out", str(measured)],
        check=True,
        capture_output=True,
        text=True,
    )
    results = json.loads((chosen / "calibration.json").read_text())[0]["results"]
    assert set(results["by_shift"]) == {"0.0", "0.6"}
    for row in results["by_shift"].values():
        ratios = row["ratios"]
        assert set(ratios) == {"synth/share0.3", "synth/share1.0"}
        assert row["worst"] == min(ratios.values()) and max(ratios.values()) <= 1.0
    # the library default (0.6) is what the measuring run decided with
    plain = json.loads((measured / "calibration.json").read_text())[0]["results"]
    for case, ratio in results["by_shift"]["0.6"]["ratios"].items():
        assert abs(plain[case]["calibrated_ratio"] - ratio) < 2e-4
