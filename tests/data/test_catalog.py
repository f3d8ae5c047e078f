"""Tests for prodmatch.data.catalog: every format, separator sniffing, and located errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prodmatch.data import SUPPORTED_SUFFIXES, Catalog, catalog_from_frame, load_catalog
from prodmatch.errors import InputError


def write(
    folder: Path, name: str, text: str, *, newline: str = "\n", encoding: str = "utf-8"
) -> Path:
    """Write ``text`` (written with '\\n') using the given line ending, byte for byte."""
    path = folder / name
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def error_of(path: Path, **kwargs: object) -> str:
    """The message of the InputError that loading ``path`` must raise."""
    with pytest.raises(InputError) as info:
        load_catalog(path, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


def row(catalog: Catalog, id_: str) -> list[str]:
    """The descriptive values of one record, in column order."""
    return [str(v) for v in catalog.records.T[id_]]


SIMPLE = "id,name,price\n1,Sony TV,99\n2,Bose Speaker,\n3,NA,0.0\n"


# --------------------------------------------------------------------------- reading


def test_csv_values_are_strings_and_empty_values_kept(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "left.csv", SIMPLE))
    assert catalog.name == "left"
    assert catalog.source == tmp_path / "left.csv"
    assert catalog.ids == ["1", "2", "3"]
    assert catalog.columns == ["name", "price"]
    assert len(catalog) == 3
    assert catalog.records.index.name == "id"
    assert catalog.records.loc["2", "price"] == ""
    assert catalog.records.loc["3", "name"] == "NA"  # not turned into NaN
    assert catalog.records.loc["3", "price"] == "0.0"
    assert all(isinstance(v, str) for v in catalog.records.to_numpy().ravel())


@pytest.mark.parametrize("sep", [",", "|", "#", ";", "\t"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_separator_sniffed_from_header(tmp_path: Path, sep: str, newline: str) -> None:
    text = f"id{sep}title{sep}price\n0{sep}clickart 950{sep}0.0\n1{sep}{sep}12\n"
    catalog = load_catalog(write(tmp_path, "amazon.csv", text, newline=newline))
    assert catalog.ids == ["0", "1"]
    assert catalog.records.loc["0", "title"] == "clickart 950"
    assert catalog.records.loc["0", "price"] == "0.0"  # no '\r' left on the last column
    assert catalog.records.loc["1", "title"] == ""


def test_txt_and_tsv_suffixes(tmp_path: Path) -> None:
    txt = load_catalog(write(tmp_path, "a.txt", "id|name\n7|x\n"))
    assert txt.records.loc["7", "name"] == "x"
    tsv = load_catalog(write(tmp_path, "a.tsv", "id\tname,with comma\n7\tx, y\n"))
    assert tsv.columns == ["name,with comma"]
    assert tsv.records.loc["7", "name,with comma"] == "x, y"


def test_explicit_sep_overrides_sniffing(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "id|name,alias\n1|a,b\n")
    assert load_catalog(path, sep="|").columns == ["name,alias"]
    assert load_catalog(path, sep="\\t", id_col="id|name,alias").ids == ["1|a,b"]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_quoted_separators_newlines_and_quotes(tmp_path: Path, newline: str) -> None:
    text = 'id#name#description\n1#"a # b"#"line one\nline two"\n2#"say ""hi"""#plain\n'
    catalog = load_catalog(write(tmp_path, "q.csv", text, newline=newline))
    assert catalog.ids == ["1", "2"]
    assert catalog.records.loc["1", "name"] == "a # b"
    assert catalog.records.loc["1", "description"] == f"line one{newline}line two"
    assert catalog.records.loc["2", "name"] == 'say "hi"'


def test_bare_quotes_in_unquoted_file_are_kept_literally(tmp_path: Path) -> None:
    # A JedAI-style export that never quotes: the stray '"' must neither join lines nor fail.
    text = 'id#title#description\n1#"big" box#12" screen\n2#a#"unclosed\n3#b#c\n'
    catalog = load_catalog(write(tmp_path, "jedai.csv", text, newline="\r\n"))
    assert catalog.ids == ["1", "2", "3"]
    assert catalog.records.loc["1", "title"] == '"big" box'
    assert catalog.records.loc["2", "description"] == '"unclosed'


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "a.csv", "id,name\n\n1,a\n\n2,b\n\n"))
    assert catalog.ids == ["1", "2"]


def test_ids_are_stripped_strings(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "a.csv", "id,name\n 0 ,a\n007,b\n"))
    assert catalog.ids == ["0", "007"]


