"""Label-free decisions: a match probability per pair and a threshold fitted to the catalogs.

A fixed threshold carries the score scale of the catalogs it was chosen on; the best
threshold of the same score was 0.14, 0.28 and 0.75 on three public catalog pairs. This
module estimates, from the candidate pairs being decided and no labels, how many listings
have a match and how a match's score differs from a non-match's, and picks the threshold
with the best expected F1.

Two facts about matching make that possible:

- a listing has at most about one true match on the other side, so a listing's *second*
  candidate (rank 2) is a non-match, and the rank-2 scores are an empirical sample of how
  high a listing's best non-match scores. That is the null distribution, measured on these
  catalogs, in this score's units;
- the pairs a decision can accept (each listing's best available candidate under the
  assignment, the *contenders*) are a mixture of matches and such best non-matches, whose
  weight is unknown: it ranged from under 40% to nearly 100% on real catalog pairs.

For a listing with no match the rank-2 score is its *second* best non-match, a little below
the best one that contends; moving the null up by the rank-2 to rank-3 gap for the
estimated unmatched share was tried and lost F1 on the abt-buy train/valid listings at every
share (bench/calibration.py builds those development sets). Moving it *down*, each rank-2
score `NULL_SHIFT` of the way to the same listing's rank-3 score, gained on the development
sets of both abt-buy and amazon-google and on synthetic catalogs (`bench/calibration.py
--choose`: mean share of the best F1 97.7% -> 98.7%, worst 92.3% -> 96.5%, a plateau from
0.5 to 0.75). A likely reason: a matched listing's rank-2 candidate is often a near-twin of
its match (the same product listed twice, a bundle, the sibling model whose title shares
the match's words), which scores above the non-matches that unmatched listings contend with.

The weight is estimated as in false-discovery-rate control (Storey's pi0): matches rarely
score as low as a typical non-match, so the contenders below the null's median are nearly
all non-matches, and their count, divided by the null's share below it, estimates all
non-matching contenders. The match probability of a score is then one minus the local share of
non-matches, estimated on score bins and made monotone (pool adjacent violators). A plain
two-component mixture, by contrast, has no anchor for its non-match component and splits
the matches in two when nearly every listing has one (measured: 76% of the best F1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.decide.assign import Assignment, assign

if TYPE_CHECKING:
    from prodmatch.settings import MatchSettings

# Below these many contenders or rank-2 scores, an estimate is noise: keep the fixed threshold.
MIN_CONTENDERS = 30
MIN_NULL = 20
# The null quantile below which contenders are counted as non-matches (Storey's lambda).
NULL_QUANTILE = 0.5
# Contenders per score bin of the probability curve (fewer bins on small catalogs).
BIN_SIZE = 40
# How far each rank-2 score of the null moves toward its listing's rank-3 score (see above).
NULL_SHIFT = 0.6


@dataclass(frozen=True)
class Calibration:
    """The decision fitted to one set of candidates.

    threshold: the score cut with the best expected F1 (None when too few candidates).
    match_share: the estimated share of left listings that have a match among the candidates.
    knots, probs: the probability curve (scores and match probabilities, nondecreasing).
    contenders: how many pairs the estimate read (each listing's best available candidate).
    """

    threshold: float | None
    match_share: float
    contenders: int
    knots: list[float] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)
    reason: str = ""

    def probabilities(self, scores: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The match probability of each score, read off the curve (linear between knots).

        It is the probability that a listing's best available candidate with this score is
        its match; a pair that the assignment would not accept is no likelier for its score.
        """
        s = np.asarray(scores, dtype=np.float64)
        if not self.knots:
            return np.full(s.shape, np.nan)
        return np.interp(s, self.knots, self.probs)


@dataclass(frozen=True)
class Cut:
    """The threshold a decision used and why: "given" (by the caller), "fixed" (the settings'
    or the scorer's default) or "calibrated" (fitted to these candidates by `calibrate`,
    which a fixed cut may carry too, for the probabilities)."""

    threshold: float
    source: str
    calibration: Calibration | None = None


def choose_cut(
    pairs: pd.DataFrame,
    settings: MatchSettings,
    *,
    threshold: float | None = None,
    left_rows: int | None = None,
) -> Cut:
    """The threshold for scored candidates: `threshold` if given, else one calibrated on
    them (`settings.calibrated`, and enough candidates), else the settings' fixed one.

    Every path (in memory, streamed, Spark, dedupe across sources) decides through this, so
    one catalog pair gets one threshold whichever path runs it. The calibration is estimated
    under a fixed threshold too: it gives each pair its probability.
    """
    if threshold is not None:
        return Cut(float(threshold), "given")
    found = None if pairs.empty else calibrate(pairs, settings.assignment, left_rows=left_rows)
    if settings.calibrated and found is not None and found.threshold is not None:
        return Cut(found.threshold, "calibrated", found)
    return Cut(settings.decision_threshold, "fixed", found)


def calibrate(
    pairs: pd.DataFrame,
    mode: Assignment = "one-to-one",
    *,
    left_rows: int | None = None,
    null_shift: float = NULL_SHIFT,
) -> Calibration:
    """Fit the decision to scored candidates (columns left, right, score, rank).

    `left_rows`: the number of left listings (default: those with a candidate), the base of
    the reported match share. `null_shift`: see `NULL_SHIFT` (0 reads rank 2 as it is).
    """
    contenders = _contenders(pairs, mode)
    null = _null_scores(pairs, null_shift)
    n_left = left_rows if left_rows is not None else int(pairs["left"].nunique())
    if len(contenders) < MIN_CONTENDERS or len(null) < MIN_NULL:
        return Calibration(
            None, float("nan"), len(contenders), reason="too few candidates to calibrate"
        )
    share0 = _nonmatch_share(contenders, null)
    knots, probs = _probability_curve(contenders, null, share0)
    p = np.interp(contenders, knots, probs)
    threshold = _best_expected_f1(contenders, p)
    matches = float(p.sum())
    return Calibration(
        threshold,
        min(1.0, matches / max(n_left, 1)),
        len(contenders),
        knots=[float(x) for x in knots],
        probs=[float(x) for x in probs],
        reason="calibrated",
    )


def _contenders(pairs: pd.DataFrame, mode: Assignment) -> npt.NDArray[np.float64]:
    """Scores of the pairs the assignment accepts with no threshold: each listing's best
    available candidate. With ``all`` every pair may be accepted, but a listing has about
    one match, so its one-to-one contenders are what the mixture is fitted on."""
    fitted_on: Assignment = "one-to-one" if mode == "all" else mode
    chosen = assign(pairs, -np.inf, fitted_on).to_numpy()
    return np.sort(pairs["score"].to_numpy(np.float64)[chosen])


def _null_scores(pairs: pd.DataFrame, shift: float = NULL_SHIFT) -> npt.NDArray[np.float64]:
    """Each left listing's rank-2 score (a listing's best non-match when it has a match),
    moved `shift` of the way to its rank-3 score (kept where it has no rank 3)."""
    rank = pairs["rank"].to_numpy()
    left = pairs["left"].to_numpy()
    score = pairs["score"].to_numpy(np.float64)
    second = pd.Series(score[rank == 2], index=left[rank == 2])
    if shift == 0.0 or second.empty:
        return np.asarray(second.to_numpy(), dtype=np.float64)
    third = pd.Series(score[rank == 3], index=left[rank == 3])
    third = third[~third.index.duplicated()].reindex(second.index).fillna(second)
    return np.asarray((second - shift * (second - third)).to_numpy(), dtype=np.float64)


def _nonmatch_share(contenders: npt.NDArray[np.float64], null: npt.NDArray[np.float64]) -> float:
    """The share of contenders that are non-matches: those below the null's lambda-quantile,
    over lambda (Storey's estimator); too high by the few matches that score that low."""
    cut = float(np.quantile(null, NULL_QUANTILE))
    below_null = max(float(np.mean(null < cut)), 1.0 / len(null))
    below = float(np.mean(contenders < cut))
    return float(np.clip(below / below_null, 0.0, 1.0))


def _probability_curve(
    contenders: npt.NDArray[np.float64], null: npt.NDArray[np.float64], share0: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Match probability by score: on bins of sorted contenders, one minus the expected
    non-matches (the null's mass in the bin times all non-matching contenders) over the
    contenders in the bin, then made nondecreasing in score."""
    n = len(contenders)
    bins = max(3, n // BIN_SIZE)
    edges = np.quantile(contenders, np.linspace(0.0, 1.0, bins + 1))
    edges[0], edges[-1] = -np.inf, np.inf
    edges = np.unique(edges)
    observed = np.histogram(contenders, edges)[0].astype(np.float64)
    null_mass = np.histogram(null, edges)[0] / len(null)
    expected = share0 * n * null_mass
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(observed > 0, 1.0 - expected / observed, 0.0)
    weights = np.maximum(observed, 1.0)
    p = np.clip(_isotonic(np.clip(p, 0.0, 1.0), weights), 0.0, 1.0)
    centres = np.array(
        [
            np.median(contenders[(contenders >= lo) & (contenders < hi)]) if count else np.nan
            for lo, hi, count in zip(edges[:-1], edges[1:], observed, strict=True)
        ]
    )
    keep = ~np.isnan(centres)
    return centres[keep], p[keep]


def _isotonic(
    values: npt.NDArray[np.float64], weights: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The nondecreasing sequence closest to `values` in weighted least squares (PAVA)."""
    means: list[float] = []
    sizes: list[float] = []
    counts: list[int] = []
    for value, weight in zip(values.tolist(), weights.tolist(), strict=True):
        means.append(value)
        sizes.append(weight)
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            total = sizes[-2] + sizes[-1]
            merged = (means[-2] * sizes[-2] + means[-1] * sizes[-1]) / total
            count = counts[-2] + counts[-1]
            del means[-1], sizes[-1], counts[-1]
            means[-1], sizes[-1], counts[-1] = merged, total, count
    return np.repeat(means, counts)


def _best_expected_f1(contenders: npt.NDArray[np.float64], p: npt.NDArray[np.float64]) -> float:
    """The cut with the best expected F1: accepting the contenders from the top, each adds
    its probability to the expected true matches; all matches are the sum of them all."""
    order = np.argsort(-contenders, kind="stable")
    s, q = contenders[order], p[order]
    expected_tp = np.cumsum(q)
    f1 = 2 * expected_tp / (np.arange(1, len(s) + 1) + q.sum())
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    best = int(np.argmax(np.where(last_of_tie, f1, -1.0)))
    below = s[best + 1] if best + 1 < len(s) else s[best] - 1e-3
    return float((s[best] + below) / 2)
