from __future__ import annotations

import pytest

from prodmatch.text import detect_language, listing_languages


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("索尼WH-1000XM4无线降噪耳机", "zh"),
        ("藍牙耳機", "zh"),
        ("Sony WH-1000XM4 wireless headphones", "en"),
        ("Sluchátka Sony WH-1000XM4, černá, přenosná", "cs"),
        ("Słuchawki bezprzewodowe Sony, czarne", "pl"),
        ("Kabellose Kopfhörer für Sony", "de"),
        ("ソニー ヘッドホン", "ja"),
        ("Беспроводные наушники Sony", "ru"),
        ("12345 - 678", "und"),
    ],
)
def test_detect_language(text: str, code: str) -> None:
    assert detect_language(text) == code


def test_a_stated_language_applies_to_every_listing() -> None:
    assert listing_languages(["索尼耳机", "Sony"], "auto") == ["zh", "en"]
    assert listing_languages(["索尼耳机", "Sony"], "zh") == ["zh", "zh"]
