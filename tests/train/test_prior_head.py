"""The few-label retraining: no labels give the untrained decision, labels only move it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from prodmatch.errors import ProdmatchError
from prodmatch.matcher.head import MatchHead
from prodmatch.score import score_pairs
from prodmatch.settings import MatchSettings
from prodmatch.train.prior_head import PriorConfig, fit_prior_head, prior_weights

DIM = 8
HYBRID = MatchSettings()
SIGNALS = PriorConfig(vectors=None)  # the signals alone: no u * v to give


def _pairs(n: int, seed: int = 0) -> pd.DataFrame:
    """Random pair signals in the ranges the linker gives them."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "dense": rng.uniform(0.2, 1.0, n),
            "sparse": rng.uniform(0.0, 0.9, n),
            "code_agreement": rng.choice([-1, 0, 1], n),
            "code_variant": rng.choice([0, 1], n, p=[0.9, 0.1]),
            "price_ratio": rng.uniform(0, 1, n),
            "price_missing": rng.choice([0, 1], n),
        }
    )


def _hybrid(pairs: pd.DataFrame) -> npt.NDArray[np.float64]:
    return score_pairs(pairs, "hybrid")


def _decisions(head: MatchHead, pairs: pd.DataFrame) -> npt.NDArray[np.bool_]:
    vectors = np.random.default_rng(1).normal(size=(len(pairs), DIM))  # read with weight 0
    return head.score(vectors, vectors[::-1], head.extra_matrix(pairs)) >= head.threshold


def _labelled(pairs: pd.DataFrame, labels: list[int]) -> pd.DataFrame:
    return pairs.assign(label=labels).reset_index(drop=True)


def test_no_labels_decide_exactly_as_the_untrained_hybrid_scorer() -> None:
    pool = _pairs(2000)
    hybrid = _hybrid(pool)
    clear = np.abs(hybrid - HYBRID.decision_threshold) > 1e-4  # float32 inside the head
    for threshold in ("half", "folds"):
        head = fit_prior_head(
            _labelled(pool[:0], []), HYBRID, DIM, PriorConfig(threshold=threshold, vectors=None)
        )
        decided = _decisions(head, pool)
        assert (decided[clear] == (hybrid >= HYBRID.decision_threshold)[clear]).all()
        assert head.threshold == 0.5


def test_a_few_labels_that_agree_with_the_untrained_scorer_keep_its_decisions() -> None:
    pool = _pairs(2000)
    hybrid = _hybrid(pool)
    # two clear matches, two clear non-matches: 4 points any line can separate
    picked = [int(np.argmax(hybrid)), int(np.argsort(hybrid)[-2]), *np.argsort(hybrid)[:2]]
    head = fit_prior_head(_labelled(pool.iloc[picked], [1, 1, 0, 0]), HYBRID, DIM, SIGNALS)
    away = np.abs(hybrid - HYBRID.decision_threshold) > 0.03
    assert (_decisions(head, pool)[away] == (hybrid >= HYBRID.decision_threshold)[away]).all()


def test_labels_that_contradict_the_untrained_scorer_move_its_decisions() -> None:
    pool = _pairs(4000)
    hybrid = _hybrid(pool)
    # listings just above the threshold that, say the labels, are other products
    near = np.flatnonzero((hybrid > 0.42) & (hybrid < 0.5))[:60]
    far = np.flatnonzero(hybrid > 0.7)[:20]
    labelled = _labelled(pool.iloc[np.r_[near, far]], [0] * len(near) + [1] * len(far))
    head = fit_prior_head(labelled, HYBRID, DIM, SIGNALS)
    decided = _decisions(head, pool)
    assert decided[near].mean() < 0.2  # untrained: all matches
    assert decided[far].all()
    assert decided[hybrid < 0.3].sum() == 0


def test_the_head_reads_the_extra_signals_the_labels_have() -> None:
    pool = _pairs(400)
    head = fit_prior_head(_labelled(pool[:0], []), HYBRID, DIM, SIGNALS)
    assert head.extra_columns[:3] == ("dense", "sparse", "code_agreement")
    assert {"code_variant", "price_ratio", "price_missing"} <= set(head.extra_columns)
    assert head.metadata["weights"]["price_ratio"] == 0.0  # no label: no weight of its own
    plain = fit_prior_head(
        _labelled(pool[:0], []), HYBRID, DIM, PriorConfig(signals=False, vectors=None)
    )
    assert plain.extra_columns == ("dense", "sparse", "code_agreement")


