from __future__ import annotations

import pytest

from prodmatch.text import extract_model_numbers, normalize_price, normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("500 GB", "500gb"),
        ("500GB", "500gb"),
        ("500-gb", "500gb"),
        ("2 Terabytes", "2tb"),
        ('15.6" laptop', "15.6in laptop"),
        ("15.6-inch laptop", "15.6in laptop"),
        ("\uff15\uff10\uff10\uff27\uff22", "500gb"),  # full-width forms fold under NFKC
        ("  Sony   TURNTABLE ", "sony turntable"),
        ("Sony PSLX350H", "sony pslx350h"),
        ("WH-1000XM4 black", "wh-1000xm4 black"),  # model numbers stay whole
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("$1,299.00", "1299"),
        ("399.0", "399"),
        ("19.99 USD", "19.99"),
        ("", ""),
        ("0.0", ""),
        ("n/a", ""),
    ],
)
def test_normalize_price(raw: str, expected: str) -> None:
    assert normalize_price(raw) == expected


def test_model_numbers_are_compacted_and_units_are_not_codes() -> None:
    assert extract_model_numbers("Sony WH-1000XM4 500 GB 2007") == {"wh1000xm4"}
    assert extract_model_numbers("sony wh1000xm4") == {"wh1000xm4"}


def test_model_number_suffix_after_slash_also_counts_without_it() -> None:
    assert extract_model_numbers("Apple iPod MB598LL/A") == {"mb598lla", "mb598ll"}


def test_plain_words_and_years_are_not_model_numbers() -> None:
    assert extract_model_numbers("office 2007 home edition 4th gen 30pk") == set()
