"""The trained matcher's threshold, chosen on the candidates matching would produce.

A classifier's threshold chosen on the validation *pairs* fits their share of matches
(DeepMatcher's lists hold about one match in ten), not the share among the candidates that
`match` retrieves (k per listing, most of them non-matches): on abt-buy-full a head-mode
matcher reached F1 0.893 end to end with it, against 0.930 untrained and 0.953 with the
threshold chosen here (BENCHMARKS.md). So, once the matcher is trained, validation listings
are matched against the training catalog's right listings exactly as `match` does
(retrieval, scoring, the one-to-one assignment), and the threshold is the one with the best
end-to-end F1 there. The untrained default (the hybrid scorer at its default decision) is
scored on the same candidates, so a trained matcher that does worse is known, and said,
before anyone uses it.

Labels: the listings are the validation pairs' left listings that have a validation match.
A listing whose validation pairs are all non-matches may still have a match, unlabelled,
among its candidates; counted as a non-match, it pushes the threshold up (on abt-buy 522 of
the 728 validation listings have no labelled match, since DeepMatcher samples pairs; the
threshold chosen on all of them is recorded as `all_listings_threshold`). A candidate is a
match when it is a validation match; candidates that are known matches from the training
pairs are left out; every other candidate counts as a non-match, although some may be
unlabelled true matches. Choosing on listings that all have a match assumes most listings
do; on catalogs where few do, it may set the threshold too low.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.decide import best_threshold
from prodmatch.decide.prior import prior_shift
from prodmatch.linker import Linker, with_ids
from prodmatch.matcher import CROSS_DIR, HEAD_DIR
from prodmatch.retrieve import SparseIndex
from prodmatch.settings import MatchSettings

if TYPE_CHECKING:
    from prodmatch.images.fusion import FusionHead

__all__ = [
    "HOW",
    "EndToEnd",
    "decided_f1",
    "end_to_end_stage",
    "end_to_end_threshold",
    "labelled_candidates",
]

HOW = "best one-to-one F1 on the candidates retrieved for the validation listings with a match"
LABELS = (
    "the validation listings with a validation match, their candidates among the training "
    "catalog's right listings: the validation matches are matches, known training matches are "
    "left out, every other candidate counts as a non-match"
)


@dataclass
class EndToEnd:
    """A matcher's decisions on labelled candidates: the threshold and its F1."""

    threshold: float
    f1: float


