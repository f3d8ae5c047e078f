"""Chinese listings written in the forms the Latin-script rules already understand.

A Taobao title says "500克", "15.6英寸", "6个装" where an Amazon title says "500 g", "15.6 inch",
"6 pack"; once each is rewritten to the same canonical unit ("500g", "15.6in", "6pk") the
number-with-unit tokens agree across languages, and they are among the few tokens that cross
scripts at all. Chinese runs carry no spaces, so a Latin run inside one ("索尼WH-1000XM4耳机")
is set apart by spaces: the model number then stands as a word of its own for every rule that
reads words. Traditional characters are folded to Simplified (OpenCC, the `multilingual`
extra), so a Hong Kong or Taiwan shop's "藍牙耳機" and a mainland "蓝牙耳机" are one string.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache

_LOG = logging.getLogger(__name__)

# Chinese units and counters, each to the canonical spelling `normalize._UNITS` gives its Latin
# twin. Counters (个, 件, 包, with an optional 装 "packed") say how many come in the pack.
CJK_UNITS: dict[str, str] = {
    "千克": "kg",
    "公斤": "kg",
    "克": "g",
    "毫升": "ml",
    "升": "l",
    "英寸": "in",
    "寸": "in",
    "毫米": "mm",
    "厘米": "cm",
    "米": "m",
    "毫安时": "mah",
    "毫安": "mah",
    "瓦": "w",
    "伏": "v",
    "赫兹": "hz",
    "个装": "pk",
    "件装": "pk",
    "包装": "pk",
    "个": "pk",
    "件": "pk",
    "包": "pk",
}
# Chinese numerals before a unit or counter ("三包", "两件装"); larger ones are written in digits.
# 零 is left out: "零件" is "spare parts", not "zero items".
_NUMERALS = {c: str(i) for i, c in enumerate("零一二三四五六七八九十")} | {"两": "2"}
del _NUMERALS["零"]
_UNIT_ALTERNATION = "|".join(sorted(CJK_UNITS, key=len, reverse=True))
_CJK_UNIT_RE = re.compile(
    rf"(\d+(?:\.\d+)?|[{''.join(_NUMERALS)}])\s?({_UNIT_ALTERNATION})(?![a-z])"
)
# Han ideographs (with extension A and the compatibility block) and the kana/hangul scripts
# that, like Han, write words without spaces.
CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK_RE = re.compile(f"[{CJK_CHARS}]")
# A boundary between a CJK character and a Latin letter or digit, either way round.
_SCRIPT_BOUNDARY_RE = re.compile(f"(?<=[{CJK_CHARS}])(?=[a-z0-9])|(?<=[a-z0-9.])(?=[{CJK_CHARS}])")
# Brackets and marks that NFKC leaves alone; in titles they only fence off words.
_CJK_PUNCTUATION = str.maketrans({c: " " for c in "【】「」『』《》〈〉\u3014\u3015、。・〜\uff5e"})


def has_cjk(text: str) -> bool:
    """True when `text` holds any Chinese, Japanese or Korean character."""
    return _CJK_RE.search(text) is not None


def normalize_cjk(text: str) -> str:
    """`text` (already NFKC and lower case) with Traditional folded to Simplified, Chinese
    units and counters in their Latin spellings and spaces between scripts.

    Text with no CJK character comes back unchanged, so Latin-only catalogs pay one regex.
    """
    if not has_cjk(text):
        return text
    text = fold_traditional(text).translate(_CJK_PUNCTUATION)
    text = _CJK_UNIT_RE.sub(_cjk_unit, text)
    return _SCRIPT_BOUNDARY_RE.sub(" ", text)


def _cjk_unit(match: re.Match[str]) -> str:
    number = _NUMERALS.get(match.group(1), match.group(1))
    return f" {number}{CJK_UNITS[match.group(2)]} "


def fold_traditional(text: str) -> str:
    """Traditional characters as Simplified ones, when OpenCC is installed.

    Without it the text is returned as it is (and one warning says so): matching still works
    within one script, and across scripts the encoder does most of the work anyway.
    """
    convert = _opencc()
    return convert(text) if convert is not None else text


@lru_cache(maxsize=1)
def _opencc() -> Callable[[str], str] | None:
    """OpenCC's Traditional-to-Simplified converter: either the C library's Python binding
    (`opencc`) or `opencc-python-reimplemented`; both import as `opencc`."""
    try:
        import opencc
    except ImportError:
        _LOG.warning(
            "Traditional Chinese is not folded to Simplified: install prodmatch[multilingual] "
            "(opencc-python-reimplemented)"
        )
        return None
    for config in ("t2s", "t2s.json"):
        try:
            converter = opencc.OpenCC(config)
            converter.convert("測試")
        except Exception:
            continue
        return converter.convert  # type: ignore[no-any-return]
    _LOG.warning("OpenCC is installed but has no t2s conversion; Traditional is not folded")
    return None
