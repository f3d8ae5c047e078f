"""Which words of two attribute values differ, for highlighting on the page and in reports.

A word differs when its normalised form (lower case, no surrounding punctuation) is absent
from the other value. Words with a digit (numbers, model codes, sizes with units such as
"55in" or "500gb", editions such as "2nd") are marked ``num``: a reviewer should look at
those first, since one changed digit is another product.
"""

from __future__ import annotations

import re
from typing import Any

_EDGE = re.compile(r"^[^\w]+|[^\w]+$")


def _norm(word: str) -> str:
    return _EDGE.sub("", word.lower())


def _words(value: str) -> list[str]:
    return [w for w in str(value or "").split() if w]


def mark_words(value: str, other: str) -> list[dict[str, Any]]:
    """The words of `value`, each with `diff` (absent from `other`) and `kind`."""
    theirs = {_norm(w) for w in _words(other)}
    out = []
    for word in _words(value):
        key = _norm(word)
        kind = "num" if any(c.isdigit() for c in key) else "word"
        out.append({"text": word, "diff": bool(key) and key not in theirs, "kind": kind})
    return out


def attribute_rows(left: dict[str, str], right: dict[str, str]) -> list[dict[str, Any]]:
    """One row per attribute of either listing: both values, word by word, marked."""
    columns = list(dict.fromkeys([*left, *right]))
    return [
        {
            "attribute": column,
            "left": mark_words(left.get(column, ""), right.get(column, "")),
            "right": mark_words(right.get(column, ""), left.get(column, "")),
            "same": _norm(left.get(column, "")) == _norm(right.get(column, "")),
        }
        for column in columns
    ]