def labelled_candidates(
    linker: Linker,
    left: Catalog,
    right: Catalog,
    matches: set[tuple[str, str]],
    skip: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> tuple[pd.DataFrame, npt.NDArray[np.int64]]:
    """The scored candidates `linker` retrieves for `left` among `right` (as `match` does), with
    a label each: 1 for a pair in `matches`, 0 otherwise; pairs in `skip` are dropped."""
    left_side, right_side = linker.prepare(left, right)
    pairs = with_ids(linker.candidates(left_side, right_side), left_side, right_side)
    keys = list(zip(pairs["left_id"].astype(str), pairs["right_id"].astype(str), strict=True))
    if skip:
        kept = np.fromiter((key not in skip for key in keys), dtype=bool, count=len(keys))
        pairs = pairs[kept].reset_index(drop=True)
        keys = [key for key, keep in zip(keys, kept, strict=True) if keep]
    labels = np.fromiter((key in matches for key in keys), dtype=np.int64, count=len(keys))
    return pairs, labels


def end_to_end_threshold(
    linker: Linker, pairs: pd.DataFrame, labels: npt.ArrayLike, positives: int
) -> EndToEnd:
    """The threshold with the best F1 of `linker`'s assignment on labelled candidates.

    Every assignment accepts at threshold t exactly the pairs it accepts with no threshold
    that score at least t, so one decision without a threshold gives the whole curve."""
    chosen = linker.decide(pairs, -np.inf)["decision"].to_numpy()
    scores = pairs["score"].to_numpy()
    y = np.asarray(labels, dtype=np.int64)
    threshold, f1 = best_threshold(scores[chosen], y[chosen], positives=positives)
    return EndToEnd(threshold, f1)


def decided_f1(
    linker: Linker,
    pairs: pd.DataFrame,
    labels: npt.ArrayLike,
    positives: int,
    threshold: float | None = None,
) -> float:
    """F1 of `linker`'s decisions as `match` takes them (its own cut unless `threshold`)."""
    accepted = linker.decide(pairs, threshold)["decision"].to_numpy()
    true = int(np.asarray(labels, dtype=np.int64)[accepted].sum())
    total = int(accepted.sum()) + positives
    return 2 * true / total if total else 0.0


def end_to_end_stage(
    trained: MatchSettings,
    untrained: MatchSettings,
    staging: Path,
    data: tuple[Catalog, Catalog, pd.DataFrame, pd.DataFrame],
    lexical: SparseIndex,
    progress: bool,
    fusion: FusionHead | None = None,
) -> tuple[MatchSettings, dict[str, Any]]:
    """Choose the trained matcher's threshold on the validation listings' candidates and
    compare it with the untrained default there; return the settings with that threshold and
    the figures to record."""
    left, right, train, valid = data
    matches = _matches(valid)
    skip = _matches(train) - matches
    # the listings whose match is known: a listing whose validation pairs are all non-matches
    # may still have a match, unlabelled, among its candidates (see `ALL_LISTINGS`)
    listings = left.select(list(dict.fromkeys(left_id for left_id, _ in sorted(matches))))
    learned = _staged_linker(trained, staging, lexical, fusion, progress)
    pairs, labels = labelled_candidates(learned, listings, right, matches, skip)
    best = end_to_end_threshold(learned, pairs, labels, len(matches))
    pair_list_f1 = decided_f1(learned, pairs, labels, len(matches), trained.threshold)
    default = Linker(replace(untrained, scorer="hybrid"), lexical=lexical, progress=progress)
    base_pairs, base_labels = labelled_candidates(default, listings, right, matches, skip)
    untrained_f1 = decided_f1(default, base_pairs, base_labels, len(matches))
    untrained_best = end_to_end_threshold(default, base_pairs, base_labels, len(matches))
    everyone = left.select(list(dict.fromkeys(valid["left_id"])))
    all_pairs, all_labels = labelled_candidates(learned, everyone, right, matches, skip)
    all_best = end_to_end_threshold(learned, all_pairs, all_labels, len(matches))
    metrics = {
        "threshold": best.threshold,
        "how": HOW,
        "trained_f1": best.f1,
        "untrained_f1": untrained_f1,
        "untrained_best_f1": untrained_best.f1,
        "pair_list_threshold": trained.threshold,
        "pair_list_threshold_f1": pair_list_f1,
        "prior_shift_f1": _prior_shift_f1(learned, pairs, labels, train, len(matches)),
        "all_listings_threshold": all_best.threshold,
        "all_listings_f1": all_best.f1,
        "listings": len(listings),
        "candidates": len(pairs),
        "matches": len(matches),
        "worse_than_untrained": best.f1 < untrained_f1,
        "labels": LABELS,
    }
    return replace(trained, threshold=best.threshold), metrics


def _matches(pairs: pd.DataFrame) -> set[tuple[str, str]]:
    found = pairs[pairs["label"] == 1]
    return set(zip(found["left_id"].astype(str), found["right_id"].astype(str), strict=True))


def _staged_linker(
    settings: MatchSettings,
    staging: Path,
    lexical: SparseIndex,
    fusion: FusionHead | None,
    progress: bool,
) -> Linker:
    """A Linker scoring with the matcher being built (not yet a matcher folder): the hybrid
    linker's retrieval and signals, with the staged classifier (and cross-encoder) scoring."""
    from prodmatch.matcher.head import MatchHead

    linker = Linker(
        replace(settings, scorer="hybrid"), fusion=fusion, lexical=lexical, progress=progress
    )
    linker.head = MatchHead.load(staging / HEAD_DIR)
    if (staging / CROSS_DIR).is_dir():
        from prodmatch.rerank import Reranker

        linker.reranker = Reranker.load(staging / CROSS_DIR, device=settings.device)
    linker.settings = replace(linker.settings, scorer="learned")
    return linker


def _prior_shift_f1(
    linker: Linker,
    pairs: pd.DataFrame,
    labels: npt.NDArray[np.int64],
    train: pd.DataFrame,
    positives: int,
) -> float | None:
    """F1 at probability 0.5 after correcting the classifier from its training pairs' match
    share to the candidates' (known here from the labels: the most this correction could
    do), for comparison with the threshold chosen on the candidates."""
    pi_train = float((train["label"] == 1).mean())
    pi_new = positives / len(pairs) if len(pairs) else 0.0
    if not (0 < pi_train < 1 and 0 < pi_new < 1):
        return None
    shifted = pairs.assign(score=prior_shift(pairs["score"].to_numpy(), pi_train, pi_new))
    return decided_f1(linker, shifted, labels, positives, 0.5)
