from __future__ import annotations

import pytest

from prodmatch.decide import best_threshold


def test_separable_scores_give_f1_one_and_a_threshold_between_the_classes() -> None:
    threshold, f1 = best_threshold([0.9, 0.8, 0.3, 0.2], [1, 1, 0, 0])
    assert f1 == 1.0
    assert threshold == pytest.approx(0.55)


def test_hand_computed_best_cut() -> None:
    # Sorted: 0.9(1) 0.7(0) 0.6(1) 0.1(0). Cut after 0.9: P=1, R=.5, F1=.667;
    # after 0.6: P=2/3, R=1, F1=.8 -> best; after 0.1: P=.5, R=1, F1=.667.
    threshold, f1 = best_threshold([0.9, 0.7, 0.6, 0.1], [1, 0, 1, 0])
    assert f1 == pytest.approx(0.8)
    assert threshold == pytest.approx(0.35)


def test_ties_are_never_split() -> None:
    threshold, f1 = best_threshold([0.5, 0.5, 0.5, 0.1], [1, 0, 0, 0])
    assert threshold < 0.5
    assert f1 == pytest.approx(0.5)


def test_missed_positives_lower_the_f1() -> None:
    _, f1 = best_threshold([0.9, 0.1], [1, 0], positives=2)
    assert f1 == pytest.approx(2 / 3)


def test_no_positives() -> None:
    assert best_threshold([0.3, 0.2], [0, 0])[1] == 0.0
