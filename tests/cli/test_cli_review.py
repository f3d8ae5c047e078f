"""The command line as a new user meets it: options, messages and reviewable outputs."""

from __future__ import annotations

import typing
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from prodmatch.cli import OPTION_ALIASES, TrainLoss, TrainMode, app

runner = CliRunner()


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def _catalogs(folder: Path, *, encoding: str = "utf-8") -> tuple[Path, Path]:
    left = folder / "left.csv"
    right = folder / "right.csv"
    left.write_bytes(
        "id,title,price\n"
        "a1,Sony Turntable PSLX350H Belt Drive,99\n"
        "a2,Bose Acoustimass 5 Speaker AM53BK,399\n"
        "a3,Garmin Nuvi 350 GPS Navigator,199\n"
        "a4,Caf\u00e9 cr\u00e8me espresso machine EM200,89\n".encode(encoding)
    )
    right.write_bytes(
        "id,title,price\n"
        "b1,sony pslx350h turntable,95\n"
        "b2,bose am53bk acoustimass speaker system,389\n"
        "b3,garmin nuvi 350 gps,189\n"
        "b4,espresso machine em200 caf\u00e9 cr\u00e8me,85\n".encode(encoding)
    )
    return left, right


LEXICAL = ("--scorer", "tfidf", "--retrieval", "sparse")


def test_matches_show_titles_rounded_scores_and_code_agreement(tmp_path: Path) -> None:
    left, right = _catalogs(tmp_path)
    out = tmp_path / "m.csv"
    code, output = _run("match", left, right, "-o", out, *LEXICAL, "--k", "2")
    assert code == 0, output
    frame = pd.read_csv(out, dtype={"left_id": str, "right_id": str})
    assert list(frame.columns[:4]) == ["left_id", "right_id", "left_title", "right_title"]
    assert "code_agreement" in frame.columns and "codes" not in frame.columns
    row = frame.set_index("left_id").loc["a1"]
    assert row["right_id"] == "b1"
    assert row["left_title"] == "Sony Turntable PSLX350H Belt Drive"
    assert row["right_title"] == "sony pslx350h turntable"
    assert row["code_agreement"] == 1
    text = out.read_text()
    for value in frame["score"]:
        assert value == round(value, 4)
    assert all(len(cell.split(".")[-1]) <= 4 for cell in text.split(",") if "0." in cell)
    assert "threshold 0.3700: the default of the tfidf scorer" in output


def test_show_cols_picks_the_columns_and_names_a_missing_one(tmp_path: Path) -> None:
    left, right = _catalogs(tmp_path)
    out = tmp_path / "m.parquet"
    code, output = _run("match", left, right, "-o", out, *LEXICAL, "--show-cols", "price")
    assert code == 0, output
    frame = pd.read_parquet(out)
    assert list(frame.columns[:4]) == ["left_id", "right_id", "left_price", "right_price"]
    code, output = _run("match", left, right, "-o", out, *LEXICAL, "--show-cols", "brand")
    assert code == 2
    assert "no column 'brand' to show; columns are title, price" in output


def test_the_threshold_line_names_its_source(tmp_path: Path) -> None:
    left, right = _catalogs(tmp_path)
    out = tmp_path / "m.csv"
    code, output = _run("match", left, right, "-o", out, *LEXICAL, "--threshold", "0.25")
    assert code == 0, output
    assert "threshold 0.2500: given (--threshold)" in output
    settings = tmp_path / "s.json"
    settings.write_text('{"threshold": 0.3}')
    code, output = _run("match", left, right, "-o", out, *LEXICAL, "--settings", settings)
    assert code == 0, output
    assert f"threshold 0.3000: from {settings}" in output


def test_encoding_reads_a_latin_1_catalog(tmp_path: Path) -> None:
    left, right = _catalogs(tmp_path, encoding="latin-1")
    out = tmp_path / "m.csv"
    code, output = _run("match", left, right, "-o", out, *LEXICAL)
    assert code == 2
    assert "not valid UTF-8" in output and "--encoding" in output
    code, output = _run("match", left, right, "-o", out, *LEXICAL, "--encoding", "latin-1")
    assert code == 0, output
    frame = pd.read_csv(out, dtype=str)
    assert "Caf\u00e9 cr\u00e8me espresso machine EM200" in set(frame["left_title"])
    code, output = _run("dedupe", left, "-o", tmp_path / "c.csv", "--encoding", "latin-1")
    assert code == 0, output


def test_labels_with_other_column_names(tmp_path: Path) -> None:
    left, right = _catalogs(tmp_path)
    labels = tmp_path / "labels.csv"
    labels.write_text("shop_a,shop_b,same\na1,b1,1\na2,b2,1\na1,b3,0\na3,b1,0\n")
    out = tmp_path / "m.csv"
    args = ("match", left, right, "-o", out, *LEXICAL, "--threshold", "auto", "--labels", labels)
    code, output = _run(*args)
    assert code == 2 and "column 'ltable_id': column not found" in output
    code, output = _run(*args, "--labels-cols", "shop_a,shop_b,same")
    assert code == 0, output
    assert "chosen on --labels" in output and "on 4 labelled pairs" in output


