from __future__ import annotations

from prodmatch.decide import connected_components


def test_components_join_chains_and_keep_singletons() -> None:
    labels = connected_components(6, [0, 1, 4], [1, 2, 5])
    assert labels.tolist() == [0, 0, 0, 1, 2, 2]


def test_no_edges_gives_one_cluster_each() -> None:
    assert connected_components(3, [], []).tolist() == [0, 1, 2]
