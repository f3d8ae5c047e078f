"""Smoke tests of the slow benchmark scripts on tiny synthetic stand-ins for the datasets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from prodmatch.retrieve.dense import n_lists
from prodmatch.synth import generate_catalogs, generate_pairs, write_deepmatcher

ROOT = Path(__file__).resolve().parents[2]


def test_zero_shot_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    world = generate_catalogs(80, seed=5)
    datasets = tmp_path / "datasets"
    write_deepmatcher(world, generate_pairs(world, seed=5), datasets / "abt-buy")
    full = datasets / "abt-buy-full"
    full.mkdir()
    world.left.to_csv(full / "abt.csv", sep="|", index=False)
    world.right.to_csv(full / "buy.csv", sep="|", index=False)
    world.gold.rename(columns={"left_id": "D1", "right_id": "D2"}).to_csv(
        full / "gt.csv", sep="|", index=False
    )
    out = tmp_path / "results"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "zero_shot.py"),
            "--datasets",
            str(datasets),
            "--scorers",
            "tfidf",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    records = json.loads((out / "zero_shot.json").read_text())
    assert len(records) == 1 and _has_metadata(records[0], "python bench/zero_shot.py")
    results = records[0]["results"]
    assert set(results) == {"pairs/abt-buy/tfidf", "linkage/abt-buy-full/tfidf"}
    assert results["linkage/abt-buy-full/tfidf"]["f1"] > 0.5
    assert (out / "zero_shot.md").read_text().startswith("| measurement")


def _has_metadata(record: dict[str, Any], command: str) -> bool:
    """Date, commit, command and machine (with its load) are in every results record."""
    machine = record["machine"]
    return (
        record["date"][:4].isdigit()
        and bool(record["commit"])
        and record["command"].startswith(command)
        and machine["cores"] >= 1
        and "load_average_start" in machine
        and "load_average_end" in machine
    )


def test_encode_speed_reports_throughput(tmp_path: Path, tiny_model: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "encode_speed.py"),
            "--n",
            "100",
            "--model",
            str(tiny_model),
            "--engines",
            "plain,torch,onnx",
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    reports = [json.loads(line) for line in done.stdout.strip().splitlines()]
    assert [r["engine"] for r in reports] == ["plain", "torch", "onnx"]
    assert all(r["products"] == 100 and r["products_per_second"] > 0 for r in reports)
    assert reports[2]["cosine_min"] > 0.999  # onnx fp32 agrees with sentence-transformers
    (record,) = json.loads((tmp_path / "encode_speed.json").read_text())
    assert _has_metadata(record, "python bench/encode_speed.py")
    assert record["results"]["engines"] == reports


@pytest.mark.long  # every loss and mode: ~100 s; the sample test below runs the same script
def test_training_benchmark_runs_end_to_end(tmp_path: Path, tiny_model: Path) -> None:
    world = generate_catalogs(80, seed=6)
    datasets = tmp_path / "datasets"
    write_deepmatcher(world, generate_pairs(world, seed=6), datasets / "abt-buy")
    out = tmp_path / "results"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "train_pairs.py"),
            "--datasets",
            str(datasets),
            "--names",
            "abt-buy",
            "--configs",
            "head,selfsup,supcon+cross",
            "--out",
            str(out),
            "--extra",
            f"--model {tiny_model} --epochs 1 --max-seq-length 32 --cross-epochs 1",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    records = json.loads((out / "train_pairs.json").read_text())
    # one record per (dataset, configuration) run, each with its own metadata
    assert [r["results"]["row"] for r in records] == [
        "abt-buy/head",
        "abt-buy/selfsup",
        "abt-buy/supcon+cross",
    ]
    assert all(_has_metadata(r, "python bench/train_pairs.py") for r in records)
    results = {r["results"]["row"]: r["results"] for r in records}
    assert results["abt-buy/supcon+cross"]["cross_encoder"]["epochs_run"] == 1
    assert all(r["train_seconds"] > 0 for r in results.values())
    assert "| abt-buy | selfsup |" in (out / "train_pairs.md").read_text()


def test_training_benchmark_on_a_sample_reports_valid_figures_and_step_times(
    tmp_path: Path, tiny_model: Path
) -> None:
    world = generate_catalogs(80, seed=6)
    datasets = tmp_path / "datasets"
    write_deepmatcher(world, generate_pairs(world, seed=6), datasets / "abt-buy")
    (datasets / "abt-buy" / "test.csv").unlink()  # a run on a sample never reads test
    out = tmp_path / "results"
    for extra in ([], ["--queue-size", "16", "--freeze-layers", "1"]):
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "train_pairs.py"),
                "--datasets",
                str(datasets),
                "--names",
                "abt-buy",
                "--configs",
                "supcon",
                "--train-pairs",
                "120",
                "--out",
                str(out),
                "--extra",
                f"--model {tiny_model} --epochs 2 --max-seq-length 32",
                *extra,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    records = json.loads((out / "train_pairs_subset.json").read_text())
    assert [r["results"]["row"] for r in records] == ["abt-buy/supcon", "abt-buy/supcon+q16+f1"]
    assert all(_has_metadata(r, "python bench/train_pairs.py") for r in records)
    plain, both = (r["results"] for r in records)
    assert plain["train_pairs"] == 120 and "--queue-size" not in plain["command"]
    assert "--queue-size 16 --freeze-layers 1" in both["command"]
    assert both["fine_tune"]["epochs_run"] == 2 == len(both["steps_seconds_by_epoch"])
    assert all(s > 0 for s in both["seconds_per_step_by_epoch"])
    assert plain["valid_cosine_f1"] is not None and plain["valid_classifier_f1"] is not None
    assert not (out / "train_pairs.md").exists()  # test figures only come from full runs


@pytest.mark.slow
def test_images_benchmark_reports_both_matchers_and_throughput(
    tmp_path: Path, tiny_model: Path
) -> None:
    """About 30 photos through the real EfficientNet-Lite0, text with the tiny model."""
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "images.py"),
            "--size",
            "20",
            "--seed",
            "3",
            "--model",
            str(tiny_model),
            "--throughput-images",
            "6",
            "--threads",
            "1",
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    results = json.loads((tmp_path / "images.json").read_text())
    assert set(results) == {"data", "throughput", "model", "text", "text+image", "peak_rss_mb"} | {
        "date",
        "commit",
        "command",
        "machine",
    }
    assert _has_metadata(results, "python bench/images.py")
    assert results["data"]["photos"] >= 25
    assert results["throughput"]["images"] == 6
    assert list(results["throughput"]["images_per_second"]) == ["threads_1"]
    assert results["throughput"]["images_per_second"]["threads_1"] > 0
    for name in ("text", "text+image"):
        run = results[name]
        for figure in ("pairs", "linkage", "linkage_whole"):
            assert 0.0 <= run[figure]["f1"] <= 1.0, (name, figure)
    assert results["text"]["fusion"] == {}
    assert "epoch" in results["text+image"]["fusion"]


def test_scale_benchmark_reports_every_stage_and_summarises(
    tmp_path: Path, tiny_model: Path
) -> None:
    out = tmp_path / "results"
    for listings in ("300", "600"):
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "scale.py"),
                "--listings",
                listings,
                "--model",
                str(tiny_model),
                "--engine",
                "torch",
                "--index",
                "ivf",
                "--chunk-rows",
                "200",
                "--out",
                str(out),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    report = json.loads((out / "scale-300.json").read_text())
    assert {"load", "encode", "index", "search", "score", "decide"} <= set(report["stages"])
    assert report["left_rows"] > 250 and report["index_recall"] >= 0.9
    precision, recall = report["precision"], report["recall"]
    assert report["f1"] > 0 and _has_metadata(report, "python bench/scale.py")
    assert report["f1"] == pytest.approx(2 * precision * recall / (precision + recall), abs=2e-4)
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scale.py"), "--summary", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    table = (out / "scale.md").read_text().splitlines()
    assert len(table) == 4 and (out / "scale.png").stat().st_size > 10_000


def _deepmatcher(tmp_path: Path, name: str, seed: int) -> Path:
    world = generate_catalogs(80, seed=seed)
    datasets = tmp_path / "datasets"
    write_deepmatcher(world, generate_pairs(world, seed=seed), datasets / name)
    return datasets


def _bench(script: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        check=True,
        capture_output=True,
        text=True,
    )


def test_hybrid_weight_choice_reads_valid_only_and_records_the_grid(
    tmp_path: Path, tiny_model: Path
) -> None:
    datasets = _deepmatcher(tmp_path, "abt-buy", seed=7)
    # a test split that cannot be read: the choice must not need it
    (datasets / "abt-buy" / "test.csv").write_text("ltable_id,rtable_id,label\nnope,nope,1\n")
    out = tmp_path / "results"
    _bench(
        "choose_hybrid_weights.py",
        "--datasets",
        str(datasets),
        "--names",
        "abt-buy",
        "--model",
        str(tiny_model),
        "--out",
        str(out),
    )
    (record,) = json.loads((out / "hybrid_weights.json").read_text())
    assert _has_metadata(record, "python bench/choose_hybrid_weights.py")
    results = record["results"]
    grid = results["grid"]["abt-buy"]
    assert len(grid) == 21 * 9
    best = max(grid.values(), key=lambda point: point["f1"])
    assert results["best"]["mean_f1"] == best["f1"]
    ranks = results["mean_reciprocal_rank"]["abt-buy"]
    assert ranks.keys() == grid.keys()
    by_rank = results["best_by_mean_reciprocal_rank"]
    assert by_rank["mean_mrr"] == pytest.approx(max(ranks.values()), abs=1e-4)
    # the rule: within a point of the best pair F1, the best rank of the true matches
    chosen = results["chosen"]["weights"]
    assert grid[chosen]["f1"] >= best["f1"] - 0.01
    near = [k for k, point in grid.items() if point["f1"] >= best["f1"] - 0.01]
    assert ranks[chosen] == max(ranks[k] for k in near)
    # the synthetic matches share most words: some point ranks most true matches first
    assert max(ranks.values()) > 0.5


def test_signal_choice_compares_head_matchers_with_and_without_the_signal(
    tmp_path: Path, tiny_model: Path
) -> None:
    datasets = _deepmatcher(tmp_path, "abt-buy", seed=8)
    out = tmp_path / "results"
    _bench(
        "choose_signals.py",
        "--datasets",
        str(datasets),
        "--names",
        "abt-buy",
        "--seeds",
        "0",
        "--model",
        str(tiny_model),
        "--out",
        str(out),
    )
    (record,) = json.loads((out / "signals.json").read_text())
    assert _has_metadata(record, "python bench/choose_signals.py")
    results = record["results"]
    runs = results["runs"]
    assert [r["variant"] for r in runs] == ["all", "without code_variant"]
    assert "code_variant" in runs[0]["signals"] and "code_variant" not in runs[1]["signals"]
    means = results["mean_valid_f1"]["both"]
    assert results["keep"] == (means["all"] > means["without code_variant"])


def test_signal_additions_are_weighed_on_unseen_validation_pairs(
    tmp_path: Path, tiny_model: Path
) -> None:
    datasets = _deepmatcher(tmp_path, "abt-buy", seed=8)
    out = tmp_path / "results"
    args = ["--datasets", str(datasets), "--names", "abt-buy", "--seeds", "0"]
    args += ["--add", "price,year", "--model", str(tiny_model), "--out", str(out)]
    _bench("choose_signals.py", *args)
    (record,) = json.loads((out / "signals.json").read_text())
    results = record["results"]
    variants = [r["variant"] for r in results["runs"]]
    assert variants[:3] == ["today", "+price", "+year"]
    means = results["mean_valid_f1"]
    helped = [g for g in ("price", "year") if means[f"+{g}"] > means["today"]]
    assert results["keep"] == helped or ("+kept" in means and results["keep"] == [])
    assert ("price_ratio" in results["columns"]) == ("price" in results["keep"])


def test_rerank_floor_choice_replays_floors_on_valid(tmp_path: Path, tiny_model: Path) -> None:
    datasets = _deepmatcher(tmp_path, "abt-buy", seed=9)
    folder, matcher = datasets / "abt-buy", tmp_path / "matcher"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "prodmatch.cli",
            "train",
            str(folder),
            "-o",
            str(matcher),
            "--mode",
            "head",
            "--cross-encoder",
            "--cross-epochs",
            "1",
            "--model",
            str(tiny_model),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    out = tmp_path / "results"
    _bench(
        "choose_rerank_floor.py",
        str(matcher),
        str(folder),
        "--floors",
        "0,0.5,0.99",
        "--orders",
        "--out",
        str(out),
    )
    (record,) = json.loads((out / "rerank_floor.json").read_text())
    assert _has_metadata(record, "python bench/choose_rerank_floor.py")
    results = record["results"]
    shares = [f["reread_share"] for f in results["floors"]]
    assert shares[0] == 1.0 and shares == sorted(shares, reverse=True) and shares[2] < 1.0
    f1 = {f["floor"]: f["valid_f1"] for f in results["floors"]}
    # the rule: the largest floor within 0.2 points of floor 0's validation F1
    assert results["chosen_floor"] == max(x for x, v in f1.items() if v >= f1[0.0] - 0.002)
    orders = results["orders"]
    assert set(orders) == {"one", "both", "cross_alone_one", "cross_alone_both"}
    assert results["both_orders_chosen"] == (orders["both"] > orders["one"] + 0.002)


def test_cross_encoder_epoch_choice_runs_every_epoch_on_valid_only(
    tmp_path: Path, tiny_model: Path
) -> None:
    datasets = _deepmatcher(tmp_path, "abt-buy", seed=10)
    # a test split that cannot be read: the choice must not need it
    (datasets / "abt-buy" / "test.csv").write_text("ltable_id,rtable_id,label\nnope,nope,1\n")
    out, keep = tmp_path / "results", tmp_path / "matchers"
    _bench(
        "choose_cross_encoder.py",
        "--datasets",
        str(datasets),
        "--names",
        "abt-buy",
        "--epochs",
        "2",
        "--train-pairs",
        "60",
        "--model",
        str(tiny_model),
        "--keep",
        str(keep),
        "--out",
        str(out),
    )
    (record,) = json.loads((out / "cross_epochs.json").read_text())
    assert _has_metadata(record, "python bench/choose_cross_encoder.py")
    results = record["results"]
    (run,) = results["runs"]
    # early stopping is off: both epochs ran and were scored on valid
    assert len(run["valid_f1_by_epoch"]) == 2
    assert run["cross_train_pairs"] == 60 and run["classifier_train_pairs"] > 60
    by_epoch = run["valid_f1_by_epoch"]
    kept = results["mean_valid_f1_kept_by_cap"]
    assert kept == {"1": by_epoch[0], "2": max(by_epoch)}
    best = max(kept.values())
    chosen = results["chosen_epochs"]
    assert kept[str(chosen)] >= best - 0.002
    assert all(kept[str(c)] < best - 0.002 for c in range(1, chosen))
    # the kept matcher is one choose_rerank_floor.py can read
    assert (keep / "abt-buy-cross" / "cross").is_dir()
    _bench("choose_cross_encoder.py", "--summary", "--out", str(out))
    summary = json.loads((out / "cross_epochs.json").read_text())[-1]["results"]
    assert summary["summary_of"] == [record["date"]]
    assert summary["chosen_epochs"] == chosen


def test_multilingual_benchmark_records_each_model_and_variant(
    tmp_path: Path, tiny_model: Path
) -> None:
    world = generate_catalogs(40, seed=8)
    full = tmp_path / "datasets" / "abt-buy-full"
    full.mkdir(parents=True)
    for frame, name in ((world.left, "abt.csv"), (world.right, "buy.csv")):
        frame.rename(columns={"title": "name"}).to_csv(full / name, sep="|", index=False)
    world.gold.rename(columns={"left_id": "D1", "right_id": "D2"}).to_csv(
        full / "gt.csv", sep="|", index=False
    )
    out = tmp_path / "results"
    options = [
        "--models", str(tiny_model), "--size", "20", "--abt-pairs", "10", "--speed-titles",
        "10", "--datasets", str(tmp_path / "datasets"), "--out", str(out),
    ]  # fmt: skip
    script = str(ROOT / "bench" / "multilingual.py")
    subprocess.run([sys.executable, script, *options], check=True, capture_output=True, text=True)
    (record,) = json.loads((out / "multilingual.json").read_text())
    assert _has_metadata(record, "python bench/multilingual.py")
    row = record["results"][str(tiny_model)]
    assert set(row) == {
        "speed",
        "bilingual/zero_shot",
        "bilingual-nocode/zero_shot",
        "abt-buy/zero_shot",
    }
    assert row["speed"]["titles"] == 10 and row["speed"]["titles_per_s"] > 0
    assert row["abt-buy/zero_shot"]["true_matches"] == 10
    zero = row["bilingual/zero_shot"]
    # F1 is the harmonic mean of the precision and recall it reports
    p, r = zero["precision"], zero["recall"]
    assert zero["f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)
    assert zero["oracle_f1"] >= zero["f1"] - 1e-9  # the best threshold is at least as good


def test_registry_recall_compares_the_approximate_index_with_exact_search(
    tmp_path: Path, tiny_model: Path
) -> None:
    script = str(ROOT / "bench" / "registry_recall.py")
    options = ["--size", "400", "--model", str(tiny_model), "--engine", "torch"]
    options += ["--approximate-from", "100", "--out", str(tmp_path)]
    subprocess.run([sys.executable, script, *options], check=True, capture_output=True, text=True)
    (record,) = json.loads((tmp_path / "registry_recall.json").read_text())
    assert _has_metadata(record, "python bench/registry_recall.py")
    found = record["results"]
    assert found["size"] == 400 and found["cells"] == n_lists(400) and found["probed"] >= 8
    assert found["recall_at_20"] > 0.9 and found["same_nearest"] > 0.9  # cells calibrated
    assert found["approximate_ms_per_query"] > 0 and found["exact_ms_per_query"] > 0


def test_registry_load_ingests_then_serves_clients_in_their_own_process(
    tmp_path: Path, tiny_model: Path
) -> None:
    script = str(ROOT / "bench" / "registry_load.py")
    options = ["--size", "300", "--batch", "100", "--raw-sample", "40", "--seconds", "2"]
    options += ["--clients", "2", "--model", str(tiny_model), "--engine", "torch"]
    options += ["--out", str(tmp_path)]
    subprocess.run([sys.executable, script, *options], check=True, capture_output=True, text=True)
    (record,) = json.loads((tmp_path / "registry_load.json").read_text())
    assert _has_metadata(record, "python bench/registry_load.py")
    found = record["results"]
    assert "out" not in found["settings"] and found["settings"]["size"] == 300
    match, upsert = found["match"], found["upsert"]
    assert match["requests"] > 0 and upsert["requests"] > 0
    assert 0 < match["p50_ms"] <= match["p99_ms"]
    assert found["listings"] == 300 + upsert["requests"]  # each upsert stored a new listing
    assert found["ingest_per_s"] > 0 and found["raw_encode_per_s"] > 0
    expected = found["ingest_per_s"] / found["raw_encode_per_s"]
    assert found["ingest_share_of_raw"] == pytest.approx(expected, abs=0.001)
    titles = found["ingest_per_s"] / found["raw_encode_titles_per_s"]
    assert found["ingest_share_of_raw_titles"] == pytest.approx(titles, abs=0.001)
    assert found["peak_rss_mb"] > 0


def test_choose_join_threshold_loads_per_threshold_and_keeps_the_best_mean(
    tmp_path: Path, tiny_model: Path
) -> None:
    script = str(ROOT / "bench" / "choose_join_threshold.py")
    options = ["--size", "200", "--seeds", "1,2", "--thresholds", "0.6,0.9", "--k", "5"]
    options += ["--platforms", "two"]
    options += ["--batch", "100", "--model", str(tiny_model), "--engine", "torch"]
    options += ["--out", str(tmp_path)]
    subprocess.run(
        [sys.executable, script, *options],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT / "bench",
    )
    (record,) = json.loads((tmp_path / "join_threshold.json").read_text())
    assert _has_metadata(record, "python bench/choose_join_threshold.py")
    found = record["results"]
    assert found["settings"]["k"] == 5 and "out" not in found["settings"]
    assert found["settings"]["platforms"] == "two"
    assert [(r["seed"], r["threshold"]) for r in found["runs"]] == [
        (1, 0.6),
        (1, 0.9),
        (2, 0.6),
        (2, 0.9),
    ]
    means = {t: sum(r["f1"] for r in found["runs"] if r["threshold"] == t) / 2 for t in (0.6, 0.9)}
    assert found["mean_f1"] == {str(t): pytest.approx(m, abs=1e-4) for t, m in means.items()}
    assert found["chosen"] == max((0.6, 0.9), key=lambda t: (means[t], t))