def test_evaluate_linkage_reads_a_labelled_gold_file(tmp_path: Path) -> None:
    """A pairs file with a label column: the non-matches are not gold."""
    left, right = _catalogs(tmp_path)
    gold = tmp_path / "test.csv"
    gold.write_text(
        "ltable_id,rtable_id,label\na1,b1,1\na2,b2,1\na3,b3,1\na4,b4,1\na1,b2,0\na2,b1,0\n"
    )
    report = tmp_path / "r.json"
    code, output = _run(
        "evaluate", "linkage", left, right, "--gold", gold, *LEXICAL, "--json", report
    )
    assert code == 0, output
    data = pd.read_json(report, typ="series")
    assert data["gold_pairs"] == 4
    assert data["precision"] == 1.0


def test_version_and_choices_in_help() -> None:
    code, output = _run("--version")
    assert code == 0 and output.startswith("prodmatch ")
    help_text = _help("match")
    for choices in (
        "torch|onnx|onnx-int8",
        "hybrid|dense|tfidf|fuzzy|learned",
        "one-to-one|best|all",
        "auto|flat|ivf|ivfpq|hnsw",
        "hybrid|dense|sparse",
    ):
        assert choices in help_text, choices
    assert "--assignment" in help_text and "--assign " not in help_text
    assert "[default: 20000]" in help_text and "[default: id]" in help_text
    train_help = _help("train")
    assert "full|head" in train_help and "supcon|infonce|selfsup" in train_help
    assert "--out " not in _help("demo") and "--output" in _help("demo")


def _help(command: str) -> str:
    """A command's --help, wide enough that no choice list is wrapped."""
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


def test_a_bad_choice_is_refused_with_the_choices(tmp_path: Path) -> None:
    left, right = _catalogs(tmp_path)
    args = ["match", str(left), str(right), "-o", str(tmp_path / "m.csv"), "--engine", "gpu"]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 2
    assert "'gpu' is not one of 'torch', 'onnx', 'onnx-int8'" in result.output


@pytest.mark.parametrize("spelling", [("--assign", "best"), ("--assign=best",)])
def test_the_old_assign_name_still_works(tmp_path: Path, spelling: tuple[str, ...]) -> None:
    left, right = _catalogs(tmp_path)
    out = tmp_path / "m.csv"
    code, output = _run("match", left, right, "-o", out, *LEXICAL, *spelling, "--k", "2")
    assert code == 0, output
    assert OPTION_ALIASES["--assign"] == "--assignment"


def test_a_k_larger_than_the_catalog_warns(tmp_path: Path) -> None:
    left, right = _catalogs(tmp_path)
    code, output = _run("match", left, right, "-o", tmp_path / "m.csv", *LEXICAL, "--k", "50")
    assert code == 0, output
    assert "--k 50 candidates per listing is more than left has (4 listings)" in output
    for fits in (("--k", "3"), ()):  # the default k (20) is not checked against 4 listings
        code, output = _run("match", left, right, "-o", tmp_path / "m.csv", *LEXICAL, *fits)
        assert code == 0 and "candidates per listing" not in output


def test_train_choices_are_the_trainer_s() -> None:
    from prodmatch.train.api import Mode
    from prodmatch.train.fine_tune import ContrastiveLoss

    assert set(typing.get_args(TrainMode)) == set(typing.get_args(Mode))
    assert set(typing.get_args(TrainLoss)) == set(typing.get_args(ContrastiveLoss))


def test_training_pairs_with_other_column_names_and_encoding(tmp_path: Path) -> None:
    """`train --pairs P --pairs-cols ... --encoding latin-1` reads what `match` reads."""
    from prodmatch.cli import _training_data

    left, right = _catalogs(tmp_path, encoding="latin-1")
    pairs = tmp_path / "train.csv"
    pairs.write_text("a,b,y\na1,b1,1\na1,b2,0\n")
    _, _, train, valid = _training_data(
        None, left, right, pairs, None, None, "id", "latin-1", "a,b,y"
    )
    assert train.to_dict("list") == {
        "left_id": ["a1", "a1"],
        "right_id": ["b1", "b2"],
        "label": [1, 0],
    }
    assert valid is None


def test_swapped_gold_columns_warn_on_one_line(tmp_path: Path) -> None:
    """Ids that exist on both sides (1..4 here): the swap shows only in the candidates."""
    left = tmp_path / "l.csv"
    right = tmp_path / "r.csv"
    titles = ["sony pslx350h turntable", "bose am53bk speaker", "garmin nuvi 350", "canon ip4300"]
    left.write_text("id,title\n" + "".join(f"{i},{t}\n" for i, t in enumerate(titles, 1)))
    # right id i + 1 (wrapping) holds left i's product
    right.write_text("id,title\n" + "".join(f"{i % 4 + 1},{t}\n" for i, t in enumerate(titles, 1)))
    gold = tmp_path / "gold.csv"
    gold.write_text("r,l\n2,1\n3,2\n4,3\n1,4\n")  # right id first: swapped
    code, output = _run("evaluate", "linkage", left, right, "--gold", gold, *LEXICAL)
    assert code == 0, output
    warned = [line for line in output.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1
    assert "only 0 of 4 gold pairs are their left listing's best candidate, but 4" in warned[0]
    code, output = _run(
        "evaluate", "linkage", left, right, "--gold", gold, "--gold-cols", "l,r", *LEXICAL
    )
    assert code == 0 and "warning:" not in output
