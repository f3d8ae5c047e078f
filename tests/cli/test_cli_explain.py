"""`prodmatch explain` and `match --report` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from prodmatch.cli import app

runner = CliRunner()


def _catalogs(folder: Path) -> tuple[Path, Path]:
    left, right = folder / "left.csv", folder / "right.csv"
    left.write_text(
        "id,title,price\na1,Sony Turntable PSLX350H Belt Drive,99\n"
        "a2,Garmin Nuvi 350 GPS Navigator,199\na3,Bose Acoustimass 5 Speaker AM53BK,399\n"
    )
    right.write_text(
        "id,title,price\nb1,sony pslx350h turntable,95\nb2,garmin nuvi 350 gps,189\n"
        "b3,bose am53bk acoustimass speaker system,389\n"
    )
    return left, right


def test_explain_json_gives_the_score_match_gives(tmp_path: Path, tiny_model: Path) -> None:
    left, right = _catalogs(tmp_path)
    out = tmp_path / "m.csv"
    model = ("--model", str(tiny_model))
    result = runner.invoke(app, ["match", str(left), str(right), "-o", str(out), *model])
    assert result.exit_code == 0, result.output
    matched = pd.read_csv(out, dtype=str).set_index("left_id")
    result = runner.invoke(app, ["explain", str(left), str(right), "a1", "b1", *model, "--json"])
    assert result.exit_code == 0, result.output
    explained = json.loads(result.stdout)
    assert round(explained["score"], 4) == float(matched.loc["a1", "score"])  # written rounded
    parts = explained["signals"]["parts"]
    assert abs(sum(p["contribution"] for p in parts) - explained["score"]) < 1e-9
    assert {a["attribute"] for a in explained["attributes"]} == {"title", "price"}
    text = runner.invoke(app, ["explain", str(left), str(right), "a1", "b1", *model])
    assert text.exit_code == 0 and "encoder cosine" in text.stdout and "PSLX350H" in text.stdout
    missing = runner.invoke(app, ["explain", str(left), str(right), "a9", "b1", *model])
    assert missing.exit_code == 2 and "no listing with id 'a9'" in missing.output


def test_match_report_with_labels(tmp_path: Path, tiny_model: Path) -> None:
    left, right = _catalogs(tmp_path)
    labels = tmp_path / "labels.csv"
    labels.write_text("ltable_id,rtable_id,label\na1,b1,1\na2,b1,0\na3,b3,1\n")
    report = tmp_path / "report.html"
    args = ["match", str(left), str(right), "-o", str(tmp_path / "m.csv"), "--labels", str(labels)]
    result = runner.invoke(app, [*args, "--model", str(tiny_model), "--report", str(report)])
    assert result.exit_code == 0, result.output
    page = report.read_text()
    assert "precision-recall curve" in page and "nearest the threshold" in page
    assert "http://" not in page and "https://" not in page


def test_explain_cuts_at_the_threshold_match_calibrates(tmp_path: Path) -> None:
    import re

    from prodmatch.synth import generate_catalogs, write_catalogs

    files = write_catalogs(generate_catalogs(200, seed=4), tmp_path)
    settings = tmp_path / "lexical.json"
    lexical_settings = {"scorer": "tfidf", "retrieval": "sparse", "columns": ["title", "brand"]}
    settings.write_text(json.dumps(lexical_settings))
    lexical = ("--settings", str(settings))
    pair = [str(files["left"]), str(files["right"])]
    out = tmp_path / "m.csv"
    matched = runner.invoke(app, ["match", *pair, "-o", str(out), *lexical])
    assert matched.exit_code == 0, matched.output
    line = re.search(r"threshold (\d\.\d{4}): calibrated", matched.output)
    assert line is not None, matched.output
    first = pd.read_csv(out, dtype=str).iloc[0]
    ids = [first["left_id"], first["right_id"]]
    result = runner.invoke(app, ["explain", *pair, *ids, *lexical, "--json"])
    assert result.exit_code == 0, result.output
    threshold = json.loads(result.stdout)["threshold"]
    assert round(threshold, 4) == float(line.group(1)) and abs(threshold - 0.37) > 1e-3
