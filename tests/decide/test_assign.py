from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

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


# -- one-to-one against the optimum on random small cases with ties ---------------------------


def _random_pairs(seed: int) -> pd.DataFrame:
    """Up to 7 x 7 listings, about half the pairs present, scores from five values (ties),
    rows shuffled and indexed by unrelated labels, as candidates come out of retrieval."""
    rng = np.random.default_rng(seed)
    n_left, n_right = rng.integers(1, 8, size=2)
    grid = [(a, b) for a in range(n_left) for b in range(n_right) if rng.random() < 0.5]
    if not grid:
        grid = [(0, 0)]
    order = rng.permutation(len(grid))
    return pd.DataFrame(
        {
            "left": [f"L{grid[i][0]}" for i in order],
            "right": [f"R{grid[i][1]}" for i in order],
            "score": rng.choice([0.2, 0.4, 0.6, 0.6, 0.8, 0.8], size=len(grid)),
        },
        index=pd.Index(rng.permutation(1000)[: len(grid)] + 5000),
    )


def _optimum(pairs: pd.DataFrame, threshold: float) -> float:
    """Largest total score of any one-to-one set of pairs scoring at least `threshold`."""
    above = pairs[pairs["score"] >= threshold]
    if above.empty:
        return 0.0
    lefts = {v: i for i, v in enumerate(dict.fromkeys(above["left"]))}
    rights = {v: i for i, v in enumerate(dict.fromkeys(above["right"]))}
    weight = np.zeros((len(lefts), len(rights)))
    for left, right, score in zip(above["left"], above["right"], above["score"], strict=True):
        weight[lefts[left], rights[right]] = score
    rows, cols = linear_sum_assignment(weight, maximize=True)
    return float(weight[rows, cols].sum())


def _reference_greedy(pairs: pd.DataFrame, threshold: float) -> set[object]:
    """Greedy written out plainly: highest score first, ties in input order."""
    order = sorted(range(len(pairs)), key=lambda i: (-pairs["score"].iloc[i], i))
    used: set[str] = set()
    chosen: set[object] = set()
    for i in order:
        left, right, score = pairs.iloc[i][["left", "right", "score"]]
        if score >= threshold and left not in used and right not in used:
            used.update((left, right))
            chosen.add(pairs.index[i])
    return chosen


@pytest.mark.parametrize("seed", range(60))
def test_one_to_one_is_a_maximal_matching_within_half_the_optimum(seed: int) -> None:
    pairs = _random_pairs(seed)
    threshold = 0.4 if seed % 3 else 0.0
    decision = assign(pairs, threshold, "one-to-one")
    assert decision.index.equals(pairs.index) and decision.dtype == bool
    chosen = pairs[decision]
    # each listing at most once, every accepted pair above the threshold
    assert chosen["left"].is_unique and chosen["right"].is_unique
    assert (chosen["score"] >= threshold).all()
    # maximal: no pair above the threshold is left out while both its listings are free
    free = pairs[
        ~decision
        & (pairs["score"] >= threshold)
        & ~pairs["left"].isin(chosen["left"])
        & ~pairs["right"].isin(chosen["right"])
    ]
    assert free.empty, free
    # greedy is a 1/2-approximation of the best total score
    assert chosen["score"].sum() >= 0.5 * _optimum(pairs, threshold) - 1e-9
    # ties go to the earlier row, so the same input always gives the same decisions
    assert set(chosen.index) == _reference_greedy(pairs, threshold)
    assert assign(pairs, threshold, "one-to-one").equals(decision)


def test_one_to_one_tie_goes_to_the_earlier_row() -> None:
    pairs = pd.DataFrame(
        {"left": ["a", "b", "a"], "right": ["x", "x", "y"], "score": [0.5, 0.5, 0.5]},
        index=[30, 20, 10],
    )
    # a-x comes first, blocks b-x and a-y; reversing the rows makes b-x and a-y win instead
    assert assign(pairs, 0.1).tolist() == [True, False, False]
    assert assign(pairs.iloc[::-1], 0.1).tolist() == [True, True, False]


def test_greedy_can_be_half_the_optimum_and_no_worse() -> None:
    # the classic bad case: taking the best pair blocks two almost as good ones
    pairs = pd.DataFrame(
        {"left": ["a", "a", "b"], "right": ["x", "y", "x"], "score": [1.0, 0.99, 0.99]}
    )
    decision = assign(pairs, 0.0)
    assert decision.tolist() == [True, False, False]
    assert pairs["score"][decision].sum() == pytest.approx(_optimum(pairs, 0.0) / 1.98)
