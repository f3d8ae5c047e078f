"""Serialising a listing into one string, each value behind its attribute name.

Writing ``[title] ... [brand] ... [price] ...`` (as Ditto does) lets the encoder tell a brand
from a product line and keeps the field structure that a bag of words would lose. Empty values
are left out rather than written as blanks, because a missing field is not evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from prodmatch.text.normalize import normalize_text
from prodmatch.text.price import ExchangeRates, normalize_price

# Long descriptions add little beyond their first words and cost encoder time.
MAX_WORDS_PER_VALUE = 64


def serialize_record(
    record: Mapping[str, str],
    columns: Sequence[str] | None = None,
    *,
    tags: bool = True,
    rates: ExchangeRates | None = None,
) -> str:
    """One listing as normalised text, ``[column] value`` per non-empty column; prices in the
    common currency of `rates` when given."""
    parts: list[str] = []
    for column in columns if columns is not None else list(record):
        value = _clean_value(column, str(record.get(column, "") or ""), rates)
        if not value:
            continue
        parts.append(f"[{column.lower()}] {value}" if tags else value)
    return " ".join(parts)


def serialize_records(
    records: Iterable[Mapping[str, str]],
    columns: Sequence[str],
    *,
    tags: bool = True,
    rates: ExchangeRates | None = None,
) -> list[str]:
    """`serialize_record` over many listings, in order."""
    return [serialize_record(r, columns, tags=tags, rates=rates) for r in records]


def _clean_value(column: str, value: str, rates: ExchangeRates | None = None) -> str:
    if "price" in column.lower():
        return normalize_price(value, rates)
    words = normalize_text(value).split(" ")
    return " ".join(words[:MAX_WORDS_PER_VALUE])
