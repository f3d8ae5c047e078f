"""What a sentence embedding blurs, read from a listing as attributes and compared per pair.

An encoder puts "Seagate 500GB drive" beside "Seagate 1TB drive" and "Office 2007 for Mac"
beside "Office 2008 for Windows": the words are nearly the same, the products are not. Each
attribute here is read from one listing (its title, its brand column, its price) and compared
between the two listings of a pair as one signal the pair classifier can learn a weight for:

- ``price_ratio``: the lower price over the higher (1 = the same), currency aware; with a
  price missing (or two currencies the exchange-rate table cannot join) a neutral 0.5 and
  ``price_missing`` = 1, so the classifier learns what a missing price means apart;
- ``brand_agreement``: the brand column's first word, else the title's, equal or not;
- ``unit_agreement``: numbers with units, compared by kind in one unit ("500gb" against
  "1tb" disagree, "1000gb" against "1tb" agree);
- ``year_agreement``, ``edition_agreement``, ``platform_agreement``: years, edition words
  (pro, plus, mini, ...) and platform words (mac, windows, xbox, ...).

The agreements are +1 (agree), -1 (disagree) or 0 (no evidence: one side does not say), as
``code_agreement`` is. Which of these the classifier reads is decided on validation pairs
(bench/choose_signals.py); a trained head names its columns, and only those are computed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from prodmatch.text.normalize import normalize_text
from prodmatch.text.price import ExchangeRates, Price, parse_price

__all__ = [
    "ATTRIBUTE_COLUMNS",
    "Attributes",
    "attribute_signals",
    "brand_agreement",
    "brand_of",
    "editions_of",
    "listing_attributes",
    "platforms_of",
    "price_ratio",
    "quantities_of",
    "set_agreement",
    "tagged_attributes",
    "title_column",
    "unit_agreement",
    "years_of",
]

ATTRIBUTE_COLUMNS = (
    "price_ratio",
    "price_missing",
    "brand_agreement",
    "unit_agreement",
    "year_agreement",
    "edition_agreement",
    "platform_agreement",
)
NEUTRAL_PRICE_RATIO = 0.5  # midway: the price_missing flag's weight carries the difference

_TITLE_COLUMNS = ("title", "name", "product_name", "product", "product_title")
_BRAND_COLUMNS = ("brand", "manufacturer", "maker", "vendor")
# Each unit (as normalize_text spells it) in its kind's base unit.
_UNIT_SCALE: dict[str, tuple[str, float]] = {
    "kb": ("bytes", 1e-6),
    "mb": ("bytes", 1e-3),
    "gb": ("bytes", 1.0),
    "tb": ("bytes", 1e3),
    "hz": ("frequency", 1e-6),
    "mhz": ("frequency", 1.0),
    "ghz": ("frequency", 1e3),
    "mm": ("length", 1.0),
    "cm": ("length", 10.0),
    "m": ("length", 1e3),
    "in": ("length", 25.4),
    "ft": ("length", 304.8),
    "w": ("power", 1.0),
    "kw": ("power", 1e3),
    "g": ("mass", 1.0),
    "kg": ("mass", 1e3),
    "oz": ("mass", 28.35),
    "lb": ("mass", 453.6),
    "ml": ("volume", 1.0),
    "l": ("volume", 1e3),
    "mp": ("megapixels", 1.0),
    "v": ("volts", 1.0),
    "mah": ("charge", 1.0),
    "rpm": ("rpm", 1.0),
    "pk": ("pack", 1.0),
}
_QUANTITY_RE = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)("
    + "|".join(sorted(_UNIT_SCALE, key=len, reverse=True))
    + r")(?![\w])"
)
_TAG_RE = re.compile(r"(?:^|\s)\[([^\[\]]+)\]\s")
_YEAR_RE = re.compile(r"(?<!\d)(19[89]\d|20[0-4]\d)(?!\d)")
_WORD_RE = re.compile(r"[a-z0-9]+")
EDITION_WORDS = frozenset(
    {"pro", "plus", "max", "lite", "mini", "ultra", "deluxe", "premium", "standard", "basic",
     "home", "professional", "enterprise", "express", "xl", "air", "nano", "se"}
)  # fmt: skip
# Platform words and the platform each names.
PLATFORM_WORDS: dict[str, str] = {
    "mac": "mac",
    "macintosh": "mac",
    "osx": "mac",
    "win": "windows",
    "windows": "windows",
    "pc": "windows",
    "linux": "linux",
    "xbox": "xbox",
    "xbox360": "xbox",
    "ps2": "ps2",
    "ps3": "ps3",
    "ps4": "ps4",
    "psp": "psp",
    "wii": "wii",
    "ds": "ds",
    "ios": "ios",
    "iphone": "ios",
    "android": "android",
}
_RELATIVE_TOLERANCE = 0.02  # "15.6in" and "396mm" are one screen


@dataclass(frozen=True)
class Attributes:
    """One listing's attributes; empty where it does not say."""

    price: float | None
    currency: str | None
    brand: str | None
    quantities: dict[str, frozenset[float]]
    years: frozenset[str]
    editions: frozenset[str]
    platforms: frozenset[str]

    def to_json(self) -> str:
        """One line of JSON, for the pipelines that keep prepared listings on disk (streamed,
        Spark) and score them later without their columns."""
        return json.dumps(
            {
                "price": self.price,
                "currency": self.currency,
                "brand": self.brand,
                "quantities": {k: sorted(v) for k, v in sorted(self.quantities.items())},
                "years": sorted(self.years),
                "editions": sorted(self.editions),
                "platforms": sorted(self.platforms),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Attributes:
        data = json.loads(text)
        return cls(
            price=data["price"],
            currency=data["currency"],
            brand=data["brand"],
            quantities={k: frozenset(v) for k, v in data["quantities"].items()},
            years=frozenset(data["years"]),
            editions=frozenset(data["editions"]),
            platforms=frozenset(data["platforms"]),
        )


def listing_attributes(
    record: Mapping[str, str], columns: Sequence[str], rates: ExchangeRates | None = None
) -> Attributes:
    """The attributes of one catalog row, read from `columns` (the ones matching reads)."""
    title = normalize_text(str(record.get(title_column(columns), "") or ""))
    price = _price(record, columns, rates)
    brand_column = next((c for c in columns if c.lower() in _BRAND_COLUMNS), None)
    brand = brand_of(str(record.get(brand_column, "") or "") if brand_column else "", title)
    return Attributes(
        price=None if price is None else price.amount,
        currency=None if price is None else price.currency,
        brand=brand,
        quantities=quantities_of(title),
        years=years_of(title),
        editions=editions_of(title),
        platforms=platforms_of(title),
    )


def tagged_attributes(text: str) -> Attributes:
    """The attributes of a listing kept only as its tagged text (``[title] ... [price] ...``,
    as the registry keeps listings): each tag is read as its column. Prices there are plain
    numbers in the exchange-rate table's currency, or in their own without one."""
    parts = _TAG_RE.split(text)
    record = {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    return listing_attributes(record, list(record))


def title_column(columns: Sequence[str]) -> str:
    """The column naming the product: title or name by its name, else the first one."""
    found = next((c for c in columns if c.lower() in _TITLE_COLUMNS), None)
    return found if found is not None else (columns[0] if columns else "")


def _price(
    record: Mapping[str, str], columns: Sequence[str], rates: ExchangeRates | None
) -> Price | None:
    """The first price column's price, converted into the table's currency when it can be
    (the currency is then the table's, None)."""
    column = next((c for c in columns if "price" in c.lower()), None)
    price = parse_price(str(record.get(column, "") or "")) if column else None
    if price is None or rates is None or price.currency not in rates.rates:
        return price
    return Price(rates.convert(price.amount, price.currency), None)


def brand_of(brand: str, title: str) -> str | None:
    """The brand as one comparable word: the brand value's first word, else the title's
    ("Sony Corp." -> "sony"); None when both are empty."""
    for text in (normalize_text(brand), title):
        words: list[str] = _WORD_RE.findall(text)
        if words:
            return words[0]
    return None


def quantities_of(text: str) -> dict[str, frozenset[float]]:
    """Numbers with units in normalised text, by kind in the kind's base unit
    ("500gb 7200rpm" -> {"bytes": {500.0}, "rpm": {7200.0}})."""
    found: dict[str, set[float]] = {}
    for number, unit in _QUANTITY_RE.findall(text):
        kind, scale = _UNIT_SCALE[unit]
        found.setdefault(kind, set()).add(float(number) * scale)
    return {kind: frozenset(values) for kind, values in found.items()}


def years_of(text: str) -> frozenset[str]:
    """Years 1980-2049 standing alone ("office 2007" -> {"2007"})."""
    return frozenset(_YEAR_RE.findall(text))


def editions_of(text: str) -> frozenset[str]:
    """Edition words ("ipod nano" -> {"nano"}, "office professional" -> {"professional"})."""
    return frozenset(w for w in _WORD_RE.findall(text) if w in EDITION_WORDS)


def platforms_of(text: str) -> frozenset[str]:
    """Platforms named ("for mac" -> {"mac"}, "win xp" and "windows" -> {"windows"})."""
    return frozenset(PLATFORM_WORDS[w] for w in _WORD_RE.findall(text) if w in PLATFORM_WORDS)


def price_ratio(a: Attributes, b: Attributes) -> tuple[float, int]:
    """(lower price / higher price, 0) or, without two comparable prices, (0.5, 1): a price
    missing, or two different currencies the exchange-rate table did not join."""
    if a.price is None or b.price is None:
        return NEUTRAL_PRICE_RATIO, 1
    if a.currency is not None and b.currency is not None and a.currency != b.currency:
        return NEUTRAL_PRICE_RATIO, 1
    return min(a.price, b.price) / max(a.price, b.price), 0  # one naming none: read as is


def brand_agreement(a: str | None, b: str | None) -> int:
    """+1 for one brand, -1 for two, 0 when either is unknown."""
    if a is None or b is None:
        return 0
    return 1 if a == b else -1


def set_agreement(a: frozenset[str], b: frozenset[str], *, exact: bool = False) -> int:
    """+1 when the two sets share a value (`exact`: are equal), -1 when both say something
    and that fails, 0 when either says nothing. With `exact` an empty set against a
    non-empty one disagrees ("ipod" against "ipod nano" are two products); without it, it
    says nothing (a listing may leave out the platform)."""
    if exact:
        return 0 if not (a or b) else (1 if a == b else -1)
    if not (a and b):
        return 0
    return 1 if a & b else -1


def unit_agreement(a: dict[str, frozenset[float]], b: dict[str, frozenset[float]]) -> float:
    """(kinds whose values meet - kinds whose values do not) / kinds both give, in [-1, 1];
    0 when no kind is given by both. Values meet within 2%."""
    shared = a.keys() & b.keys()
    if not shared:
        return 0.0
    meet = sum(any(_close(x, y) for x in a[k] for y in b[k]) for k in shared)
    return (2 * meet - len(shared)) / len(shared)


def _close(x: float, y: float) -> bool:
    return abs(x - y) <= _RELATIVE_TOLERANCE * max(abs(x), abs(y))


def attribute_signals(
    left: Sequence[Attributes],
    right: Sequence[Attributes],
    li: npt.NDArray[np.int64],
    ri: npt.NDArray[np.int64],
) -> dict[str, npt.NDArray[np.float32]]:
    """Every column of :data:`ATTRIBUTE_COLUMNS` for (left position, right position) pairs."""
    out = {name: np.zeros(len(li), dtype=np.float32) for name in ATTRIBUTE_COLUMNS}
    for n, (i, j) in enumerate(zip(li.tolist(), ri.tolist(), strict=True)):
        a, b = left[i], right[j]
        out["price_ratio"][n], out["price_missing"][n] = price_ratio(a, b)
        out["brand_agreement"][n] = brand_agreement(a.brand, b.brand)
        out["unit_agreement"][n] = unit_agreement(a.quantities, b.quantities)
        out["year_agreement"][n] = set_agreement(a.years, b.years)
        out["edition_agreement"][n] = set_agreement(a.editions, b.editions, exact=True)
        out["platform_agreement"][n] = set_agreement(a.platforms, b.platforms)
    return out
