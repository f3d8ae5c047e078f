"""Training's last stages: the pair classifier on frozen (or fused) listing vectors and the
threshold chosen on the validation pairs, or the threshold alone without labels; then the
optional cross-encoder, blended with the classifier."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.decide import best_threshold
from prodmatch.encode.models import resolve_model_path
from prodmatch.linker import Linker, Side
from prodmatch.matcher import CROSS_DIR, HEAD_DIR
from prodmatch.retrieve import SparseIndex
from prodmatch.settings import MatchSettings
from prodmatch.train.fine_tune import Listings
from prodmatch.train.head_trainer import (
    HeadTrainingConfig,
    ListingVectors,
    head_probabilities,
    pair_features,
    train_head,
)
from prodmatch.train.prior_head import PriorConfig, train_prior_head

if TYPE_CHECKING:
    from prodmatch.images.fusion import FusionHead
    from prodmatch.train.cross_trainer import CrossTrainingConfig

__all__ = [
    "EXTRA_COLUMNS",
    "IMAGE_COLUMNS",
    "cross_stage",
    "decide_stage",
    "prepared_pairs",
    "threshold_only",
]

# The classifier's scalar signals. The attribute signals (`prodmatch.text.attributes`) that
# earned a place on validation pairs of unseen products, abt-buy and amazon-google, by
# `bench/choose_signals.py --add all --seeds 0,1` (bench/results/signals.json): price (ratio
# and missing flag), year, edition and platform together raised the mean validation F1 from
# 0.609 to 0.652 (amazon-google 0.423 -> 0.511, abt-buy 0.795 -> 0.794); brand and units
# alone lowered it, so they are left out.
EXTRA_COLUMNS = (
    "dense",
    "sparse",
    "code_agreement",
    "code_variant",
    "price_ratio",
    "price_missing",
    "year_agreement",
    "edition_agreement",
    "platform_agreement",
)
IMAGE_COLUMNS = ("image", "image_both")


def decide_stage(
    settings: MatchSettings,
    staging: Path,
    left: Catalog,
    right: Catalog,
    train: pd.DataFrame | None,
    valid: pd.DataFrame | None,
    config: HeadTrainingConfig | PriorConfig | None,
    lexical: SparseIndex,
    progress: bool,
    fusion: FusionHead | None = None,
    parts: dict[str, pd.DataFrame] | None = None,
) -> tuple[MatchSettings, dict[str, Any], npt.NDArray[np.float64] | None]:
    """Train the head on frozen embeddings (fused ones with a fusion head) when labels exist
    (`config` a `PriorConfig`: the few-label regression of `prodmatch.train.prior_head`),
    and return its probabilities on valid too; else pick a threshold. `parts` (validation
    pairs on seen and on unseen products, by name) are scored at the chosen threshold and
    reported under their names in the head's metrics; they choose nothing."""
    if train is None or valid is None or not (train["label"] == 1).any():
        return (*threshold_only(settings, left, right, valid, lexical, progress, fusion), None)
    parts = parts or {}
    linker, (left_side, right_side), vectors = prepared_pairs(
        settings, (left, right), [train, valid, *parts.values()], lexical, progress, fusion
    )
    valid_features = pair_features(linker, left_side, right_side, valid)
    train_features = pair_features(linker, left_side, right_side, train)
    if isinstance(config, PriorConfig):  # few labels: the regression toward the hybrid
        hybrid = linker.settings  # the untrained scorer the regression starts from
        result = train_prior_head(*vectors, train_features, valid_features, hybrid, config)
    else:
        result = train_head(
            *vectors,
            train_features,
            valid_features,
            extra_columns=EXTRA_COLUMNS + (IMAGE_COLUMNS if settings.image_column else ()),
            config=config,
            progress=progress,
        )
    result.head.save(staging / HEAD_DIR)
    learned = replace(settings, scorer="learned", threshold=result.threshold)
    head_valid = head_probabilities(result.head, *vectors, valid_features)
    metrics: dict[str, Any] = dict(result.metrics)
    for name, pairs in parts.items():
        scores = (
            head_probabilities(
                result.head, *vectors, pair_features(linker, left_side, right_side, pairs)
            )
            if len(pairs)
            else np.zeros(0)
        )
        metrics[name] = part_scores(scores, pairs["label"].to_numpy(), result.threshold)
    return learned, {"head": metrics, "head_history": result.history}, head_valid