def test_header_names_are_stripped_and_bom_removed(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfid , name\n1,caf\xc3\xa9\n")
    catalog = load_catalog(path)
    assert catalog.columns == ["name"]
    assert catalog.records.loc["1", "name"] == "café"


def test_columns_selection_keeps_given_order(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "sku,name,brand,price\nA1,tv,sony,9\n")
    catalog = load_catalog(path, id_col="sku", columns=["price", "name"], name="shop")
    assert catalog.name == "shop"
    assert catalog.columns == ["price", "name"]
    assert row(catalog, "A1") == ["9", "tv"]
    assert load_catalog(path, id_col="sku", columns=[]).columns == []


def test_explicit_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "id,name\n1,café\n", encoding="latin-1")
    assert load_catalog(path, encoding="latin-1").records.loc["1", "name"] == "café"


def test_jsonl_values_as_text(tmp_path: Path) -> None:
    lines = [
        {"id": 12, "name": "tv", "price": 9.5, "tags": ["a", "b"]},
        {"id": 3.0, "name": None, "price": 10.0},
        {"id": " x ", "price": None, "extra": True},
    ]
    text = "\n".join(json.dumps(obj) for obj in lines[:2]) + "\n\n" + json.dumps(lines[2]) + "\n"
    catalog = load_catalog(write(tmp_path, "a.jsonl", text))
    assert catalog.ids == ["12", "3", "x"]
    assert catalog.columns == ["name", "price", "tags", "extra"]
    assert row(catalog, "12") == ["tv", "9.5", '["a", "b"]', ""]
    assert row(catalog, "3") == ["", "10.0", "", ""]
    assert row(catalog, "x") == ["", "", "", "True"]


def test_ndjson_suffix(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "a.ndjson", '{"id": 1, "t": "NA"}\r\n'))
    assert catalog.records.loc["1", "t"] == "NA"


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_parquet_ints_stay_ints(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame(
        {
            "id": pd.array([12, 13, 14], dtype="int64"),
            "stock": pd.array([1, None, 3], dtype="Int64"),
            "price": [1.5, None, 2.0],
            "name": ["a", None, ""],
        }
    )
    path = tmp_path / f"cat{suffix}"
    frame.to_parquet(path)
    catalog = load_catalog(path)
    assert catalog.ids == ["12", "13", "14"]
    assert catalog.columns == ["stock", "price", "name"]
    assert row(catalog, "12") == ["1", "1.5", "a"]
    assert row(catalog, "13") == ["", "", ""]
    assert row(catalog, "14") == ["3", "2.0", ""]


def test_parquet_with_pandas_index_column(tmp_path: Path) -> None:
    path = tmp_path / "indexed.parquet"
    pd.DataFrame({"id": ["a", "b"], "name": ["x", "y"]}, index=[5, 9]).to_parquet(path)
    assert load_catalog(path).columns == ["name"]  # '__index_level_0__' is not data


def test_catalog_from_frame(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": [1, 2], "name": ["tv", None], "price": [9.0, float("nan")]})
    catalog = catalog_from_frame(frame, name="mem", source=tmp_path / "x.csv")
    assert catalog.ids == ["1", "2"]
    assert row(catalog, "1") == ["tv", "9.0"]
    assert row(catalog, "2") == ["", ""]
    indexed = catalog_from_frame(frame.set_index("id"), columns=["price"])
    assert indexed.ids == ["1", "2"]
    assert indexed.columns == ["price"]


def test_catalog_from_frame_errors_name_the_row() -> None:
    frame = pd.DataFrame({"id": ["a", "b", "a"], "name": ["x", "y", "z"]})
    with pytest.raises(InputError) as info:
        catalog_from_frame(frame)
    assert str(info.value) == "row 3, column 'id': duplicate id 'a' (also on row 1)"


def test_select_keeps_order_and_rejects_unknown(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "a.csv", SIMPLE))
    subset = catalog.select(["3", "1"])
    assert subset.ids == ["3", "1"]
    assert subset.name == catalog.name
    assert subset.records.loc["3", "name"] == "NA"
    with pytest.raises(KeyError, match="'9'"):
        catalog.select(["1", "9"])
    with pytest.raises(ValueError, match="duplicate id"):
        catalog.select(["1", "1"])


def test_catalog_checks_invariants() -> None:
    with pytest.raises(ValueError, match="named 'id'"):
        Catalog("c", pd.DataFrame({"name": ["a"]}, index=pd.Index(["1"], name="sku")))


# --------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    assert error_of(path) == f"{path}: file not found"


def test_directory(tmp_path: Path) -> None:
    assert "is a directory" in error_of(tmp_path)


def test_unsupported_suffix(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "a.xlsx", "id\n1\n"))
    assert "unsupported file type '.xlsx'" in message
    assert all(suffix in message for suffix in SUPPORTED_SUFFIXES)


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "")
    assert error_of(path) == f"{path}: file is empty (0 bytes)"
    assert "file is empty" in error_of(write(tmp_path, "b.csv", "\n\r\n\n"))
    assert "file is empty" in error_of(write(tmp_path, "c.jsonl", "\n"))


