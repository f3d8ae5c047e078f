from __future__ import annotations

from prodmatch.text import serialize_record, serialize_records
from prodmatch.text.serialize import MAX_WORDS_PER_VALUE


def test_values_are_tagged_with_their_column_and_empty_ones_skipped() -> None:
    record = {"title": "Sony TV KDL-40", "brand": "", "price": "$1,299.00"}
    assert serialize_record(record) == "[title] sony tv kdl-40 [price] 1299"


def test_untagged_form_and_column_order() -> None:
    record = {"title": "Sony TV", "brand": "Sony"}
    assert serialize_record(record, ["brand", "title"], tags=False) == "sony sony tv"


def test_long_values_are_cut() -> None:
    text = serialize_record({"description": "word " * 500}, tags=False)
    assert len(text.split()) == MAX_WORDS_PER_VALUE


def test_many_records() -> None:
    assert serialize_records([{"a": "X"}, {"a": ""}], ["a"]) == ["[a] x", ""]
