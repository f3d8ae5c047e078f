"""Clusters from training positives only, and batches that keep every cluster whole."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from prodmatch.errors import ProdmatchError
from prodmatch.train.clusters import ClusterBatchSampler, build_clusters, listing_key


def pairs(*rows: tuple[str, str, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["left_id", "right_id", "label"])


def test_positives_join_transitively_and_every_listing_gets_a_label() -> None:
    train = pairs(("a1", "b1", 1), ("a2", "b1", 1), ("a2", "b2", 1), ("a3", "b3", 0))
    clusters = build_clusters(train)
    assert clusters.keys == ["L:a1", "L:a2", "L:a3", "R:b1", "R:b2", "R:b3"]
    same = {clusters.label("left", "a1"), clusters.label("left", "a2")}
    same |= {clusters.label("right", "b1"), clusters.label("right", "b2")}
    assert len(same) == 1
    # a3 and b3 appear only in a negative pair: each is its own singleton
    singles = [clusters.label("left", "a3"), clusters.label("right", "b3")]
    assert len(set(singles)) == 2 and same.isdisjoint(singles)
    assert clusters.n_clusters == 3


def test_left_and_right_ids_never_collide() -> None:
    # Both tables numbered from 0: left "0" and right "0" are different listings.
    train = pairs(("0", "1", 1), ("1", "0", 0))
    clusters = build_clusters(train)
    assert len(clusters) == 4
    assert listing_key("left", "0") == "L:0" and listing_key("right", "0") == "R:0"
    assert clusters.label("left", "0") == clusters.label("right", "1")
    assert clusters.label("left", "0") != clusters.label("right", "0")
    assert clusters.label("left", "1") != clusters.label("right", "0")


def test_only_the_training_split_forms_clusters() -> None:
    train = pairs(("a1", "b1", 1), ("a2", "b2", 1), ("a1", "b2", 0))
    valid = pairs(("a2", "b1", 1), ("a9", "b9", 1))  # would join both clusters if read
    clusters = build_clusters(train)
    assert clusters.label("left", "a1") != clusters.label("left", "a2")
    assert clusters.label("right", "b1") != clusters.label("right", "b2")
    with pytest.raises(KeyError):
        clusters.label("left", "a9")  # valid-only listings are not training listings
    with pytest.raises(ProdmatchError, match="not in the training split"):
        clusters.labels_of("left", list(valid["left_id"]))
    # and the same pairs do join when they are training pairs
    joined = build_clusters(pd.concat([train, valid]))
    assert joined.label("left", "a1") == joined.label("left", "a2")


def test_labels_of_and_sides_map_back_to_ids() -> None:
    clusters = build_clusters(pairs(("x", "y", 1), ("z", "y", 0)))
    assert list(clusters.labels_of("left", ["z", "x"])) == [1, 0]
    sides, ids = clusters.sides()
    assert sides == ["left", "left", "right"] and ids == ["x", "z", "y"]


def test_frames_without_pair_columns_are_refused() -> None:
    synthetic = pd.DataFrame({"ltable_id": ["a"], "rtable_id": ["b"], "label": [1]})
    with pytest.raises(ProdmatchError, match="rename ltable_id"):
        build_clusters(synthetic)
    with pytest.raises(ProdmatchError, match="0 or 1"):
        build_clusters(pairs(("a", "b", 2)))


# -- the batch sampler --------------------------------------------------------------------


def _labels(seed: int = 0) -> np.ndarray:
    """60 items: clusters of sizes 2-5 and many singletons, shuffled positions."""
    rng = np.random.default_rng(seed)
    sizes = [2, 3, 5, 2, 4, 2, 3, 2, 5, 2] + [1] * 28
    labels = np.repeat(np.arange(len(sizes)), sizes)
    return rng.permutation(labels)


def test_every_item_once_per_epoch_and_clusters_whole() -> None:
    labels = _labels()
    sampler = ClusterBatchSampler(labels, batch_size=8, seed=3)
    for _ in range(3):  # three epochs, each reshuffled
        batches = list(sampler)
        seen = Counter(i for batch in batches for i in batch)
        assert sorted(seen) == list(range(len(labels))) and set(seen.values()) == {1}
        assert all(len(batch) <= 8 for batch in batches)
        where = {i: b for b, batch in enumerate(batches) for i in batch}
        for label in np.unique(labels):
            members = np.flatnonzero(labels == label)
            assert len({where[int(i)] for i in members}) == 1, f"cluster {label} was split"


def test_epochs_differ_but_repeat_for_the_same_seed() -> None:
    labels = _labels()
    first = ClusterBatchSampler(labels, 8, seed=1)
    again = ClusterBatchSampler(labels, 8, seed=1)
    epoch0, epoch1 = list(first), list(first)
    assert epoch0 != epoch1
    assert list(again) == epoch0 and list(again) == epoch1
    assert first.batches(0) == epoch0  # batches() reads an epoch without advancing
    assert ClusterBatchSampler(labels, 8, seed=2).batches(0) != epoch0
    first.set_epoch(0)
    assert len(first) == len(epoch0) and list(first) == epoch0


def test_batches_are_packed_full_where_singletons_allow() -> None:
    # 30 items in clusters leave gaps in their batches; 28 singletons are enough to fill them
    labels = _labels()
    for epoch in range(5):
        batches = ClusterBatchSampler(labels, 8, seed=0).batches(epoch)
        assert len(batches) == 8  # ceil(58 / 8)
        assert sum(len(b) < 8 for b in batches) <= 1


def test_a_cluster_larger_than_the_batch_is_cut_not_lost() -> None:
    labels = np.array([0] * 7 + [1, 2, 3])
    batches = ClusterBatchSampler(labels, 4, seed=0).batches(0)
    assert sorted(i for b in batches for i in b) == list(range(10))
    assert all(len(b) <= 4 for b in batches)


def test_works_as_a_dataloader_batch_sampler() -> None:
    labels = _labels()
    data = TensorDataset(torch.arange(len(labels)), torch.as_tensor(labels))
    loader = DataLoader(data, batch_sampler=ClusterBatchSampler(labels, 16, seed=0))
    items = torch.cat([index for index, _ in loader])
    assert sorted(items.tolist()) == list(range(len(labels)))


def test_batch_size_must_allow_a_pair() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        ClusterBatchSampler([0, 0], 1)


def test_pair_batches_cover_each_positive_once_with_their_anchors_negatives() -> None:
    import pandas as pd

    from prodmatch.train.clusters import PairBatches, build_clusters

    train = pd.DataFrame(
        {
            "left_id": ["a", "b", "c", "a", "b", "d"],
            "right_id": ["1", "2", "3", "2", "9", "1"],
            "label": [1, 1, 1, 0, 0, 0],
        }
    )
    plan = PairBatches.build(train, build_clusters(train))
    whole = [r for rows, _ in plan.batches(seed=0, epoch=0, batch_size=3) for r in rows]
    assert sorted(whole) == [0, 1, 2]
    batches = list(plan.batches(seed=0, epoch=0, batch_size=2))
    seen = [int(r) for rows, _ in batches for r in rows]
    assert len(seen) == 2 and len(set(seen)) == 2  # the lone third pair has no negative
    for rows, hard in batches:
        anchors = set(plan.positives.iloc[rows]["left_id"])
        assert set(plan.negatives.iloc[hard]["left_id"]) <= anchors
    again = list(plan.batches(seed=0, epoch=0, batch_size=2))
    assert [r.tolist() for r, _ in again] == [r.tolist() for r, _ in batches]