def test_header_only_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "id,name\r\n", newline="\r\n")
    assert error_of(path).startswith(f"{path}: no rows")


def test_invalid_utf8_names_line_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "left.csv"
    path.write_bytes(b"id,name\n1,ok\n2,caf\xe9\n")
    message = error_of(path)
    assert message.startswith(f"{path}, line 3: not valid UTF-8")
    assert "byte 0xe9 at byte offset 18" in message
    assert "--encoding" in message and "encoding=" in message and "latin-1" in message


def test_invalid_utf8_after_bom_counts_the_bom(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xef\xbb\xbfid\n\xff\n")
    assert "line 2" in error_of(path) and "offset 6" in error_of(path)


def test_utf16_is_recognised(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "\ufeffid,name\n1,a\n", encoding="utf-16-le")
    assert "--encoding utf-16" in error_of(path) and "encoding='utf-16'" in error_of(path)


def test_bad_explicit_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "id,name\n1,café\n")
    assert "unknown encoding 'nope'" in error_of(path, encoding="nope")
    assert ", line 2: cannot decode as ascii" in error_of(path, encoding="ascii")


def test_missing_id_column_lists_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "sku,name\n1,a\n")
    message = error_of(path)
    assert message.startswith(f"{path}, column 'id': id column not found")
    assert "'sku', 'name'" in message
    assert "--sep" not in message


def test_missing_id_column_with_one_column_hints_at_sep(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "id/name\n1/a\n")
    message = error_of(path)
    assert "column 'id'" in message and "'id/name'" in message
    assert "--sep" in message


def test_missing_requested_column(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", SIMPLE)
    message = error_of(path, columns=["name", "brand"])
    assert message.startswith(f"{path}, column 'brand': requested column not found")
    assert "'id', 'name', 'price'" in message
    assert "requested twice" in error_of(path, columns=["name", "name"])


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "id|name\n1|a\n2|b\n 1|c\n", newline="\r\n")
    assert error_of(path) == f"{path}, line 4, column 'id': duplicate id '1' (also on line 2)"


def test_empty_id_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "name,id\na,1\nb,  \n")
    assert error_of(path) == f"{path}, line 3, column 'id': empty id"


def test_wrong_field_count_names_line_and_counts(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "id,name,price\n1,a,2\n2,b\n3,c,4\n")
    assert error_of(path) == f"{path}, line 3: expected 3 fields (as in the header), found 2"
    path = write(tmp_path, "b.csv", "id,name,price\n1,a,2,\n")
    assert error_of(path) == f"{path}, line 2: expected 3 fields (as in the header), found 4"


def test_wrong_field_count_after_quoted_newlines_is_physical_line(tmp_path: Path) -> None:
    text = 'id,name,description\n1,a,"x\ny\nz"\n\n2,b,c\n3,d\n'
    path = write(tmp_path, "a.csv", text, newline="\r\n")
    assert error_of(path).startswith(f"{path}, line 7: expected 3 fields")


def test_duplicate_id_line_after_quoted_newline(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", 'id,d\n1,"multi\nline"\n1,x\n')
    assert error_of(path) == f"{path}, line 4, column 'id': duplicate id '1' (also on line 2)"


def test_unterminated_quote_is_reported_not_swallowed(tmp_path: Path) -> None:
    # With lenient parsing the rest of the file would silently become one field.
    path = write(tmp_path, "a.csv", 'id,name\n1,"a, b"\n2,"open\n3,c\n4,"x"\n')
    message = error_of(path)
    assert message.startswith(f"{path}, line 3: malformed CSV")


def test_duplicate_header_column(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "id,name,name\n1,a,b\n")
    assert error_of(path) == f"{path}, line 1, column 'name': column appears twice in the header"


def test_bad_separator_argument(tmp_path: Path) -> None:
    assert "single character" in error_of(write(tmp_path, "a.csv", SIMPLE), sep="||")


def test_malformed_json_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a.jsonl", '{"id": 1}\n\n{"id": 2, "name": }\n')
    assert error_of(path).startswith(f"{path}, line 3: malformed JSON")
    path = write(tmp_path, "b.jsonl", '{"id": 1}\n[1, 2]\n')
    assert error_of(path) == f"{path}, line 2: expected a JSON object, found list"


def test_jsonl_duplicate_id_names_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "a.jsonl", '{"id": 1}\n\n{"id": "1"}\n')
    assert error_of(path) == f"{path}, line 3, column 'id': duplicate id '1' (also on line 1)"


