"""The command line end to end, on small files, with the tiny model or lexical scorers."""

from __future__ import annotations

import json
from collections.abc import Iterator
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
    # fixed: on 120 products with a toy model the precision below is the fixed threshold's
    # (the calibrated decision is tested in tests/cli/test_decision.py)
    fixed = ("--model", tiny_model, "--decision", "fixed")
    code, output = _run("match", world["left"], world["right"], "-o", out, *fixed)
    assert code == 0, output
    matches = pd.read_parquet(out)
    assert list(matches.columns[:8]) == [
        *("left_id", "right_id", "left_title", "right_title"),
        *("score", "probability", "rank", "decision"),
    ]
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
    code, output = _run("demo", "--size", "60", "-o", tmp_path, "--model", tiny_model)
    assert code == 0, output
    for name in ("left.csv", "right.csv", "gold.csv", "matches.csv", "scores.png", "report.json"):
        assert (tmp_path / name).exists(), name


@pytest.mark.slow
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
    args = [str(world["left"]), str(world["right"]), "-o", str(tmp_path / "m.csv")]
    result = runner.invoke(app, ["match", *args, "--engine", "tpu"], env={"COLUMNS": "250"})
    assert result.exit_code == 2
    assert "'tpu' is not one of 'torch', 'onnx', 'onnx-int8'" in result.output


@pytest.fixture(scope="module")
def pictured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """left.csv and right.csv with an image column (about 30 photos), one photo corrupt, and a
    DeepMatcher folder of the same tables."""
    from dataclasses import replace

    from prodmatch.synth.pictures import generate_multimodal

    folder = tmp_path_factory.mktemp("pictured")
    world = generate_multimodal(20, 5, folder, size=64)
    (folder / world.left["image"][world.left["image"] != ""].iloc[0]).write_bytes(b"not a png")
    synth = replace(world.synth, left=world.left, right=world.right)
    write_deepmatcher(synth, generate_pairs(synth, seed=5), folder / "dm")
    for name in ("left", "right"):  # the tables' photo paths are relative to their folder
        (folder / "dm" / "images").mkdir(exist_ok=True)
        (folder / "dm" / "images" / name).symlink_to(folder / "images" / name)
    return folder


@pytest.fixture
def one_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_match_with_image_col_warns_once_per_catalog_and_writes_photo_signals(
    pictured: Path, tiny_model: Path, tmp_path: Path, one_thread: None
) -> None:
    out = tmp_path / "m.csv"
    code, output = _run(
        "match",
        pictured / "left.csv",
        pictured / "right.csv",
        "-o",
        out,
        "--model",
        tiny_model,
        "--image-col",
        "image",
    )
    assert code == 0, output
    warned = [line for line in output.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1 and warned[0].startswith("warning: left: 1 of "), output
    matches = pd.read_csv(out)
    assert {"image", "image_both"} <= set(matches.columns)
    assert "images/" not in " ".join(map(str, matches.columns))


def test_image_col_missing_from_a_catalog_is_one_line(
    world: dict[str, Path], tmp_path: Path
) -> None:
    code, output = _run(
        "match",
        world["left"],
        world["right"],
        "-o",
        tmp_path / "m.csv",
        "--scorer",
        "tfidf",
        "--image-col",
        "photo",
    )
    assert code == 2 and "left: no image column 'photo'" in output
    assert "Traceback" not in output


@pytest.mark.slow
def test_dedupe_with_image_col_flags_reused_photos(
    pictured: Path, tiny_model: Path, tmp_path: Path, one_thread: None
) -> None:
    catalog = pd.read_csv(pictured / "right.csv", dtype=str, keep_default_na=False)
    catalog.loc[1, "image"] = catalog.loc[0, "image"]  # a seller reuses another's photo
    catalog.to_csv(pictured / "shop.csv", index=False)
    clusters_out, pairs_out = tmp_path / "c.csv", tmp_path / "p.csv"
    code, output = _run(
        "dedupe",
        pictured / "shop.csv",
        "-o",
        clusters_out,
        "--pairs-output",
        pairs_out,
        "--model",
        tiny_model,
        "--image-col",
        "image",
    )
    assert code == 0, output
    pairs = pd.read_csv(pairs_out, dtype={"left_id": str, "right_id": str})
    flagged = pairs[pairs["same_photo"]]
    assert list(catalog["id"][:2]) in flagged[["left_id", "right_id"]].values.tolist()
    count = "1 pair shares" if len(flagged) == 1 else f"{len(flagged)} pairs share"
    assert f"{count} a photo" in " ".join(output.split())


@pytest.mark.slow
def test_train_with_image_col_writes_a_fusion_head(
    pictured: Path, tiny_model: Path, tmp_path: Path, one_thread: None
) -> None:
    out = tmp_path / "m"
    code, output = _run(
        "train",
        pictured / "dm",
        "-o",
        out,
        "--mode",
        "head",
        "--model",
        tiny_model,
        "--image-col",
        "image",
    )
    assert code == 0, output
    assert (out / "fusion" / "fusion.safetensors").is_file()
    report = tmp_path / "r.json"
    code, output = _run("evaluate", "pairs", pictured / "dm", "--model", out, "--json", report)
    assert code == 0, output
    assert json.loads(report.read_text())["scorer"] == "learned"


@pytest.mark.slow
def test_demo_with_images(tmp_path: Path, tiny_model: Path, one_thread: None) -> None:
    code, output = _run(
        "demo", "--size", "20", "--output", tmp_path, "--model", tiny_model, "--images"
    )
    assert code == 0, output
    assert any((tmp_path / "images" / "left").iterdir())
    assert "image" in pd.read_csv(tmp_path / "matches.csv").columns


def test_match_with_a_work_dir_streams_and_resumes(
    world: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    args = ["match", world["left"], world["right"], "--model", tiny_model, "--scorer", "tfidf"]
    work = tmp_path / "work"
    first = tmp_path / "first.csv"
    code, output = _run(*args, "-o", first, "--work-dir", work, "--chunk-rows", "25")
    assert code == 0, output
    assert "report.json" in output
    report = json.loads((work / "report.json").read_text())
    assert report["stages"]["encode"]["rows"] > 0
    again = tmp_path / "again.csv"
    code, output = _run(*args, "-o", again, "--work-dir", work, "--chunk-rows", "25")
    assert code == 0, output
    resumed = json.loads((work / "report.json").read_text())
    assert "encode" not in resumed["stages"]  # everything was on disk already
    pd.testing.assert_frame_equal(pd.read_csv(again), pd.read_csv(first))
    code, output = _run(*args, "-o", again, "--work-dir", work, "--chunk-rows", "30")
    assert code == 2 and "other inputs or settings" in output
    code, output = _run(*args, "-o", again, "--work-dir", work, "--threshold", "auto")
    assert code == 2 and "numeric --threshold" in output


def _merged_catalog(path: Path) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "id": ["a1", "a2", "a3", "b1", "b2", "b3"],
            "title": [
                "Sony turntable PSLX350H belt drive",
                "Sony turntable PSLX300 belt drive",
                "Bose speaker system AM53BK black",
                "SONY PSLX350H turntable",
                "Sony PSLX300 turntable",
                "Bose AM53BK speaker system",
            ],
            "platform": ["shopa"] * 3 + ["shopb"] * 3,
            "product": ["p1", "p2", "p3", "p1", "p2", "p3"],
        }
    )
    frame.to_csv(path, index=False)
    return frame


