"""Cross-border options end to end: demo --languages, --language, --exchange-rates."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from prodmatch.cli import app
from prodmatch.synth import write_catalogs
from prodmatch.synth.bilingual import generate_bilingual

runner = CliRunner()


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_bilingual_demo_records_each_listings_language(tmp_path: Path, tiny_model: Path) -> None:
    code, output = _run(
        "demo", "--size", "60", "-o", tmp_path, "--model", tiny_model, "--languages", "zh,en"
    )
    assert code == 0, output
    rates = json.loads((tmp_path / "exchange_rates.json").read_text(encoding="utf-8"))
    assert set(rates) == {"USD", "CNY"}
    matches = pd.read_csv(tmp_path / "matches.csv", dtype=str, keep_default_na=False)
    assert (matches["left_language"] == "zh").mean() > 0.6
    assert (matches["right_language"] == "en").all()


def test_match_with_a_stated_language_and_rates(tmp_path: Path) -> None:
    paths = write_catalogs(generate_bilingual(60, seed=1, languages=("zh", "en")), tmp_path)
    rates = tmp_path / "rates.json"
    rates.write_text(json.dumps({"USD": 1, "CNY": 0.14}), encoding="utf-8")
    out = tmp_path / "m.csv"
    code, output = _run(
        "match", paths["left"], paths["right"], "-o", out, "--scorer", "tfidf",
        "--retrieval", "sparse", "--language", "zh", "--exchange-rates", rates,
    )  # fmt: skip
    assert code == 0, output
    matches = pd.read_csv(out, dtype=str)
    assert len(matches) > 0 and (matches["left_language"] == "zh").all()


def test_a_bad_rates_file_is_one_line_naming_it(tmp_path: Path) -> None:
    paths = write_catalogs(generate_bilingual(30, seed=1, languages=("zh", "en")), tmp_path)
    rates = tmp_path / "rates.json"
    rates.write_text(json.dumps({"CNY": -1}), encoding="utf-8")
    code, output = _run(
        "match", paths["left"], paths["right"], "-o", tmp_path / "m.csv", "--scorer", "tfidf",
        "--retrieval", "sparse", "--exchange-rates", rates,
    )  # fmt: skip
    assert code != 0
    assert "rates.json: rate for 'CNY' must be a positive number" in output
    assert "Traceback" not in output


def test_demo_rejects_an_unknown_language(tmp_path: Path) -> None:
    code, output = _run("demo", "--size", "20", "-o", tmp_path, "--languages", "fr,en")
    assert code != 0 and "--languages" in output