def test_parquet_errors_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"id": ["a", "b", ""], "name": ["x", "y", "z"]}), path)
    assert error_of(path) == f"{path}, row 3, column 'id': empty id"
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"id": pa.array([], pa.string())}), empty)
    assert error_of(empty).startswith(f"{empty}: no rows")


def test_parquet_missing_and_duplicate_ids_name_column_and_rows(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"sku": ["a", "b"], "name": ["x", "y"]}), path)
    assert error_of(path) == (
        f"{path}, column 'id': id column not found; columns found: 'sku', 'name'"
    )
    pq.write_table(pa.table({"id": [7, 8, 7], "name": ["x", "y", "z"]}), path)
    assert error_of(path) == f"{path}, row 3, column 'id': duplicate id '7' (also on row 1)"


def test_parquet_binary_cells_are_utf8_text_or_an_error_naming_row_and_column(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.parquet"
    names = pa.array([b"kettle", "caf\u00e9".encode()], pa.binary())
    pq.write_table(pa.table({"id": pa.array([b"a", b"b"]), "name": names}), path)
    catalog = load_catalog(path)
    assert catalog.ids == ["a", "b"] and row(catalog, "b") == ["caf\u00e9"]
    names = pa.array([b"kettle", b"caf\xe9"], pa.binary())
    pq.write_table(pa.table({"id": ["a", "b"], "name": names}), path)
    assert error_of(path) == (
        f"{path}, row 2, column 'name': not valid UTF-8: byte 0xe9 at byte 3 of the value"
    )
    pq.write_table(pa.table({"id": pa.array([b"a", b"\xff"]), "name": ["x", "y"]}), path)
    assert error_of(path).startswith(f"{path}, row 2, column 'id': not valid UTF-8: byte 0xff")


def test_jsonl_missing_id_and_bad_bytes_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a.jsonl", '{"sku": "1", "name": "a"}\n')
    assert error_of(path) == (
        f"{path}, column 'id': id column not found; columns found: 'sku', 'name'"
    )
    path = write(tmp_path, "b.jsonl", '{"id": "1"}\n{"name": "no id"}\n')
    assert error_of(path) == f"{path}, line 2, column 'id': empty id"
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"id": "1", "name": "ok"}\n{"id": "2", "name": "caf\xe9"}\n')
    assert error_of(path).startswith(
        f"{path}, line 2: not valid UTF-8: byte 0xe9 at byte offset 50"
    )


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = write(tmp_path, "a.parquet", "id,name\n1,a\n")
    assert error_of(path).startswith(f"{path}: not a readable Parquet file")


# --------------------------------------------------------------------------- real benchmark files


def physical_records(path: Path) -> int:
    """Non-blank lines minus the header: the row count when no field spans lines."""
    return sum(1 for line in path.read_bytes().split(b"\n") if line.strip()) - 1


@pytest.mark.parametrize(
    ("relative", "rows", "columns"),
    [
        ("abt-buy-full/abt.csv", 1076, ["name", "description", "price"]),
        ("abt-buy-full/buy.csv", 1076, ["name", "description", "price"]),
        ("amazon-google-full/amazon.csv", 1354, ["title", "description", "manufacturer", "price"]),
        ("amazon-google-full/gp.csv", 3039, ["title", "description", "manufacturer", "price"]),
        ("abt-buy/tableA.csv", 1081, ["name", "description", "price"]),
        ("abt-buy/tableB.csv", 1092, ["name", "description", "price"]),
    ],
)
def test_real_catalogs(datasets_dir: Path, relative: str, rows: int, columns: list[str]) -> None:
    path = datasets_dir / relative
    catalog = load_catalog(path)  # separator sniffed: '|', '#' (CRLF) or ','
    assert len(catalog) == rows
    assert catalog.columns == columns
    if "full" in relative:  # JedAI files: no quoting, one record per line, ids 0..n-1
        assert physical_records(path) == rows
        assert catalog.ids == [str(i) for i in range(rows)]
    values = catalog.records.to_numpy().ravel()
    assert not any("\r" in v for v in values)
    # Cross-check with pandas reading the same file with its separator given explicitly.
    sep = {"abt-buy-full": "|", "amazon-google-full": "#"}.get(path.parent.name, ",")
    expected = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False).set_index("id")
    pd.testing.assert_frame_equal(catalog.records, expected, check_index_type=False)


def test_real_amazon_long_descriptions(datasets_dir: Path) -> None:
    catalog = load_catalog(datasets_dir / "amazon-google-full" / "amazon.csv")
    assert catalog.records["description"].str.len().max() > 10_000
    assert row(catalog, "0") == [
        "clickart 950 000 - premier image pack (dvd-rom)",
        "",
        "broderbund",
        "0.0",
    ]
