"""Tests for prodmatch.data.pairs: labelled pairs, gold mappings and DeepMatcher folders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from prodmatch.data import PairDataset, load_deepmatcher, load_gold, load_pairs, parse_pair_cols
from prodmatch.errors import InputError


def write(folder: Path, name: str, text: str, *, newline: str = "\n") -> Path:
    """Write ``text`` (written with '\\n') using the given line ending."""
    path = folder / name
    path.write_bytes(text.replace("\n", newline).encode())
    return path


def raised(call: object, *args: object, **kwargs: object) -> str:
    """The message of the InputError that ``call(*args, **kwargs)`` must raise."""
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(info.value)


PAIRS = "ltable_id,rtable_id,label\n0,5,1\n1 ,6,0\n2,7,1.0\n"


# --------------------------------------------------------------------------- load_pairs


def test_load_pairs_columns_and_types(tmp_path: Path) -> None:
    pairs = load_pairs(write(tmp_path, "train.csv", PAIRS, newline="\r\n"))
    assert list(pairs.columns) == ["left_id", "right_id", "label"]
    assert pairs["left_id"].tolist() == ["0", "1", "2"]
    assert pairs["right_id"].tolist() == ["5", "6", "7"]
    assert pairs["label"].tolist() == [1, 0, 1]
    assert pairs["label"].dtype == "int64"


def test_load_pairs_custom_columns_and_sep(tmp_path: Path) -> None:
    path = write(tmp_path, "p.txt", "a|b|y|note\nx|y|0|n\n")
    pairs = load_pairs(path, cols=("a", "b", "y"))
    assert pairs.to_dict("records") == [{"left_id": "x", "right_id": "y", "label": 0}]


def test_load_pairs_parquet_int_ids(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    frame = pd.DataFrame({"ltable_id": [12, 13], "rtable_id": [1, 2], "label": [True, False]})
    frame.to_parquet(path)
    pairs = load_pairs(path, left_ids=["12", "13"], right_ids={"1", "2"})
    assert pairs.to_dict("list") == {
        "left_id": ["12", "13"],
        "right_id": ["1", "2"],
        "label": [1, 0],
    }


def test_exact_duplicate_pairs_are_kept(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "ltable_id,rtable_id,label\n1,2,1\n1,2,1\n")
    assert len(load_pairs(path)) == 2


def test_conflicting_labels_name_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "ltable_id,rtable_id,label\n1,2,1\n3,4,0\n1,2,0\n")
    assert raised(load_pairs, path) == (
        f"{path}, line 4, column 'label': pair ('1', '2') has label 0 here but 1 on line 2"
    )


@pytest.mark.parametrize("label", ["2", "", "yes", "-1"])
def test_bad_label_names_line_and_column(tmp_path: Path, label: str) -> None:
    path = write(tmp_path, "p.csv", f"ltable_id,rtable_id,label\n1,2,1\n3,4,{label}\n")
    assert raised(load_pairs, path) == (
        f"{path}, line 3, column 'label': label must be 0 or 1, found {label!r}"
    )


def test_missing_pair_column(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "ltable_id,rtable_id,y\n1,2,1\n")
    message = raised(load_pairs, path)
    assert message.startswith(f"{path}, column 'label': column not found")
    assert "'ltable_id', 'rtable_id', 'y'" in message


def test_pair_ids_checked_against_catalogs(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", PAIRS)
    assert raised(load_pairs, path, left_ids=["0", "1"], right_ids=["5", "6", "7"]) == (
        f"{path}, line 4, column 'ltable_id': id '2' is not in the left catalog"
    )
    assert raised(load_pairs, path, left_ids=["0", "1", "2"], right_ids=["5", "7"]) == (
        f"{path}, line 3, column 'rtable_id': id '6' is not in the right catalog"
    )


def test_swapped_columns_are_named_in_the_error(tmp_path: Path) -> None:
    """Ids that belong to the other catalog: the message counts them and suggests a swap."""
    path = write(tmp_path, "p.csv", "ltable_id,rtable_id,label\nb1,a1,1\nb2,a2,0\nb3,a1,1\n")
    message = raised(load_pairs, path, left_ids=["a1", "a2"], right_ids=["b1", "b2", "b3"])
    assert message.startswith(f"{path}, line 2, column 'ltable_id': id 'b1' is not in the left")
    assert "only 0 of 3 ids of this column are in the left catalog but 3 are in the right" in (
        message
    )
    assert "swapped" in message


def test_pair_file_with_other_column_names(tmp_path: Path) -> None:
    """--labels-cols: any names, in the order left, right, label; label defaults to 'label'."""
    path = write(tmp_path, "p.csv", "label,amazon,walmart\n1,a1,w1\n0,a1,w2\n")
    pairs = load_pairs(path, cols=("amazon", "walmart"), left_ids=["a1"], right_ids=["w1", "w2"])
    assert pairs.to_dict("list") == {
        "left_id": ["a1", "a1"],
        "right_id": ["w1", "w2"],
        "label": [1, 0],
    }
    assert parse_pair_cols("amazon, walmart ,y", "--labels-cols") == ("amazon", "walmart", "y")
    assert parse_pair_cols(None, "--labels-cols") is None
    for bad in ("amazon", "a,b,c,d", "a,,b"):
        with pytest.raises(InputError, match="--labels-cols needs 'LEFT,RIGHT'"):
            parse_pair_cols(bad, "--labels-cols")


def test_empty_pair_id(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "ltable_id,rtable_id,label\n1,,1\n")
    assert raised(load_pairs, path) == f"{path}, line 2, column 'rtable_id': empty id"


def test_pairs_file_problems_are_input_errors(tmp_path: Path) -> None:
    assert "file not found" in raised(load_pairs, tmp_path / "none.csv")
    assert "no rows" in raised(load_pairs, write(tmp_path, "h.csv", "ltable_id,rtable_id,label\n"))
    bad = write(tmp_path, "b.csv", "ltable_id,rtable_id,label\n1,2\n")
    assert (
        raised(load_pairs, bad) == f"{bad}, line 2: expected 3 fields (as in the header), found 2"
    )


# --------------------------------------------------------------------------- load_gold


@pytest.mark.parametrize(("sep", "newline"), [("|", "\n"), ("#", "\r\n"), (",", "\r\n")])
def test_load_gold_sniffs_and_deduplicates(tmp_path: Path, sep: str, newline: str) -> None:
    text = f"D1{sep}D2\n206{sep}216\n60{sep}46\n206{sep}216\n60{sep}47"  # no final newline
    gold = load_gold(write(tmp_path, "gt.csv", text, newline=newline))
    assert list(gold.columns) == ["left_id", "right_id"]
    assert gold.to_dict("list") == {"left_id": ["206", "60", "60"], "right_id": ["216", "46", "47"]}
    assert list(gold.index) == [0, 1, 2]


def test_load_gold_named_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "gt.csv", "note,buy,abt\nx,1,2\n")
    gold = load_gold(path, cols=("abt", "buy"))
    assert gold.to_dict("records") == [{"left_id": "2", "right_id": "1"}]
    assert "column 'walmart'" in raised(load_gold, path, cols=("abt", "walmart"))


def test_load_gold_checks_ids(tmp_path: Path) -> None:
    path = write(tmp_path, "gt.csv", "D1#D2\n1#2\n3#4\n", newline="\r\n")
    assert raised(load_gold, path, left_ids=["1"], right_ids=["2", "4"]) == (
        f"{path}, line 3, column 'D1': id '3' is not in the left catalog"
    )
    assert raised(load_gold, path, right_ids=["2"]) == (
        f"{path}, line 3, column 'D2': id '4' is not in the right catalog"
    )


def test_load_gold_keeps_only_pairs_labelled_1(tmp_path: Path) -> None:
    """A DeepMatcher test.csv as gold: its non-matches are not gold pairs."""
    path = write(tmp_path, "test.csv", "ltable_id,rtable_id,label\n1,2,1\n1,3,0\n4,5,1.0\n")
    gold = load_gold(path)
    assert gold.to_dict("records") == [
        {"left_id": "1", "right_id": "2"},
        {"left_id": "4", "right_id": "5"},
    ]
    named = write(tmp_path, "n.csv", "y,l,r\n0,1,2\n1,3,4\n")
    assert load_gold(named, cols=("l", "r", "y")).to_dict("records") == [
        {"left_id": "3", "right_id": "4"}
    ]
    assert len(load_gold(named, cols=("l", "r"))) == 2  # no label named: every row is gold
    bad = write(tmp_path, "bad.csv", "a,b,label\n1,2,maybe\n")
    assert raised(load_gold, bad) == (
        f"{bad}, line 2, column 'label': label must be 0 or 1, found 'maybe'"
    )


def test_load_gold_single_column_hints_at_sep(tmp_path: Path) -> None:
    path = write(tmp_path, "gt.csv", "D1/D2\n1/2\n")
    message = raised(load_gold, path)
    assert message.startswith(f"{path}: need two id columns, found one: 'D1/D2'")
    assert "--sep" in message


def test_load_gold_empty_id(tmp_path: Path) -> None:
    path = write(tmp_path, "gt.csv", "D1|D2\n1|2\n|3\n")
    assert raised(load_gold, path) == f"{path}, line 3, column 'D1': empty id"


# --------------------------------------------------------------------------- load_deepmatcher


def make_deepmatcher(folder: Path) -> Path:
    """A tiny DeepMatcher folder with quoted descriptions, as the real exports have."""
    folder.mkdir()
    write(folder, "tableA.csv", 'id,name,description,price\n0,tv,"big, black",\n1,radio,,9.0\n')
    write(folder, "tableB.csv", "id,name,description,price\n0,television,,\n1,ipod,small,\n")
    write(folder, "train.csv", "ltable_id,rtable_id,label\n0,0,1\n1,1,0\n")
    write(folder, "valid.csv", "ltable_id,rtable_id,label\n0,1,0\n")
    write(folder, "test.csv", "ltable_id,rtable_id,label\n1,0,0\n")
    return folder


def test_load_deepmatcher(tmp_path: Path) -> None:
    data = load_deepmatcher(make_deepmatcher(tmp_path / "dm"))
    assert isinstance(data, PairDataset)
    assert data.left.name == "tableA" and data.right.name == "tableB"
    assert data.left.records.loc["0", "description"] == "big, black"
    assert data.train["label"].tolist() == [1, 0]
    assert len(data.valid) == 1 and len(data.test) == 1


@pytest.mark.parametrize("missing", ["tableB.csv", "valid.csv"])
def test_load_deepmatcher_missing_file_is_named(tmp_path: Path, missing: str) -> None:
    folder = make_deepmatcher(tmp_path / "dm")
    (folder / missing).unlink()
    assert raised(load_deepmatcher, folder) == (
        f"{folder / missing}: not a DeepMatcher folder: missing {missing}"
    )


def test_load_deepmatcher_not_a_folder(tmp_path: Path) -> None:
    assert raised(load_deepmatcher, tmp_path / "nope") == f"{tmp_path / 'nope'}: folder not found"
    file = write(tmp_path, "f.csv", "x\n")
    assert "expected a folder" in raised(load_deepmatcher, file)


def test_load_deepmatcher_unknown_pair_id(tmp_path: Path) -> None:
    folder = make_deepmatcher(tmp_path / "dm")
    write(folder, "test.csv", "ltable_id,rtable_id,label\n1,0,0\n5,0,1\n")
    assert raised(load_deepmatcher, folder) == (
        f"{folder / 'test.csv'}, line 3, column 'ltable_id': id '5' is not in the left catalog"
    )


# --------------------------------------------------------------------------- real benchmark files


@pytest.mark.parametrize(
    ("folder", "left", "right", "pairs"),
    [
        ("abt-buy-full", "abt.csv", "buy.csv", 1076),
        ("amazon-google-full", "amazon.csv", "gp.csv", 1103),
    ],
)
def test_real_gold(datasets_dir: Path, folder: str, left: str, right: str, pairs: int) -> None:
    from prodmatch.data import load_catalog

    base = datasets_dir / folder
    left_ids = load_catalog(base / left).ids
    right_ids = load_catalog(base / right).ids
    gold = load_gold(base / "gt.csv", left_ids=left_ids, right_ids=right_ids)
    assert len(gold) == pairs
    # No pair was dropped as a duplicate: the file has exactly that many data lines.
    lines = [ln for ln in (base / "gt.csv").read_bytes().split(b"\n") if ln.strip()]
    assert len(lines) - 1 == pairs


def test_real_deepmatcher_abt_buy(datasets_dir: Path) -> None:
    data = load_deepmatcher(datasets_dir / "abt-buy")
    assert (len(data.left), len(data.right)) == (1081, 1092)
    assert [len(data.train), len(data.valid), len(data.test)] == [5743, 1916, 1916]
    assert [int(s["label"].sum()) for s in (data.train, data.valid, data.test)] == [616, 206, 206]


def test_real_deepmatcher_amazon_google(datasets_dir: Path) -> None:
    data = load_deepmatcher(datasets_dir / "amazon-google")
    assert (len(data.left), len(data.right)) == (1363, 3226)
    assert [len(data.train), len(data.valid), len(data.test)] == [6874, 2293, 2293]
    assert data.left.columns == ["title", "manufacturer", "price"]
