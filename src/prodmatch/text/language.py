"""Which language a listing is written in, told from its script and its letters.

Product titles are short and full of brands, codes and units, so a statistical language model
is easily fooled; the script decides the cases that matter for matching (Chinese against
English), and a few letters that only one language uses tell the Latin-script shops apart
(Czech ř, Polish ł, German ß). It is recorded beside each match so that a reviewer sees which
pairs crossed languages; the normalisation rules key on script, not on this label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# "auto" detects per listing; any other value is taken as every listing's language.
AUTO = "auto"
UNKNOWN = "und"  # ISO 639's "undetermined": no letters at all

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile("[\u3040-\u30ff]")
_HANGUL = re.compile("[\uac00-\ud7af]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_GREEK = re.compile("[\u0370-\u03ff]")
_LATIN = re.compile("[a-z\u00c0-\u024f]", re.IGNORECASE)
# Letters only one of the Latin-script languages in question uses, checked in this order.
_LATIN_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cs", re.compile("[řěůťď]", re.IGNORECASE)),
    ("pl", re.compile("[łąęśźżń]", re.IGNORECASE)),
    ("de", re.compile("[äöüß]", re.IGNORECASE)),
    ("fr", re.compile("[àâçèêëîïôœùû]", re.IGNORECASE)),
    ("es", re.compile("[ñ¿¡]", re.IGNORECASE)),
)


def detect_language(text: str) -> str:
    """An ISO 639-1 code for `text`: zh, ja, ko, ru, el, cs, pl, de, fr, es, else en for Latin
    script, or "und" for text with no letters.

    Two Han characters make a listing Chinese even beside a Latin brand and model number
    ("索尼WH-1000XM4耳机"): Chinese shops write brands in Latin, English ones never write Han.
    """
    if _KANA.search(text):
        return "ja"
    if _HANGUL.search(text):
        return "ko"
    if len(_HAN.findall(text)) >= 2:
        return "zh"
    if _CYRILLIC.search(text):
        return "ru"
    if _GREEK.search(text):
        return "el"
    if not _LATIN.search(text):
        return "zh" if _HAN.search(text) else UNKNOWN
    for code, marker in _LATIN_MARKERS:
        if marker.search(text):
            return code
    return "en"


def listing_languages(texts: Iterable[str], language: str = AUTO) -> list[str]:
    """Each listing's language: detected when `language` is "auto", else `language` itself."""
    if language == AUTO:
        return [detect_language(text) for text in texts]
    return [language for _ in texts]
