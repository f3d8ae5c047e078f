from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prodmatch.retrieve import DenseIndex, SparseIndex, retrieve_candidates
from prodmatch.retrieve.hybrid import NOT_RANKED


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_flat_and_hnsw_agree_on_clustered_vectors() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(50, 16))
    data = _unit(np.repeat(centres, 20, axis=0) + 0.05 * rng.normal(size=(1000, 16)))
    queries = data[::10]
    _, exact = DenseIndex(data, "flat").search(queries, 5)
    _, approx = DenseIndex(data, "hnsw").search(queries, 5)
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(exact, approx, strict=True)])
    assert recall >= 0.99


def test_dense_search_returns_the_nearest_first() -> None:
    data = _unit(np.eye(4) + 0.01)
    scores, idx = DenseIndex(data).search(data, 2)
    assert idx[:, 0].tolist() == [0, 1, 2, 3]
    assert (scores[:, 0] >= scores[:, 1]).all()


def test_sparse_search_prefers_the_same_model_number() -> None:
    left = ["sony turntable pslx350h", "bose speaker am53bk"]
    right = ["bose am53bk speakers", "sony pslx350h belt drive turntable", "sony pslx250h"]
    index = SparseIndex(left + right)
    scores, idx = SparseIndex.search(index.transform(left), index.transform(right), 2)
    assert idx[:, 0].tolist() == [1, 0]
    pair = SparseIndex.pair_scores(
        index.transform(left), index.transform(right), np.array([0]), np.array([1])
    )
    assert pair[0] == pytest.approx(scores[0, 0], rel=1e-5)


def test_union_holds_every_retrievers_candidates_with_their_ranks() -> None:
    rng = np.random.default_rng(1)
    left_v, right_v = _unit(rng.normal(size=(30, 8))), _unit(rng.normal(size=(40, 8)))
    texts_l = [f"item {i} code x{i}y" for i in range(30)]
    texts_r = [f"item {i} code x{i}y" for i in range(40)]
    index = SparseIndex(texts_l + texts_r)
    tl, tr = index.transform(texts_l), index.transform(texts_r)
    both = retrieve_candidates(left_v, right_v, tl, tr, k=3).pairs
    dense = retrieve_candidates(left_v, right_v, None, None, k=3).pairs
    sparse = retrieve_candidates(None, None, tl, tr, k=3).pairs
    keys = set(zip(both["left"], both["right"], strict=True))
    assert set(zip(dense["left"], dense["right"], strict=True)) <= keys
    assert set(zip(sparse["left"], sparse["right"], strict=True)) <= keys
    assert len(keys) == len(both)  # one row per pair
    # each pair keeps the rank every retriever gave it, and the union adds no pair of its own
    by_pair = both.set_index(["left", "right"])
    retrievers = ((dense, ["dense_lr", "dense_rl"]), (sparse, ["sparse_lr", "sparse_rl"]))
    for single, columns in retrievers:
        mine = single.set_index(["left", "right"])[columns]
        pd.testing.assert_frame_equal(by_pair.loc[mine.index, columns], mine)
    assert keys == set(zip(dense["left"], dense["right"], strict=True)) | set(
        zip(sparse["left"], sparse["right"], strict=True)
    )
    found = by_pair[["dense_lr", "dense_rl", "sparse_lr", "sparse_rl"]] < NOT_RANKED
    assert found.any(axis=1).all()


# Right r2 is no left listing's nearest neighbour: only the right-to-left search finds it.
LEFT_2D = np.array([[1.0, 0.0], [0.99, 0.14], [0.6, 0.8]], dtype=np.float32)
RIGHT_2D = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], dtype=np.float32)
N = NOT_RANKED


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        # (left, right, dense_lr, dense_rl), worked out by hand from the cosines above
        (1, [(0, 0, 0, 0), (1, 0, 0, N), (2, 1, 0, 0), (2, 2, N, 0)]),
        (
            2,
            [
                (0, 0, 0, 0),
                (0, 1, 1, N),
                (1, 0, 0, 1),
                (1, 1, 1, 1),
                (1, 2, N, 1),
                (2, 1, 0, 0),
                (2, 2, 1, 0),
            ],
        ),
    ],
)
def test_dense_search_both_ways_on_a_hand_made_case(
    k: int, expected: list[tuple[int, int, int, int]]
) -> None:
    pairs = retrieve_candidates(LEFT_2D, RIGHT_2D, None, None, k=k, index_kind="flat").pairs
    got = pairs[["left", "right", "dense_lr", "dense_rl"]]
    assert [tuple(int(v) for v in row) for row in got.itertuples(index=False)] == expected
    assert (pairs[["sparse_lr", "sparse_rl"]] == NOT_RANKED).all().all()


def test_exclude_self_for_dedup() -> None:
    vectors = _unit(np.random.default_rng(2).normal(size=(10, 4)))
    pairs = retrieve_candidates(vectors, vectors, None, None, k=3, exclude_self=True).pairs
    assert (pairs["left"] != pairs["right"]).all()
