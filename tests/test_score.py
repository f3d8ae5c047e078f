"""Model-number signals: exact agreement, and codes that differ only by a letter tail."""

from __future__ import annotations

import numpy as np

from prodmatch.score import code_signals
from prodmatch.text import extract_model_numbers

LEFT = [
    "Canon CLI-221GRY gray ink",
    "Sony DSC-W120",
    "Panasonic NN-SD767S",
    "Bose speaker",
    "A1234",
]
RIGHT = ["canon cli221 ink", "sony dscw120 camera", "panasonic nnsd797s", "SD990", "a1234 / a1234b"]


def _signals(left: list[str], right: list[str]) -> dict[str, list[int]]:
    codes_l = [frozenset(extract_model_numbers(t)) for t in left]
    codes_r = [frozenset(extract_model_numbers(t)) for t in right]
    li = np.arange(len(left), dtype=np.int64)
    found = code_signals(codes_l, codes_r, li, li)
    return {name: values.tolist() for name, values in found.items()}


def test_codes_agree_disagree_or_say_nothing() -> None:
    assert _signals(LEFT, RIGHT)["code_agreement"] == [-1, 1, -1, 0, 1]


def test_a_letter_tail_is_a_variant_but_a_digit_tail_or_a_shared_code_is_not() -> None:
    # cli221gry / cli221: variant; nnsd767s / nnsd797s: other model; a1234: already shared
    assert _signals(LEFT, RIGHT)["code_variant"] == [1, 0, 0, 0, 0]
    assert _signals(["sd990"], ["sd9905"])["code_variant"] == [0]
    assert _signals(["sd990isb"], ["sd990"])["code_variant"] == [1]
