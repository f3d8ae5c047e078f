"""Turning a catalog row into the text the encoders and lexical scorers read."""

from prodmatch.text.normalize import extract_model_numbers, normalize_price, normalize_text
from prodmatch.text.serialize import serialize_record, serialize_records

__all__ = [
    "extract_model_numbers",
    "normalize_price",
    "normalize_text",
    "serialize_record",
    "serialize_records",
]
