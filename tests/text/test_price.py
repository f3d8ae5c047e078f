from __future__ import annotations

import json
from pathlib import Path

import pytest

from prodmatch.errors import ProdmatchError
from prodmatch.text import ExchangeRates, normalize_price, parse_price
from prodmatch.text.price import Price


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("¥2,399", Price(2399.0, "CNY")),
        ("\uffe52399.00", Price(2399.0, "CNY")),  # full-width yuan sign
        ("2399元", Price(2399.0, "CNY")),
        ("RMB 199", Price(199.0, "CNY")),
        ("1 299,00 Kč", Price(1299.0, "CZK")),
        ("52,99 €", Price(52.99, "EUR")),
        ("1.299,00 €", Price(1299.0, "EUR")),
        ("12,5 zł", Price(12.5, "PLN")),
        ("$1,299.00", Price(1299.0, "USD")),
        ("399", Price(399.0, None)),
    ],
)
def test_parse_price_reads_each_locale(raw: str, expected: Price) -> None:
    assert parse_price(raw) == expected


def test_no_amount_or_zero_is_no_price() -> None:
    assert parse_price("n/a") is None
    assert parse_price("0,00 €") is None


def test_exchange_rates_bring_prices_into_one_currency() -> None:
    rates = ExchangeRates({"USD": 1.0, "CNY": 0.14, "EUR": 1.1})
    assert normalize_price("¥1,000", rates) == "140"
    assert normalize_price("100 €", rates) == "110"
    assert normalize_price("100 Kč", rates) == "100"  # not in the table: its own amount
    assert normalize_price("¥1,000") == "1000"  # without a table: unchanged


def test_rates_file_is_read_and_bad_entries_name_the_file(tmp_path: Path) -> None:
    good = tmp_path / "rates.json"
    good.write_text(json.dumps({"usd": 1, "CNY": 0.14}), encoding="utf-8")
    assert ExchangeRates.load(good).rates == {"USD": 1.0, "CNY": 0.14}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"CNY": "cheap"}), encoding="utf-8")
    with pytest.raises(ProdmatchError, match=r"bad\.json: rate for 'CNY'"):
        ExchangeRates.load(bad)