def test_dedupe_with_a_source_column_writes_representatives_and_columns(tmp_path: Path) -> None:
    source = tmp_path / "merged.csv"
    _merged_catalog(source)
    out = tmp_path / "clusters.csv"
    code, output = _run(
        "dedupe", source, "-o", out, "--scorer", "tfidf", "--retrieval", "sparse",
        "--columns", "title", "--source-col", "platform", "--one-per-source",
        "--cross-threshold", "0.2",
    )  # fmt: skip
    assert code == 0, output
    assert "one-to-one" in output and "across sources 0.200 (given" in output
    clusters = pd.read_csv(out, dtype=str)
    assert {"representative_id", "confidence", "cluster_size", "title", "platform"} <= set(
        clusters.columns
    )
    by_id = clusters.set_index("product_id")
    assert by_id.loc["a1", "cluster_id"] == by_id.loc["b1", "cluster_id"]
    assert by_id.loc["a1", "representative_id"] in {"a1", "b1"}


def test_dedupe_options_that_need_a_source_column_say_so(tmp_path: Path) -> None:
    source = tmp_path / "merged.csv"
    _merged_catalog(source)
    code, output = _run("dedupe", source, "-o", tmp_path / "c.csv", "--one-per-source")
    assert code == 2 and "--source-col" in output


def test_evaluate_dedupe_with_a_gold_column_writes_json_and_png(tmp_path: Path) -> None:
    source = tmp_path / "merged.csv"
    _merged_catalog(source)
    report, plot = tmp_path / "r.json", tmp_path / "r.png"
    code, output = _run(
        "evaluate", "dedupe", source, "--gold-col", "product", "--columns", "title",
        "--scorer", "tfidf", "--retrieval", "sparse", "--source-col", "platform",
        "--one-per-source", "--cross-threshold", "0.2", "--json", report, "--plot", plot,
    )  # fmt: skip
    assert code == 0, output
    data = json.loads(report.read_text())
    assert data["f1"] == 1.0 and data["bcubed_f1"] == 1.0
    assert data["cluster_sizes"] == {"2": 3} and data["largest_cluster"] == 2
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_evaluate_dedupe_with_gold_pairs(tmp_path: Path) -> None:
    source = tmp_path / "merged.csv"
    _merged_catalog(source)
    gold = tmp_path / "gold.csv"
    gold.write_text("left,right\na1,b1\na2,b2\na3,b3\n")
    report = tmp_path / "r.json"
    code, output = _run(
        "evaluate", "dedupe", source, "--gold", gold, "--columns", "title",
        "--scorer", "tfidf", "--retrieval", "sparse", "--threshold", "0.99", "--json", report,
    )  # fmt: skip
    assert code == 0, output
    data = json.loads(report.read_text())
    # at 0.99 nothing merges: no predicted pair, every listing alone
    assert data["predicted_pairs"] == 0 and data["gold_pairs"] == 3
    assert data["bcubed_precision"] == 1.0 and data["bcubed_recall"] == 0.5


def test_evaluate_dedupe_needs_exactly_one_gold(tmp_path: Path) -> None:
    source = tmp_path / "merged.csv"
    _merged_catalog(source)
    code, output = _run("evaluate", "dedupe", source)
    assert code == 2 and "--gold" in output
