import numpy as np

from prodmatch.decide.hubness import hubness_corrected, neighbourhood_scores


def test_neighbourhood_scores_average_each_listings_best_pairs() -> None:
    left, right = [0, 0, 0, 1], [1, 2, 3, 2]
    score = [0.9, 0.5, 0.1, 0.7]
    r = neighbourhood_scores(5, left, right, score, k=2)
    # listing 0: best two of 0.9, 0.5, 0.1; listing 1: 0.9, 0.7; 2: 0.7, 0.5; 3: 0.1 alone
    assert np.allclose(r[:4], [0.7, 0.8, 0.6, 0.1])
    assert r[4] == np.median(r[:4])  # in no pair: the median of the others


def test_a_twin_pair_outranks_a_family_of_look_alike_siblings() -> None:
    # listings 0-3: one shop's siblings, all alike (0.80); 4-5: true twins (0.75), nothing else
    family = [(a, b) for a in range(4) for b in range(a + 1, 4)]
    left = [a for a, _ in family] + [4] + [0, 1]
    right = [b for _, b in family] + [5] + [4, 5]
    score = [0.80] * len(family) + [0.75] + [0.30, 0.30]
    corrected = hubness_corrected(6, left, right, score, k=3, weight=0.5)
    twins = corrected[len(family)]
    assert np.asarray(score)[: len(family)].max() > score[len(family)]  # before: siblings first
    assert twins > corrected[: len(family)].max()  # after: the twins first


def test_no_weight_leaves_scores_alone() -> None:
    score = np.array([0.2, 0.9, 0.4])
    assert np.array_equal(hubness_corrected(4, [0, 1, 2], [1, 2, 3], score, weight=0.0), score)
