from __future__ import annotations

import pytest

from prodmatch.text import extract_model_numbers, normalize_text
from prodmatch.text.cjk import fold_traditional, has_cjk


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("500克", "500g"),
        ("1.5千克", "1.5kg"),
        ("2公斤", "2kg"),
        ("250毫升", "250ml"),
        ("1.5升", "1.5l"),
        ("15.6英寸笔记本", "15.6in 笔记本"),
        ("55寸电视", "55in 电视"),
        ("6个装纸巾", "6pk 纸巾"),
        ("2件", "2pk"),
        ("3包", "3pk"),
        ("三包装", "3pk"),
        ("两件装", "2pk"),
    ],
)
def test_chinese_units_and_counters_become_the_latin_spelling(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("chinese", "english"),
    [
        ("500克", "500 g"),
        ("250毫升", "250 ml"),
        ("15.6英寸", '15.6"'),
        ("6个装", "6 pack"),
        ("1升", "1 liter"),
    ],
)
def test_chinese_and_english_units_normalise_to_one_token(chinese: str, english: str) -> None:
    assert normalize_text(chinese) == normalize_text(english)


def test_unit_characters_inside_words_are_left_alone() -> None:
    assert normalize_text("零件") == "零件"  # "spare parts", not zero items
    assert normalize_text("巧克力") == "巧克力"  # 克 without a number is no gram
    assert normalize_text("小米") == "小米"  # Xiaomi: 米 without a number is no metre


def test_full_width_forms_and_chinese_brackets_fold() -> None:
    full_width = "【京东】\uff37\uff28\uff0d\uff11\uff10\uff10\uff10\uff38\uff2d\uff14\u3000黑色"
    assert normalize_text(full_width) == "京东 wh-1000xm4 黑色"


def test_latin_runs_are_spaced_from_chinese_runs() -> None:
    assert normalize_text("索尼WH-1000XM4耳机") == "索尼 wh-1000xm4 耳机"
    assert normalize_text("500GB硬盘") == "500gb 硬盘"


def test_model_numbers_are_found_in_unspaced_chinese_text() -> None:
    assert extract_model_numbers("索尼WH-1000XM4耳机") == {"wh1000xm4"}
    assert extract_model_numbers("佳能EOS R6相机 24-105mm") == set()  # no code with 4+ chars
    assert extract_model_numbers("三星SM-G991B手机128GB") == {"smg991b"}


def test_traditional_folds_to_simplified() -> None:
    pytest.importorskip("opencc")
    assert fold_traditional("藍牙耳機") == "蓝牙耳机"
    assert normalize_text("蘋果 iPhone 13 藍色") == normalize_text("苹果 iPhone 13 蓝色")


def test_latin_text_is_untouched_by_the_chinese_rules() -> None:
    assert not has_cjk("sony wh-1000xm4 500gb")
    assert has_cjk("索尼")
