"""The command line end to end, on small files, with the tiny model or lexical scorers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from prodmatch.cli import app
from prodmatch.synth import generate_catalogs, generate_pairs, write_catalogs, write_deepmatcher

runner = CliRunner()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    synth = generate_catalogs(120, seed=3)
    folder = tmp_path_factory.mktemp("world")
    paths = write_catalogs(synth, folder)
    write_deepmatcher(synth, generate_pairs(synth, seed=3), folder / "dm")
    paths["dm"] = folder / "dm"
    return paths


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_match_writes_matches_with_scores(
    world: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "matches.parquet"
    code, output = _run("match", world["left"], world["right"], "-o", out, "--model", tiny_model)
    assert code == 0, output
    matches = pd.read_parquet(out)
    assert list(matches.columns[:5]) == ["left_id", "right_id", "score", "rank", "decision"]
    assert matches["decision"].all()
    assert matches["left_id"].is_unique and matches["right_id"].is_unique  # one-to-one
    gold = pd.read_csv(world["gold"], dtype=str)
    hits = matches.merge(gold, on=["left_id", "right_id"])
    assert len(hits) / len(matches) > 0.8


def test_match_threshold_auto_uses_labelled_pairs(world: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "m.csv"
    code, output = _run(
        "match",
        world["left"],
        world["right"],
        "-o",
        out,
        "--scorer",
        "tfidf",
        "--threshold",
        "auto",
        "--labels",
        world["dm"] / "train.csv",
        "--all-candidates",
    )
    assert code == 0, output
    assert "threshold" in output
    frame = pd.read_csv(out)
    assert not frame["decision"].all()  # every candidate, decided or not


def test_threshold_auto_without_labels_is_one_clear_line(
    world: dict[str, Path], tmp_path: Path
) -> None:
    code, output = _run(
        "match",
        world["left"],
        world["right"],
        "-o",
        tmp_path / "m.csv",
        "--threshold",
        "auto",
        "--scorer",
        "tfidf",
    )
    assert code == 2
    assert "needs labelled pairs" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("id,title\n1,a\n1,b\n", "duplicate id"),
        ("name,title\n1,a\n", "id"),
        ("", "empty"),
        ("id,title\n1,a,extra\n", "line 2"),
    ],
)
def test_bad_catalog_names_file_and_place(
    world: dict[str, Path], tmp_path: Path, content: str, expected: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    code, output = _run("match", bad, world["right"], "-o", tmp_path / "m.csv", "--scorer", "tfidf")
    assert code == 2
    assert "bad.csv" in output and expected in output
    assert "Traceback" not in output
    assert not (tmp_path / "m.csv").exists()


def test_missing_file(tmp_path: Path) -> None:
    code, output = _run("dedupe", tmp_path / "nope.csv", "-o", tmp_path / "c.csv")
    assert code == 2 and "nope.csv" in output and "not found" in output


def test_dedupe_writes_clusters_and_pairs(tmp_path: Path) -> None:
    from prodmatch.synth import generate_duplicates

    catalog, _ = generate_duplicates(80, seed=1)
    source = tmp_path / "catalog.jsonl"
    catalog.to_json(source, orient="records", lines=True)
    clusters_out, pairs_out = tmp_path / "clusters.csv", tmp_path / "pairs.csv"
    code, output = _run(
        "dedupe", source, "-o", clusters_out, "--pairs-output", pairs_out, "--scorer", "tfidf"
    )
    assert code == 0, output
    clusters = pd.read_csv(clusters_out, dtype={"product_id": str})
    assert sorted(clusters["product_id"]) == sorted(catalog["id"].astype(str))
    assert clusters["cluster_id"].nunique() < len(catalog)  # some duplicates were grouped
    assert pairs_out.exists()


def test_evaluate_pairs_writes_the_report(world: dict[str, Path], tmp_path: Path) -> None:
    report, plot = tmp_path / "r.json", tmp_path / "r.png"
    code, output = _run(
        "evaluate", "pairs", world["dm"], "--json", report, "--scorer", "tfidf", "--plot", plot
    )
    assert code == 0, output
    data = json.loads(report.read_text())
    assert {"precision", "recall", "f1", "threshold"} <= set(data)
    assert data["f1"] > 0.5
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_evaluate_linkage_reports_recall_at_k(world: dict[str, Path], tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    code, output = _run(
        "evaluate",
        "linkage",
        world["left"],
        world["right"],
        "--gold",
        world["gold"],
        "--gold-cols",
        "left_id,right_id",
        "--json",
        report,
        "--scorer",
        "fuzzy",
        "--plot",
        tmp_path / "l.png",
    )
    assert code == 0, output
    data = json.loads(report.read_text())
    assert set(data["recall_at_k"]) == {"1", "5", "10", "20", "50"}
    assert data["recall_at_k"]["50"] >= data["recall_at_k"]["1"] > 0.5
    assert {"precision", "recall", "f1", "threshold"} <= set(data)


def test_demo_with_a_tiny_model(tmp_path: Path, tiny_model: Path) -> None:
    code, output = _run("demo", "--size", "60", "--out", tmp_path, "--model", tiny_model)
    assert code == 0, output
    for name in ("left.csv", "right.csv", "gold.csv", "matches.csv", "scores.png", "report.json"):
        assert (tmp_path / name).exists(), name


def test_demo_with_the_default_model_matches_well(tmp_path: Path) -> None:
    """The real pretrained encoder, offline, on the built-in data: the newcomer's first run."""
    code, output = _run("demo", "--size", "150", "--out", tmp_path)
    assert code == 0, output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["f1"] > 0.8
    assert report["recall_at_k"]["10"] > 0.95


def test_match_with_the_int8_engine_and_dense_retrieval(
    world: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m.jsonl"
    code, output = _run(
        "match",
        world["left"],
        world["right"],
        "-o",
        out,
        "--model",
        tiny_model,
        "--engine",
        "onnx-int8",
        "--retrieval",
        "dense",
        "--scorer",
        "dense",
        "--threshold",
        "0.5",
    )
    assert code == 0, output
    assert len(pd.read_json(out, lines=True)) > 0


def test_unknown_engine_is_one_line(world: dict[str, Path], tmp_path: Path) -> None:
    code, output = _run(
        "match", world["left"], world["right"], "-o", tmp_path / "m.csv", "--engine", "tpu"
    )
    assert code == 2 and "engine must be one of" in output
