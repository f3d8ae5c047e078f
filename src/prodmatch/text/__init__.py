"""Turning a catalog row into the text the encoders and lexical scorers read."""

from prodmatch.text.language import detect_language, listing_languages
from prodmatch.text.normalize import extract_model_numbers, normalize_text
from prodmatch.text.price import ExchangeRates, load_rates, normalize_price, parse_price
from prodmatch.text.serialize import serialize_record, serialize_records

__all__ = [
    "ExchangeRates",
    "detect_language",
    "extract_model_numbers",
    "listing_languages",
    "load_rates",
    "normalize_price",
    "normalize_text",
    "parse_price",
    "serialize_record",
    "serialize_records",
]
