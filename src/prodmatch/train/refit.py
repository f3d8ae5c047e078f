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
pairs it never learned; the seen/unseen figures on the given validation pairs stay those of
pairs the classifier never trained on.

The threshold is kept. It was chosen before the refit, end to end on the validation listings'
candidates (:mod:`prodmatch.train.end_to_end`), and no labelled pair is left that the refitted
classifier has not trained on (the validation listings are now training listings), so any
threshold re-derived afterwards would be read off pairs it learned: optimistic, with no way
to check. The same recipe on about 1.6 times the pairs gives probabilities on the same scale
(the same loss, epochs and match share, which the moved pairs share with the kept ones), so
the chosen cut carries over; the validation F1 recorded was measured before the refit, on the
classifier chosen, and ``prodmatch.json`` says so.

What is refitted: the projection and the classifier, in both modes. In full mode the
fine-tuned encoder, and in either mode a fusion head and a cross-encoder, keep the training
pairs of the split: refitting them would mean fine-tuning again (doubling the slowest stage),
then re-encoding every listing, and the classifier's epochs were chosen on the first
encoder's vectors.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.matcher import HEAD_DIR
from prodmatch.retrieve import SparseIndex
from prodmatch.settings import MatchSettings
from prodmatch.train.classifier_stage import prepared_pairs
from prodmatch.train.head_trainer import HeadTrainingConfig, pair_features, refit_head

if TYPE_CHECKING:
    from prodmatch.images.fusion import FusionHead

__all__ = ["NOT_REFITTED", "REFIT_PAIRS", "refit_line", "refit_pairs", "refit_stage"]

REFIT_PAIRS = "all the given training pairs; the given validation pairs are not trained on"
NOT_REFITTED = "the fine-tuned encoder, a fusion head and a cross-encoder keep the split's pairs"


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
    pairs: pd.DataFrame,
    config: HeadTrainingConfig | None,
    lexical: SparseIndex,
    progress: bool,
    fusion: FusionHead | None = None,
) -> dict[str, Any]:
    """Train the head staged in `staging` again on `pairs` (its epochs and threshold kept),
    replace it there, and return what ``prodmatch.json`` records of the refit."""
    from prodmatch.matcher.head import MatchHead

    start = time.perf_counter()
    chosen = MatchHead.load(staging / HEAD_DIR)
    linker, sides, vectors = prepared_pairs(settings, catalogs, [pairs], lexical, progress, fusion)
    features = pair_features(linker, *sides, pairs)
    result = refit_head(*vectors, features, chosen, config=config, progress=progress)
    result.head.save(staging / HEAD_DIR)
    projection_epochs, classifier_epochs = result.head.metadata["refit"]["epochs"]
    return {
        "pairs": len(pairs),
        "matches": int((pairs["label"] == 1).sum()),
        "which": REFIT_PAIRS,
        "projection_epochs": projection_epochs,
        "classifier_epochs": classifier_epochs,
        "threshold": "kept: chosen on validation before the refit",
        "validation_f1": "measured before the refit, on the classifier chosen",
        "not_refitted": NOT_REFITTED,
        "seconds": time.perf_counter() - start,
        "history": result.history,
    }


def refit_line(refit: dict[str, Any] | None) -> list[str]:
    """The model card's lines on a refit (none without one)."""
    if not refit:
        return []
    return [
        "",
        f"Refitted: once everything was chosen, the projection and classifier were trained "
        f"again on {refit['pairs']} pairs ({refit['matches']} matches: {refit['which']}) for "
        f"the epochs chosen ({refit['projection_epochs']} and {refit['classifier_epochs']}), "
        f"threshold kept; the validation figures below were measured before the refit, on "
        f"the classifier chosen ({refit['not_refitted']}).",
    ]
