from __future__ import annotations

import pandas as pd

from prodmatch.decide import assign

PAIRS = pd.DataFrame(
    {
        "left": [0, 0, 1, 1, 2],
        "right": [0, 1, 0, 1, 2],
        "score": [0.9, 0.8, 0.85, 0.7, 0.4],
    }
)


def test_all_keeps_every_pair_above_threshold() -> None:
    assert assign(PAIRS, 0.75, "all").tolist() == [True, True, True, False, False]


def test_best_keeps_each_left_listings_top_pair() -> None:
    assert assign(PAIRS, 0.5, "best").tolist() == [True, False, True, False, False]


def test_one_to_one_uses_each_listing_once_best_first() -> None:
    # (0,0) 0.9 wins; (1,0) is blocked by right 0, so left 1 takes (1,1).
    assert assign(PAIRS, 0.5, "one-to-one").tolist() == [True, False, False, True, False]


def test_threshold_applies_before_assignment() -> None:
    assert not assign(PAIRS, 0.95, "one-to-one").any()
