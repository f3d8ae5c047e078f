"""Refit: the matcher chosen on unseen products, trained again on every training pair.

Choosing on products training never saw (:mod:`prodmatch.train.unseen`) moves whole products
out of the training pairs (on abt-buy 3,602 of the 5,743 remain). Like scikit-learn's
``refit=True`` after a search, once everything is chosen on those validation pairs (the
epochs each stage keeps, the threshold, the cross-encoder's blend, the signals the classifier
reads) the projection and the pair classifier are trained once more, with the chosen
configuration, seed and epoch counts and nothing chosen anew, on all the training pairs given:
the ones the split kept, the products it moved to validation and the pairs it dropped for
joining the two (``train --refit``, the default; ``--no-refit`` keeps the head chosen on).

Which pairs: the given *training* pairs, not the given validation pairs. The given validation
pairs stay untouched by the final matcher, so choosing a threshold on them afterwards (as
``evaluate pairs`` does, DeepMatcher's protocol) or checking the matcher on them still reads
pairs it never learned.

The threshold is carried over, not chosen again. It was chosen before the refit, end to end
on the validation listings' candidates (:mod:`prodmatch.train.end_to_end`); after it, the
moved products are training pairs, and the only labelled pairs the refit has not learned are
the given validation pairs, nearly all on products seen in training (choosing on those is
what unseen validation replaces). But the refit's pairs hold a smaller share of matches than
those chosen with (the unseen split moves out products with their matches: abt-buy 0.143 ->
0.107, amazon-google 0.158 -> 0.102), and a classifier trained with cross-entropy learns its
training share as its prior, so the same recipe scores every pair lower. The cut is
therefore restated under the new share, as Bayes' rule moves a probability between priors
(:func:`prodmatch.decide.prior.prior_shift`: the logit moves by the difference of the two
prior log-odds). It reads only the training pairs' label counts, and the one-to-one
assignment, which reads the order of the scores, accepts the same pairs as the chosen
classifier would where the refit's scores are its scores so restated (an assumption, not
measured apart). With a cross-encoder the threshold cuts the blend of both models, whose
weights were fitted on the chosen classifier's probabilities: it is kept as chosen. The
validation F1 recorded was measured before the refit, on the classifier chosen, and
``prodmatch.json`` says so (both thresholds are recorded).

What is refitted: the projection and the classifier, in both modes (the prior regression of
:mod:`prodmatch.train.prior_head`, which has no epochs, is fitted again on every pair). In
full mode the fine-tuned encoder, and in either mode a fusion head and a cross-encoder,
keep the training pairs of the split: refitting them would mean fine-tuning again (doubling
the slowest stage), then re-encoding every listing, and the classifier's epochs were chosen
on the first encoder's vectors.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.decide.prior import prior_shift
from prodmatch.matcher import CROSS_DIR, HEAD_DIR
from prodmatch.retrieve import SparseIndex
from prodmatch.settings import MatchSettings
from prodmatch.train.classifier_stage import prepared_pairs
from prodmatch.train.head_trainer import HeadTrainingConfig, pair_features, refit_head
from prodmatch.train.prior_head import PriorConfig, fit_prior_head, listing_products

if TYPE_CHECKING:
    from prodmatch.images.fusion import FusionHead

__all__ = [
    "KEPT",
    "NOT_REFITTED",
    "REFIT_PAIRS",
    "RESTATED",
    "refit_line",
    "refit_pairs",
    "refit_stage",
    "restated_threshold",
]

REFIT_PAIRS = "all the given training pairs; the given validation pairs are not trained on"
NOT_REFITTED = "the fine-tuned encoder, a fusion head and a cross-encoder keep the split's pairs"
RESTATED = "chosen before the refit, restated for the refit's match share (prior shift)"
KEPT = "chosen before the refit, kept: it cuts the blend with the cross-encoder"


def refit_pairs(given: pd.DataFrame | None, trained: pd.DataFrame | None) -> pd.DataFrame | None:
    """The pairs a refit trains on: the `given` training pairs, when the matcher was
    `trained` on fewer of them (products moved to validation, or a share held out); None
    when there is nothing to add (the refit would give the same head again)."""
    if given is None or trained is None or len(trained) >= len(given):
        return None
    return given


def refit_stage(
    settings: MatchSettings,
    staging: Path,
    catalogs: tuple[Catalog, Catalog],
    pairs: tuple[pd.DataFrame, pd.DataFrame],
    config: HeadTrainingConfig | PriorConfig | None,
    lexical: SparseIndex,
    progress: bool,
    fusion: FusionHead | None = None,
) -> tuple[MatchSettings, dict[str, Any]]:
    """Train the head staged in `staging` again on the second of `pairs` (the pairs chosen
    with, all the pairs) with its epochs, replace it there, and return the settings with the
    threshold carried over to it and what ``prodmatch.json`` records of the refit."""
    from prodmatch.matcher.head import MatchHead

    start = time.perf_counter()
    chosen_with, everything = pairs
    chosen = MatchHead.load(staging / HEAD_DIR)
    linker, sides, vectors = prepared_pairs(
        settings, catalogs, [everything], lexical, progress, fusion
    )
    features = pair_features(linker, *sides, everything)
    if isinstance(config, PriorConfig):  # no epochs: the same regression on every pair
        products = listing_products(*vectors, features)
        dim = vectors[0].vectors.shape[1]
        head = fit_prior_head(features, linker.settings, dim, config, products)
        head.metadata["refit"] = {"pairs": len(everything), "epochs": [None, None]}
        history: Any = []
    else:
        result = refit_head(*vectors, features, chosen, config=config, progress=progress)
        head, history = result.head, result.history
    shares = _match_share(chosen_with), _match_share(everything)
    blended = (staging / CROSS_DIR).is_dir()
    cut = settings.threshold
    threshold = cut if blended or cut is None else restated_threshold(cut, *shares)
    head.threshold = restated_threshold(chosen.threshold, *shares)
    head.save(staging / HEAD_DIR)
    projection_epochs, classifier_epochs = head.metadata["refit"]["epochs"]
    return replace(settings, threshold=threshold), {
        "pairs": len(everything),
        "matches": int((everything["label"] == 1).sum()),
        "which": REFIT_PAIRS,
        "projection_epochs": projection_epochs,
        "classifier_epochs": classifier_epochs,
        "match_share_chosen_with": shares[0],
        "match_share": shares[1],
        "chosen_threshold": settings.threshold,
        "threshold": threshold,
        "threshold_how": KEPT if blended else RESTATED,
        "validation_f1": "measured before the refit, on the classifier chosen",
        "not_refitted": NOT_REFITTED,
        "seconds": time.perf_counter() - start,
        "history": history,
    }


def _match_share(pairs: pd.DataFrame) -> float:
    return float((pairs["label"] == 1).mean())


def restated_threshold(threshold: float, chosen_share: float, share: float) -> float:
    """`threshold` of the classifier chosen, restated for the refit's match share."""
    if not (0.0 < chosen_share < 1.0 and 0.0 < share < 1.0) or not 0.0 < threshold < 1.0:
        return threshold  # a prior of 0 or 1, or a cut that accepts all or none: as it is
    return float(prior_shift([threshold], chosen_share, share)[0])


def refit_line(refit: dict[str, Any] | None) -> list[str]:
    """The model card's lines on a refit (none without one)."""
    if not refit:
        return []
    return [
        "",
        f"Refitted: once everything was chosen, the classifier was trained again on "
        f"{refit['pairs']} pairs ({refit['matches']} matches: {refit['which']}) "
        f"{refit_recipe(refit)}; threshold {refit['threshold']:.4f}: {refit['threshold_how']}. "
        f"The validation figures below were measured before the refit, on the classifier "
        f"chosen ({refit['not_refitted']}).",
    ]


def refit_recipe(refit: dict[str, Any]) -> str:
    """How the refit trained: the epochs chosen (the MLP head) or none (the regression)."""
    if refit["classifier_epochs"] is None:
        return "(the prior regression: no epochs to carry over)"
    return (
        f"with its projection, for the epochs chosen ({refit['projection_epochs']} and "
        f"{refit['classifier_epochs']})"
    )
