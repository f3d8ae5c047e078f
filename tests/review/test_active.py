from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from prodmatch.linker import Linker
from prodmatch.review.active import (
    RETRAIN_CONFIG,
    QueueOptions,
    estimate_quality,
    head_scores,
    labelled_frame,
    next_pair,
    random_sample,
    retrain_head,
)
from prodmatch.score import score_pairs
from prodmatch.settings import MatchSettings

THRESHOLD = 0.5


def _pool(scores: list[float], lefts: list[str], sample: list[bool]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "left_id": lefts,
            "right_id": [f"r{n}" for n in range(len(scores))],
            "score": scores,
            "decision": [s >= THRESHOLD for s in scores],
            "random": sample,
        }
    )


def _walk(pool: pd.DataFrame, options: QueueOptions) -> list[int]:
    """The order in which a reviewer labelling everything is shown the pool."""
    shown: list[int] = []
    keys = list(zip(pool["left_id"], pool["right_id"], strict=True))
    scores = pool["score"].to_numpy(np.float64)
    while True:
        done = [keys[i] for i in shown]
        row = next_pair(pool, scores, THRESHOLD, set(done), done, len(shown), options)
        if row is None:
            return shown
        shown.append(row)


def test_most_uncertain_first_without_random_share_or_diversity() -> None:
    pool = _pool([0.95, 0.52, 0.1, 0.45, 0.7], ["a", "b", "c", "d", "e"], [False] * 5)
    order = _walk(pool, QueueOptions(random_share=0, window=0))
    assert order == [1, 3, 4, 2, 0]  # |score - 0.5|: .02, .05, .2, .4, .45


def test_diversity_passes_over_a_listing_just_seen() -> None:
    # pairs 0, 1, 2 share left listing "a" and are the three most uncertain
    pool = _pool([0.5, 0.51, 0.52, 0.6, 0.8], ["a", "a", "a", "b", "c"], [False] * 5)
    order = _walk(pool, QueueOptions(random_share=0, window=2))
    assert order[:3] == [0, 3, 4]  # "a" again only once nothing else is left
    assert sorted(order) == [0, 1, 2, 3, 4]


def test_every_fifth_pair_comes_from_the_random_sample_in_seeded_order() -> None:
    n = 40
    rng = np.random.default_rng(3)
    options = QueueOptions(random_share=0.2, window=0, seed=7)
    sample = random_sample(n, options)
    assert sample.sum() == 8
    pool = _pool(list(rng.random(n)), [f"l{i}" for i in range(n)], list(sample))
    order = _walk(pool, options)
    fifth = order[4::5]
    assert all(sample[i] for i in fifth[:8])
    assert not any(sample[i] for i in order[:4])  # the others are uncertainty picks
    assert sorted(order) == list(range(n))


def test_estimates_use_only_labelled_pairs_of_the_random_sample() -> None:
    pool = _pool([0.9, 0.8, 0.2, 0.6, 0.1], ["a", "b", "c", "d", "e"],
                 [True, True, True, False, True])  # fmt: skip
    labels = {("a", "r0"): 1, ("b", "r1"): 0, ("c", "r2"): 1, ("d", "r3"): 0, ("e", "r4"): -1}
    estimate = estimate_quality(pool, labels)
    # sample: a (match, 1), b (match, 0), c (no match, 1); d is outside, e unsure
    assert estimate == {"sample_labels": 3, "precision": 0.5, "recall": 0.5}


def _signal_pool(n: int) -> tuple[pd.DataFrame, Any]:
    """Candidates with the linker's signals, and a side holding random vectors."""
    rng = np.random.default_rng(0)
    side = SimpleNamespace(vectors=rng.normal(size=(n, 8)).astype(np.float32))
    pool = pd.DataFrame(
        {
            "left": np.arange(n),
            "right": rng.permutation(n),
            "left_id": [f"l{i}" for i in range(n)],
            "right_id": [f"r{i}" for i in range(n)],
            "dense": rng.uniform(0.2, 1.0, n),
            "sparse": rng.uniform(0.0, 0.9, n),
            "code_agreement": rng.choice([-1, 0, 1], n),
            "code_variant": np.zeros(n),
        }
    )
    return pool, side


def test_retraining_before_any_label_ranks_and_decides_as_the_untrained_scorer() -> None:
    linker = Linker(MatchSettings(), progress=False)
    pool, side = _signal_pool(300)
    head = retrain_head(linker, side, side, labelled_frame(pool, {}))
    assert head is not None
    scores = head_scores(linker, head, side, side, pool)
    hybrid = score_pairs(pool, "hybrid")
    clear = np.abs(hybrid - 0.39) > 1e-4
    assert ((scores >= head.threshold) == (hybrid >= 0.39))[clear].all()
    assert np.corrcoef(np.argsort(np.argsort(scores)), np.argsort(np.argsort(hybrid)))[0, 1] > 0.999


def test_the_mlp_retraining_still_needs_both_classes() -> None:
    linker = Linker(MatchSettings(), progress=False)
    pool, side = _signal_pool(40)
    labels = {(a, b): 0 for a, b in zip(pool["left_id"], pool["right_id"], strict=True)}
    assert (
        retrain_head(linker, side, side, labelled_frame(pool, labels), config=RETRAIN_CONFIG)
        is None
    )
