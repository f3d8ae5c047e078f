"""Prices as numbers in one currency, whatever the shop wrote.

A cross-border pair has "¥2,399" on one side and "$329.99" on the other, or "1 299,00 Kč" beside
"52,99 €": the digits only compare once each price is read in its own locale (a decimal comma,
spaces between thousands) and, when the user gives an exchange-rate table, converted into one
currency. Without a table prices stay in their own currency, as before.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from prodmatch.errors import ProdmatchError

# Marks and codes shops write, lower-cased after NFKC (which turns "￥" into "¥"). "¥" alone is
# read as yuan, the common case in the Chinese listings this is for; Japanese shops mostly
# write "円" or "JPY", which say yen.
CURRENCIES: dict[str, str] = {
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "¥": "CNY",
    "元": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "人民币": "CNY",
    "円": "JPY",
    "jpy": "JPY",
    "€": "EUR",
    "eur": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "kč": "CZK",
    "kc": "CZK",
    "czk": "CZK",
    "zł": "PLN",
    "zl": "PLN",
    "pln": "PLN",
}
_CURRENCY_RE = re.compile(
    "|".join(
        re.escape(c) if not c.isalpha() else rf"(?<![a-z]){re.escape(c)}(?![a-z])"
        for c in sorted(CURRENCIES, key=len, reverse=True)
    )
)
# Digits with thousands separators (",", ".", a space or apostrophe) and a decimal part.
_AMOUNT_RE = re.compile(r"\d(?:[\d,.' ]*\d)?")


@dataclass(frozen=True)
class Price:
    amount: float
    currency: str | None  # an ISO code, or None when the text names none


def parse_price(value: str) -> Price | None:
    """The amount and currency in `value` ("1 299,00 Kč" -> 1299.0 CZK), None without one.

    A zero amount is None too: several exports write 0 for "unknown".
    """
    text = unicodedata.normalize("NFKC", value).lower().replace("\u00a0", " ")
    match = _AMOUNT_RE.search(text)
    if match is None:
        return None
    amount = _read_amount(match.group(0))
    if amount is None or amount == 0:
        return None
    found = _CURRENCY_RE.search(text)
    return Price(amount, CURRENCIES[found.group(0)] if found else None)


def _read_amount(digits: str) -> float | None:
    """The number in "1,299.00", "1.299,00", "1 299,5" or "12,99": the last separator
    is the decimal mark when one or two digits follow it, or when both kinds appear."""
    digits = digits.replace(" ", "").replace("'", "")
    marks = [i for i, c in enumerate(digits) if c in ",."]
    if marks:
        last = marks[-1]
        tail = len(digits) - last - 1
        both = "," in digits and "." in digits
        decimal = both or tail in (1, 2) or (tail != 3 and len(marks) == 1)
        whole = re.sub(r"[,.]", "", digits[:last] if decimal else digits)
        digits = f"{whole}.{digits[last + 1 :]}" if decimal else whole
    try:
        return float(digits)
    except ValueError:
        return None


def normalize_price(value: str, rates: ExchangeRates | None = None) -> str:
    """The price as a plain number ("$1,299.00" -> "1299"), or '' when there is none.

    With `rates`, a price in a currency the table knows is converted into the table's
    currency, so both the encoder and lexical scorers compare like with like; a price whose
    currency the table lacks, or that names none, keeps its own amount.
    """
    price = parse_price(value)
    if price is None:
        return ""
    amount = price.amount
    if rates is not None and price.currency is not None:
        amount = rates.convert(amount, price.currency)
    return f"{amount:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class ExchangeRates:
    """What one unit of each currency is worth in the table's common currency."""

    rates: dict[str, float]
    source: str = "<rates>"

    def convert(self, amount: float, currency: str) -> float:
        rate = self.rates.get(currency)
        return amount * rate if rate is not None else amount

    @classmethod
    def load(cls, path: str | Path) -> ExchangeRates:
        """A JSON object of currency code -> value of one unit in the common currency, e.g.
        ``{"USD": 1, "CNY": 0.14, "EUR": 1.08}``; one line naming the file and the bad entry."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ProdmatchError(f"{path}: cannot read the exchange-rate table: {error}") from None
        if not isinstance(data, dict) or not data:
            raise ProdmatchError(f"{path}: the exchange-rate table must be a non-empty object")
        rates: dict[str, float] = {}
        for code, rate in data.items():
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
                raise ProdmatchError(f"{path}: rate for '{code}' must be a positive number")
            rates[str(code).upper()] = float(rate)
        return cls(rates, str(path))


@lru_cache(maxsize=8)
def load_rates(path: str | None) -> ExchangeRates | None:
    """The table at `path` (read once per run), or None without one."""
    return ExchangeRates.load(path) if path else None
