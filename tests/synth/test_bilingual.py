from __future__ import annotations

import pytest

from prodmatch.errors import ProdmatchError
from prodmatch.synth.bilingual import (
    BILINGUAL_RATES,
    generate_bilingual,
    parse_languages,
)
from prodmatch.text import ExchangeRates, detect_language, normalize_price, parse_price


@pytest.mark.parametrize("languages", [("zh", "en"), ("en", "zh")])
def test_the_chinese_shop_is_on_the_side_asked_for(languages: tuple[str, str]) -> None:
    s = generate_bilingual(200, seed=2, languages=languages)
    for frame, language in ((s.left, languages[0]), (s.right, languages[1])):
        detected = [detect_language(t) for t in frame["title"]]
        assert detected.count(language) > 0.6 * len(detected)
    assert set(s.gold["left_id"]) <= set(s.left["id"])  # gold follows the swap
    assert set(s.gold["right_id"]) <= set(s.right["id"])


def test_yuan_prices_convert_back_near_the_dollar_price() -> None:
    s = generate_bilingual(200, seed=2, languages=("zh", "en"))
    left = s.left.set_index("id")["price"]
    right = s.right.set_index("id")["price"]
    rates = ExchangeRates(BILINGUAL_RATES)
    close = 0
    pairs = [(left[a], right[b]) for a, b in s.gold.itertuples(index=False) if left[a] and right[b]]
    for yuan, dollars in pairs:
        price = parse_price(yuan)
        assert price is not None and price.currency == "CNY"
        converted = float(normalize_price(yuan, rates))
        close += abs(converted / float(dollars) - 1.0) < 0.06  # platform B's few-percent jitter
    assert close == len(pairs) > 50


def test_english_pair_is_the_ordinary_generator() -> None:
    s = generate_bilingual(100, seed=1, languages=("en", "en"))
    assert all(detect_language(t) == "en" for t in s.right["title"])


@pytest.mark.parametrize("bad", ["zh", "zh,zh", "de,en", "en,zh,en"])
def test_bad_language_pairs_are_one_line(bad: str) -> None:
    with pytest.raises(ProdmatchError, match="--languages"):
        parse_languages(bad)
