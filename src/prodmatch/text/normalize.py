"""Normalisation that makes two platforms' spellings of the same fact identical.

Listings of one product differ in case, Unicode forms, spacing and how units are written
("500 GB", "500gb", "500-GB"); these differences say nothing about the product, so they are
removed before any model or lexical scorer sees the text. Model numbers ("WH-1000XM4",
"PSLX350H") are the strongest matching signal in electronics, so nothing here splits them.
"""

from __future__ import annotations

import re
import unicodedata

from prodmatch.text.cjk import normalize_cjk
from prodmatch.text.price import normalize_price

__all__ = ["extract_model_numbers", "normalize_price", "normalize_text"]

# Canonical unit spellings; keys are the lower-cased forms seen in listings.
_UNITS: dict[str, str] = {
    "gb": "gb",
    "gig": "gb",
    "gigabyte": "gb",
    "gigabytes": "gb",
    "tb": "tb",
    "terabyte": "tb",
    "terabytes": "tb",
    "mb": "mb",
    "megabyte": "mb",
    "megabytes": "mb",
    "kb": "kb",
    "ghz": "ghz",
    "mhz": "mhz",
    "hz": "hz",
    "mp": "mp",
    "megapixel": "mp",
    "megapixels": "mp",
    "mm": "mm",
    "cm": "cm",
    "m": "m",
    "in": "in",
    "inch": "in",
    "inches": "in",
    '"': "in",
    "''": "in",
    "ft": "ft",
    "feet": "ft",
    "foot": "ft",
    "w": "w",
    "watt": "w",
    "watts": "w",
    "kw": "kw",
    "v": "v",
    "volt": "v",
    "volts": "v",
    "mah": "mah",
    "oz": "oz",
    "ounce": "oz",
    "ounces": "oz",
    "lb": "lb",
    "lbs": "lb",
    "pound": "lb",
    "pounds": "lb",
    "kg": "kg",
    "g": "g",
    "gram": "g",
    "grams": "g",
    "ml": "ml",
    "l": "l",
    "liter": "l",
    "litre": "l",
    "liters": "l",
    "litres": "l",
    "rpm": "rpm",
    "db": "db",
    "ms": "ms",
    "pk": "pk",
    "pack": "pk",
}
_UNIT_ALTERNATION = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
# A number, optional space or hyphen, a unit, then a word boundary (or the inch mark).
_UNIT_RE = re.compile(rf"(?<![\w.])(\d+(?:[.,]\d+)?)\s?-?\s?({_UNIT_ALTERNATION})(?=$|[^\w])")
_SPACE_RE = re.compile(r"\s+")
# A model number: a token of letters and digits (with inner - / .) holding both kinds.
_MODEL_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[-/.][a-z0-9]+)*")
_HAS_DIGIT = re.compile(r"\d")
_HAS_ALPHA = re.compile(r"[a-z]")


def normalize_text(text: str) -> str:
    """NFKC, lower case, one canonical spelling per unit, single spaces.

    NFKC folds full-width characters (common in Chinese listings) and ligatures into their plain
    forms, so full-width "500GB" and ASCII "500GB" become the same token. Chinese text is
    folded to Simplified and its units rewritten in the Latin spellings (`text.cjk`).
    """
    text = normalize_cjk(unicodedata.normalize("NFKC", text).lower())
    text = text.replace("\u201d", '"').replace("\u2033", '"')
    text = _UNIT_RE.sub(_join_unit, text)
    return _SPACE_RE.sub(" ", text).strip()


def _join_unit(match: re.Match[str]) -> str:
    number = match.group(1).replace(",", ".")
    return f"{number}{_UNITS[match.group(2)]}"


def extract_model_numbers(text: str) -> set[str]:
    """Model-number-like codes in a text, compacted ("WH-1000XM4" -> "wh1000xm4").

    A code mixes letters and digits and has at least four characters; units ("500gb") and
    plain years or quantities are not codes. Compacting removes the punctuation platforms
    disagree on, so "SM-G991B" and "smg991b" compare equal.
    """
    codes: set[str] = set()
    for token in _MODEL_TOKEN_RE.findall(normalize_text(text)):
        # A regional or packaging suffix after "/" ("MB598LL/A") is often dropped by the
        # other platform, so the part before it counts as a code of its own.
        for variant in {token, token.split("/")[0]}:
            compact = re.sub(r"[-/.]", "", variant)
            if _is_code(compact):
                codes.add(compact)
    return codes


def _is_code(compact: str) -> bool:
    if len(compact) < 4 or not _HAS_DIGIT.search(compact) or not _HAS_ALPHA.search(compact):
        return False
    return not _is_quantity(compact)


def _is_quantity(token: str) -> bool:
    """True for a number with a unit ("500gb", "15.6in"), which is an attribute, not a code."""
    match = re.fullmatch(r"\d+(?:\.\d+)?([a-z]+)", token)
    return match is not None and match.group(1) in _UNITS.values()