def prepared_pairs(
    settings: MatchSettings,
    catalogs: tuple[Catalog, Catalog],
    frames: list[pd.DataFrame],
    lexical: SparseIndex,
    progress: bool,
    fusion: FusionHead | None = None,
) -> tuple[Linker, tuple[Side, Side], tuple[ListingVectors, ListingVectors]]:
    """The hybrid linker the classifier's signals come from, the two sides it prepared for
    the listings of `frames`' pairs, and their (fused) vectors."""
    needed = pd.concat(frames)
    left, right = catalogs
    linker = Linker(
        replace(settings, scorer="hybrid"), progress=progress, fusion=fusion, lexical=lexical
    )
    sides = linker.prepare(
        left.select(list(dict.fromkeys(needed["left_id"]))),
        right.select(list(dict.fromkeys(needed["right_id"]))),
    )
    return linker, sides, (ListingVectors.from_side(sides[0]), ListingVectors.from_side(sides[1]))


def part_scores(
    scores: npt.NDArray[np.float64], labels: npt.NDArray[np.int64], threshold: float
) -> dict[str, float]:
    """F1, precision and recall of `scores` at `threshold`, with the counts they rest on
    (a part with no match has no F1: NaN is not JSON, so it is left out)."""
    predicted, actual = scores >= threshold, labels == 1
    hits = int((predicted & actual).sum())
    found: dict[str, float] = {"pairs": float(len(labels)), "matches": float(actual.sum())}
    if actual.any():
        precision = hits / predicted.sum() if predicted.any() else 0.0
        recall = hits / actual.sum()
        found["precision"], found["recall"] = float(precision), float(recall)
        found["f1"] = float(2 * precision * recall / (precision + recall)) if hits else 0.0
    return found


def cross_stage(
    settings: MatchSettings,
    staging: Path,
    listings: Listings,
    labelled: tuple[pd.DataFrame, pd.DataFrame, npt.NDArray[np.float64]],
    config: CrossTrainingConfig,
    progress: bool,
) -> tuple[MatchSettings, dict[str, Any]]:
    """Train the cross-encoder on the matcher's encoder, blend it with the classifier on valid
    (train, valid, and the classifier's valid probabilities in `labelled`), save it in cross/
    and return the settings with the blended threshold."""
    from prodmatch.rerank import Reranker, fit_blend
    from prodmatch.train.cross_trainer import train_cross_encoder

    train, valid, head_valid = labelled
    encoder = resolve_model_path(settings.model)  # the matcher's encoder, or the packaged one
    result = train_cross_encoder(
        encoder,
        listings,
        train,
        valid,
        staging.parent,
        config,
        progress=progress,
        device=settings.device,
    )
    assert result.valid_logits is not None
    labels = valid["label"].to_numpy()
    blend = fit_blend(head_valid, result.valid_logits, labels)
    # the threshold is chosen on valid scored as matching will score it: below the floor,
    # the classifier alone
    read = head_valid >= settings.rerank_floor
    cross = np.where(read, result.valid_logits, blend.settled_cross)
    threshold, f1 = best_threshold(blend.combine(head_valid, cross), labels)
    Reranker(result.model, blend).save(staging / CROSS_DIR)
    metrics = {
        **result.metrics,
        "blend_f1": f1,
        "threshold": threshold,
        "blend": asdict(blend),
        "seconds": result.seconds,
        "history": result.history,
    }
    return replace(settings, threshold=threshold), metrics


def threshold_only(
    settings: MatchSettings,
    left: Catalog,
    right: Catalog,
    valid: pd.DataFrame | None,
    lexical: SparseIndex,
    progress: bool,
    fusion: FusionHead | None = None,
) -> tuple[MatchSettings, dict[str, Any]]:
    """No labels to train a classifier: keep the hybrid score, threshold from valid if any."""
    if valid is None or not (valid["label"] == 1).any():
        return settings, {}
    linker = Linker(settings, progress=progress, fusion=fusion, lexical=lexical)
    left_side, right_side = linker.prepare(
        left.select(list(dict.fromkeys(valid["left_id"]))),
        right.select(list(dict.fromkeys(valid["right_id"]))),
    )
    scores = linker.score_id_pairs(left_side, right_side, valid)
    threshold, f1 = best_threshold(scores, valid["label"])
    return replace(settings, threshold=threshold), {"valid": {"f1": f1, "threshold": threshold}}
