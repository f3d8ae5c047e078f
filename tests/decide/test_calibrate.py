"""Label-free calibration: the match share it estimates and the decisions it leads to."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prodmatch.data import catalog_from_frame
from prodmatch.decide import assign, best_threshold
from prodmatch.decide.calibrate import calibrate
from prodmatch.linker import Linker
from prodmatch.settings import MatchSettings
from prodmatch.synth import generate_catalogs


def generated_candidates(n_left: int, share: float, seed: int = 0, k: int = 20) -> pd.DataFrame:
    """Candidates as retrieval gives them: each left listing has k-1 non-matches drawn close
    around its own level (listings differ more from each other than their candidates do), and
    a match, scoring higher, for `share` of them."""
    rng = np.random.default_rng(seed)
    twin = rng.permutation(n_left)
    has = np.arange(n_left) < round(share * n_left)
    rows: list[tuple[int, int, float, bool]] = []
    for i in range(n_left):
        level = rng.normal(0.25, 0.08)
        others = rng.choice(n_left, k, replace=False)
        others = others[others != twin[i]][: k - 1]
        scores = level + rng.normal(0.0, 0.02, len(others))
        rows += [(i, int(r), float(s), False) for r, s in zip(others, scores, strict=True)]
        if has[i]:
            rows.append((i, int(twin[i]), float(rng.normal(0.75, 0.08)), True))
    pairs = pd.DataFrame(rows, columns=["left", "right", "score", "match"])
    pairs = pairs.sort_values(["left", "score"], ascending=[True, False], kind="stable")
    pairs["rank"] = (pairs.groupby("left").cumcount() + 1).astype(np.int32)
    return pairs.reset_index(drop=True)


@pytest.mark.parametrize("share", [0.3, 0.9])
def test_the_estimated_match_share_is_the_generated_one(share: float) -> None:
    # a method that assumed every listing matches, or counted the contenders above the
    # non-matches' median (0.3 + 0.7 / 2 = 0.65 at share 0.3), lands far outside 0.06
    found = calibrate(generated_candidates(1000, share, seed=1))
    assert found.match_share == pytest.approx(share, abs=0.06)


def test_calibrated_threshold_reaches_nearly_the_best_f1_at_every_share() -> None:
    for share in (0.3, 0.6, 1.0):
        pairs = generated_candidates(800, share, seed=2)
        found = calibrate(pairs)
        assert found.threshold is not None
        chosen = assign(pairs, -np.inf).to_numpy()
        positives = int(pairs["match"].sum())
        _, best = best_threshold(
            pairs["score"][chosen], pairs["match"][chosen], positives=positives
        )
        decided = assign(pairs, found.threshold).to_numpy()
        f1 = 2 * int(pairs["match"][decided].sum()) / (int(decided.sum()) + positives)
        assert f1 >= 0.97 * best, (share, found.threshold, f1, best)


def test_probabilities_rise_with_the_score_and_separate_matches() -> None:
    pairs = generated_candidates(800, 0.5, seed=3)
    found = calibrate(pairs)
    p = found.probabilities(pairs["score"])
    assert np.all(np.diff(found.probs) >= 0)
    best = pairs[pairs["rank"] == 1]
    p_best = found.probabilities(best["score"])
    assert p_best[best["match"].to_numpy()].mean() > 0.9
    assert p_best[~best["match"].to_numpy()].mean() < 0.1
    assert p.min() >= 0.0 and p.max() <= 1.0


def test_too_few_candidates_give_no_threshold() -> None:
    found = calibrate(generated_candidates(10, 0.5, k=5))
    assert found.threshold is None and "too few" in found.reason


def _linked(overlap: float, decision: str) -> tuple[float, float, float]:
    """Share estimate, F1 and best-threshold F1 of linking a synthetic catalog pair."""
    world = generate_catalogs(400, seed=4, overlap=overlap)
    left = catalog_from_frame(world.left, name="a", columns=["title", "brand"])
    right = catalog_from_frame(world.right, name="b", columns=["title", "brand"])
    settings = MatchSettings(scorer="tfidf", retrieval="sparse", decision=decision)  # type: ignore[arg-type]
    linker = Linker(settings, progress=False)
    sides = linker.prepare(left, right)
    decided, cut = linker.decide_explained(linker.candidates(*sides), left_rows=len(left))
    gold = set(zip(world.gold["left_id"], world.gold["right_id"], strict=True))
    left_ids = np.asarray(left.ids, dtype=object)[decided["left"].to_numpy()]
    right_ids = np.asarray(right.ids, dtype=object)[decided["right"].to_numpy()]
    label = np.array([(a, b) in gold for a, b in zip(left_ids, right_ids, strict=True)])
    chosen = linker.decide(decided, -np.inf)["decision"].to_numpy()
    _, best = best_threshold(decided["score"][chosen], label[chosen], positives=len(gold))
    accepted = decided["decision"].to_numpy()
    f1 = 2 * int(label[accepted].sum()) / (int(accepted.sum()) + len(gold))
    assert cut.calibration is not None
    return cut.calibration.match_share, f1, best


def test_linking_a_synthetic_pair_estimates_its_share_and_decides_near_the_best() -> None:
    few, f1_few, best_few = _linked(0.2, "calibrated")  # a third of left listings match
    most, f1_most, best_most = _linked(1.0, "calibrated")  # all do
    assert few < 0.5 < most
    assert f1_few >= 0.95 * best_few and f1_most >= 0.95 * best_most


def test_the_null_moves_each_rank_two_score_toward_its_own_rank_three() -> None:
    from prodmatch.decide.calibrate import _null_scores

    pairs = pd.DataFrame(
        {
            "left": [0, 0, 0, 1, 1, 2],
            "right": [5, 6, 7, 5, 6, 7],
            "score": [0.9, 0.5, 0.3, 0.8, 0.4, 0.7],
            "rank": [1, 2, 3, 1, 2, 1],
        }
    )
    # listing 0: 0.5 moved 0.6 of the way to 0.3; listing 1 has no rank 3: kept; 2: no rank 2
    np.testing.assert_allclose(_null_scores(pairs, 0.6), [0.38, 0.4])
    np.testing.assert_allclose(_null_scores(pairs, 0.0), [0.5, 0.4])