def test_fold_threshold_waits_for_enough_matches_then_is_chosen_on_the_labels() -> None:
    pool = _pairs(3000, seed=2)
    hybrid = _hybrid(pool)
    truth = (hybrid > 0.5).astype(int)  # the labels' own cut lies above the prior's 0.39
    config = PriorConfig(threshold="folds", min_class=10, vectors=None)
    few = np.r_[np.flatnonzero(truth)[:5], np.flatnonzero(truth == 0)[:50]]
    head = fit_prior_head(_labelled(pool.iloc[few], truth[few].tolist()), HYBRID, DIM, config)
    assert head.threshold == 0.5
    head = fit_prior_head(_labelled(pool, truth.tolist()), HYBRID, DIM, config)
    assert head.threshold != 0.5
    assert (_decisions(head, pool) == truth.astype(bool)).mean() > 0.97


def test_prior_weights_follow_the_scorer() -> None:
    assert prior_weights(MatchSettings(scorer="dense")) == ({"dense": 1.0}, 0.67)
    assert prior_weights(MatchSettings(scorer="tfidf", threshold=0.5)) == ({"sparse": 1.0}, 0.5)
    weights, cut = prior_weights(MatchSettings(dense_weight=0.5, code_weight=0.2))
    assert weights == {"dense": 0.5, "sparse": 0.5, "code_agreement": 0.2} and cut == 0.39
    assert prior_weights(MatchSettings(scorer="fuzzy"))[1] == 0.39  # the hybrid stands in


def test_the_retrained_head_saves_and_loads_as_a_head_mode_matcher_part(tmp_path: Path) -> None:
    pool = _pairs(300)
    hybrid = _hybrid(pool)
    labelled = _labelled(pool, (hybrid > 0.45).astype(int).tolist())
    head = fit_prior_head(labelled, HYBRID, DIM, PriorConfig(), _unit(300, 6) * _unit(300, 7))
    loaded = MatchHead.load(head.save(tmp_path / "head"))
    assert loaded.threshold == head.threshold
    assert (_decisions(loaded, pool) == _decisions(head, pool)).all()


def test_bad_settings_are_one_error() -> None:
    with pytest.raises(ProdmatchError, match="sharpness"):
        PriorConfig(sharpness=0)


def _unit(rows: int, seed: int) -> npt.NDArray[np.float64]:
    x = np.random.default_rng(seed).normal(size=(rows, DIM))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_vector_weights_start_at_zero_and_learn_what_the_signals_miss() -> None:
    pool = _pairs(3000, seed=3)
    u, v = _unit(3000, 4), _unit(3000, 5)
    hybrid = _hybrid(pool)
    config = PriorConfig(vectors=0.001)
    head = fit_prior_head(_labelled(pool[:0], []), HYBRID, DIM, config, np.zeros((0, DIM)))
    decided = head.score(u, v, head.extra_matrix(pool)) >= head.threshold
    clear = np.abs(hybrid - HYBRID.decision_threshold) > 1e-4
    assert (decided == (hybrid >= HYBRID.decision_threshold))[clear].all()
    # the truth also depends on one dimension of u * v, which no signal sees
    truth = (hybrid + 2.0 * u[:, 0] * v[:, 0] > HYBRID.decision_threshold).astype(int)
    labelled = _labelled(pool, truth.tolist())

    def accuracy(fitted: MatchHead) -> float:
        scores = fitted.score(u, v, fitted.extra_matrix(pool))
        return float(((scores >= fitted.threshold) == truth).mean())

    plain = fit_prior_head(labelled, HYBRID, DIM, SIGNALS)
    with_vectors = fit_prior_head(labelled, HYBRID, DIM, config, u * v)
    assert accuracy(with_vectors) > accuracy(plain) + 0.05
    with pytest.raises(ProdmatchError, match="u \\* v"):
        fit_prior_head(labelled, HYBRID, DIM, config)
