"""Training's fusion stage: a head joining frozen text and photo vectors, trained between
fine-tuning and the classifier when the catalogs have an image column."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.errors import ProdmatchError
from prodmatch.linker import Linker, Side
from prodmatch.matcher import FUSION_DIR, IMAGE_DIR
from prodmatch.retrieve import SparseIndex
from prodmatch.settings import MatchSettings
from prodmatch.train.fine_tune import FineTuneConfig
from prodmatch.train.image_block import IMAGE_WEIGHTS

if TYPE_CHECKING:
    from prodmatch.images.fusion import FusionHead
    from prodmatch.train.fusion_trainer import FusionInputs, FusionTrainingConfig

__all__ = ["choose_fusion_config", "fusion_stage", "require_labels"]

_VIEW_CHUNK = 64  # photos decoded and augmented at once for selfsup views


def choose_fusion_config(
    settings: MatchSettings, tune: FineTuneConfig, given: FusionTrainingConfig | None
) -> FusionTrainingConfig | None:
    """The fusion run's settings: None without an image column."""
    if settings.image_column is None:
        return None
    from prodmatch.train.fusion_trainer import FusionTrainingConfig

    return given or FusionTrainingConfig(loss=tune.loss, seed=tune.seed)


def fusion_stage(
    settings: MatchSettings,
    staging: Path,
    left: Catalog,
    right: Catalog,
    train: pd.DataFrame | None,
    valid: pd.DataFrame | None,
    config: FusionTrainingConfig,
    lexical: SparseIndex,
    progress: bool,
) -> tuple[MatchSettings, FusionHead, dict[str, Any]]:
    """Train the fusion head on the frozen text vectors (of the encoder just trained, if any)
    and photo vectors, save it in fusion/ (and a tuned image tower in image/), and return the
    settings to go on with, the head and its metrics."""
    from prodmatch.train.fusion_trainer import FusionInputs, train_fusion

    shutil.rmtree(staging / IMAGE_DIR, ignore_errors=True)  # a resumed run's old tower

    linker = Linker(replace(settings, scorer="hybrid"), lexical=lexical, progress=progress)
    if config.loss == "selfsup":
        left_side, right_side = linker.prepare(left, right)
    else:
        require_labels(train, config.loss)
        needed = pd.concat([train, valid]) if valid is not None else train
        assert needed is not None
        left_side, right_side = linker.prepare(
            left.select(list(dict.fromkeys(needed["left_id"]))),
            right.select(list(dict.fromkeys(needed["right_id"]))),
        )
    inputs = (FusionInputs.from_side(left_side), FusionInputs.from_side(right_side))
    views = (
        second_views(linker, left_side, right_side, config.seed)
        if config.loss == "selfsup"
        else None
    )
    result = train_fusion(
        *inputs,
        train,
        valid,
        config,
        views=views,
        image_weights=Path(settings.image_model) if settings.image_model else None,
        progress=progress,
    )
    result.head.save(staging / FUSION_DIR)
    if result.tower is not None:
        (staging / IMAGE_DIR).mkdir(parents=True, exist_ok=True)
        weights = result.tower.save(staging / IMAGE_DIR / IMAGE_WEIGHTS)
        settings = replace(settings, image_model=str(weights))
    elif settings.image_model and Path(settings.image_model).is_file():  # a user's weights
        # file (not a packaged model's name): the matcher keeps a copy,
        (staging / IMAGE_DIR).mkdir(parents=True, exist_ok=True)  # as it reads nothing outside
        weights = staging / IMAGE_DIR / Path(settings.image_model).name
        shutil.copyfile(settings.image_model, weights)
        settings = replace(settings, image_model=str(weights))
    return settings, result.head, {**result.metrics, "history": result.history}


def second_views(
    linker: Linker, left: Side, right: Side, seed: int
) -> tuple[FusionInputs, FusionInputs]:
    """For selfsup: each listing's text augmented and encoded, and its first photo
    augmented (crop, flip, colour jitter) and encoded."""
    from prodmatch.train.augment import augment
    from prodmatch.train.fusion_trainer import FusionInputs

    rng = np.random.default_rng([seed, 7])
    views = []
    for side in (left, right):
        texts = [augment(text, rng) for text in side.texts]
        text = linker.encoder.encode(texts, progress=linker.progress, description="encoding views")
        image, has_image = augmented_photos(linker, side, seed)
        views.append(FusionInputs(side.catalog.ids, text, image, has_image))
    return views[0], views[1]


def augmented_photos(
    linker: Linker, side: Side, seed: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Vectors of one augmented view of each listing's first photo (zeros where none)."""
    from prodmatch.images import ImageAugment, load_image

    assert side.image_paths is not None and side.image_vectors is not None
    encoder = linker.image_encoder
    augment = ImageAugment(seed=seed)
    out = np.zeros_like(side.image_vectors)
    has_image = np.zeros(len(out), dtype=bool)
    rows = [i for i, paths in enumerate(side.image_paths) if paths]
    for start in range(0, len(rows), _VIEW_CHUNK):
        chunk = rows[start : start + _VIEW_CHUNK]
        images = [load_image(side.image_paths[i][0]) for i in chunk]
        kept = [(i, image) for i, image in zip(chunk, images, strict=True) if image is not None]
        if kept:
            out[[i for i, _ in kept]] = encoder.encode_pil([augment(image) for _, image in kept])
            has_image[[i for i, _ in kept]] = True
    return out, has_image


def require_labels(train: pd.DataFrame | None, loss: str) -> None:
    if loss != "selfsup" and train is None:
        raise ProdmatchError(f"the {loss} loss needs labelled training pairs")
