from __future__ import annotations

import numpy as np
import pytest

from prodmatch.decide.hac import agglomerative_clusters


def test_a_chain_of_look_alike_products_does_not_become_one_cluster() -> None:
    # A~B, B~C, C~D are high; A-C, A-D, B-D are low: four distinct products in a chain.
    left, right = [0, 1, 2, 0, 0, 1], [1, 2, 3, 2, 3, 3]
    sim = [0.8, 0.8, 0.8, 0.1, 0.05, 0.1]
    result = agglomerative_clusters(4, left, right, sim, threshold=0.6)
    assert len(set(result.labels.tolist())) >= 2
    # the same edges as connected components above 0.6 would be one cluster of four
    assert np.bincount(result.labels).max() <= 2


def test_pairs_missing_from_the_candidates_count_as_unlike() -> None:
    # only the chain's edges are known: A-C, A-D, B-D were never proposed
    result = agglomerative_clusters(4, [0, 1, 2], [1, 2, 3], [0.9, 0.7, 0.9], threshold=0.5)
    assert result.labels.tolist() == [0, 0, 1, 1]


def test_components_are_clustered_apart_and_singletons_stay_alone() -> None:
    left, right = [0, 0, 1, 3, 5], [1, 2, 2, 4, 6]
    sim = [0.9, 0.8, 0.85, 0.95, 0.2]
    result = agglomerative_clusters(7, left, right, sim, threshold=0.5)
    assert result.labels.tolist() == [0, 0, 0, 1, 1, 2, 3]
    assert np.isnan(result.confidence[[5, 6]]).all()
    assert result.representative[[5, 6]].tolist() == [5, 6]


def test_representative_and_confidence_on_a_hand_case() -> None:
    # cluster {0, 1, 2}: 0-1 0.9, 0-2 0.8, 1-2 0.6 -> mean similarity 0.85, 0.75, 0.70
    result = agglomerative_clusters(3, [0, 0, 1], [1, 2, 2], [0.9, 0.8, 0.6], threshold=0.5)
    assert result.labels.tolist() == [0, 0, 0]
    assert result.confidence == pytest.approx([0.85, 0.75, 0.70])
    assert result.representative.tolist() == [0, 0, 0]


def test_negative_scores_pull_the_average_down() -> None:
    # 0-1 and 1-2 alike, 0-2 known to conflict (a hybrid score below zero)
    result = agglomerative_clusters(3, [0, 1, 0], [1, 2, 2], [0.7, 0.7, -0.2], threshold=0.45)
    assert len(set(result.labels.tolist())) == 2


def test_oversized_clusters_are_cut_with_a_warning() -> None:
    n = 12
    left, right = np.triu_indices(n, 1)
    sim = 0.7 + 0.2 * (left // 4 == right // 4)  # three tight groups of four, all alike
    with pytest.warns(UserWarning, match="grew past 5"):
        result = agglomerative_clusters(n, left, right, sim, threshold=0.6, max_cluster_size=5)
    assert np.bincount(result.labels).tolist() == [4, 4, 4]
    assert result.split == 1


def test_pairs_given_both_ways_keep_the_highest_score() -> None:
    result = agglomerative_clusters(2, [0, 1], [1, 0], [0.9, 0.1], threshold=0.5)
    assert result.labels.tolist() == [0, 0]
    assert result.confidence == pytest.approx([0.9, 0.9])


def test_huge_components_are_split_by_a_higher_floor() -> None:
    n = 30
    left, right = np.arange(n - 1), np.arange(1, n)
    sim = np.where(np.arange(n - 1) % 3 == 2, 0.55, 0.95)  # a chain of triples
    result = agglomerative_clusters(n, left, right, sim, threshold=0.5, max_component=10)
    assert np.bincount(result.labels).max() <= 10


def test_no_pairs_leaves_every_item_alone() -> None:
    result = agglomerative_clusters(3, [], [], [], threshold=0.5)
    assert result.labels.tolist() == [0, 1, 2]
    assert result.representative.tolist() == [0, 1, 2]
