"""`train_matcher`: labelled pairs (or none) in, a trained matcher folder out.

The steps: optionally fine-tune the encoder (full mode), encode every listing with it, train
the projection head and pair classifier on frozen embeddings (head mode, the last step of
both modes), choose the threshold on the validation pairs, and write one folder.

With an image column, a fusion head is trained between the two (with the same contrastive
loss, on the frozen text and photo vectors) and the listing vectors that the projection, the
classifier and retrieval read are the fused ones; the classifier also reads the photo signals
"image" and "image_both".
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.decide import best_threshold
from prodmatch.encode.models import packaged_name, require_torch_weights, resolve_model_path
from prodmatch.errors import ProdmatchError
from prodmatch.linker import Linker, Side, with_ids
from prodmatch.matcher import (
    CROSS_DIR,
    ENCODER_DIR,
    FUSION_DIR,
    HEAD_DIR,
    IMAGE_DIR,
    LEXICAL_DIR,
    check_output,
    write_matcher,
)
from prodmatch.retrieve import SparseIndex
from prodmatch.settings import MatchSettings
from prodmatch.train.clusters import build_clusters
from prodmatch.train.fine_tune import FineTuneConfig, Listings, fine_tune
from prodmatch.train.head_trainer import (
    HeadTrainingConfig,
    ListingVectors,
    pair_features,
    score_pairs,
    train_head,
)
from prodmatch.train.image_block import IMAGE_WEIGHTS
from prodmatch.train.split import VALID_FRACTION, validation_line, validation_pairs

if TYPE_CHECKING:
    from prodmatch.images.fusion import FusionHead
    from prodmatch.train.cross_trainer import CrossTrainingConfig
    from prodmatch.train.fusion_trainer import FusionInputs, FusionTrainingConfig

Mode = Literal["head", "full"]
EXTRA_COLUMNS = ("dense", "sparse", "code_agreement", "code_variant")
IMAGE_COLUMNS = ("image", "image_both")
MINED_PER_LISTING = 5
PARTIAL_MARK = ".prodmatch-training"  # marks <output>.partial/ as training's own
_VIEW_CHUNK = 64  # photos decoded and augmented at once for selfsup views


@dataclass
class TrainReport:
    folder: Path
    metrics: dict[str, Any]
    seconds: float


def train_matcher(
    left: Catalog,
    right: Catalog,
    train: pd.DataFrame | None,
    valid: pd.DataFrame | None,
    output: Path,
    *,
    mode: Mode = "full",
    settings: MatchSettings | None = None,
    fine_tune_config: FineTuneConfig | None = None,
    head_config: HeadTrainingConfig | None = None,
    fusion_config: FusionTrainingConfig | None = None,
    cross_config: CrossTrainingConfig | None = None,
    progress: bool = True,
    overwrite: bool = False,
    restart: bool = False,
    hold_out: float | None = VALID_FRACTION,
) -> TrainReport:
    """Train a matcher for `left` x `right` and write it to `output`.

    `train`/`valid` have columns left_id, right_id, label. With `fine_tune_config.loss ==
    "selfsup"` no labels are needed for the encoder; the head is then trained only if labelled
    pairs are given. An interrupted full run resumes from `<output>.partial/` when the same
    command is run again. With `settings.image_column`, a fusion head is trained too
    (`fusion_config`, by default with the fine-tuning loss and seed). With `cross_config`, a
    cross-encoder is trained last (on the encoder just trained) to re-read the pairs the
    classifier is unsure of, and blended with it on the validation pairs.

    `output` must be new, an empty folder, or (with `overwrite`) a matcher to replace; any
    other folder is refused before training starts, and never deleted.

    A checkpoint is resumed only by the run that wrote it: same configuration, same data
    (catalog texts and pairs) and same base model weights; any other is refused with a line
    that says how to start over. `restart` discards `<output>.partial/` first.

    Without `valid`, the share `hold_out` of the labelled `train` pairs is held out for
    validation (:func:`prodmatch.train.split.split_validation`); None trains without any
    (no pair classifier then, and every stage keeps its last epoch).
    """
    start = time.perf_counter()
    base = settings or MatchSettings()
    tune = fine_tune_config or FineTuneConfig()
    train, valid, validation = validation_pairs(left, right, train, valid, tune.seed, hold_out)
    output = Path(output)
    check_output(output, overwrite=overwrite)
    partial = output.with_name(output.name + ".partial")
    if restart and (partial / PARTIAL_MARK).is_file():
        shutil.rmtree(partial)  # only our own checkpoints live there
    partial = _claim_partial(partial)
    staging = partial / "matcher"
    staging.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, Any] = {}
    lexical = _fit_lexical(base, left, right)
    lexical.save(staging / LEXICAL_DIR)
    # the texts the transformers read, by id: fine-tuning and the cross-encoder both need them
    listings = (
        _listings(Linker(base, progress=False), left, right)
        if mode == "full" or cross_config is not None
        else None
    )
    if mode == "full":
        require_torch_weights(base.model, "fine-tuning (--mode full)")
        assert listings is not None
        mined = (
            _mined_negatives(base, left, right, train, lexical, progress)
            if _mines(tune, train)
            else {}
        )
        result = fine_tune(
            resolve_model_path(base.model),
            listings,
            train,
            valid,
            partial,
            tune,
            mined_negatives=mined,
            progress=progress,
        )
        shutil.rmtree(staging / ENCODER_DIR, ignore_errors=True)
        result.model.save(str(staging / ENCODER_DIR))
        metrics["fine_tune"] = {
            **result.metrics,
            "seconds": result.seconds,
            "history": result.history,
        }
        base = replace(base, max_seq_length=tune.max_seq_length)
    packaged = None
    if mode == "head":
        # the encoder stays as it is: a packaged one is named in prodmatch.json (not copied:
        # it is installed anyway), a local model folder is copied, as the matcher reads nothing
        # outside itself
        shutil.rmtree(staging / ENCODER_DIR, ignore_errors=True)
        packaged = packaged_name(base.model)
        if packaged is None:
            shutil.copytree(resolve_model_path(base.model), staging / ENCODER_DIR)
    trained = replace(base, model=packaged or str(staging / ENCODER_DIR))
    fusion, fusing = None, _fusion_config(trained, tune, fusion_config)
    if fusing is not None:
        trained, fusion, metrics["fusion"] = _fusion_stage(
            trained, staging, left, right, train, valid, fusing, lexical, progress
        )
    trained, head_metrics, head_valid = _decide_stage(
        trained, staging, left, right, train, valid, head_config, lexical, progress, fusion
    )
    metrics.update(head_metrics)
    shutil.rmtree(staging / CROSS_DIR, ignore_errors=True)
    if cross_config is not None:
        require_torch_weights(trained.model, "a cross-encoder")
        if head_valid is None:
            raise ProdmatchError("the cross-encoder needs labelled training and validation pairs")
        assert train is not None and valid is not None and listings is not None
        trained, metrics["cross_encoder"] = _cross_stage(  # on the matcher's encoder
            trained, staging, listings, (train, valid, head_valid), cross_config, progress
        )
    seconds = time.perf_counter() - start
    saved = replace(trained, model=".", image_model=_relative(trained.image_model, staging))
    info = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "base_model": (settings or MatchSettings()).model,
        "packaged_encoder": packaged,
        "mode": mode,
        "fine_tune": asdict(tune) if mode == "full" else None,
        "head": asdict(head_config or HeadTrainingConfig()),
        "fusion": asdict(fusing) if fusing is not None else None,
        "cross_encoder": asdict(cross_config) if cross_config is not None else None,
        "settings": saved.to_dict(),
        "train_pairs": 0 if train is None else len(train),
        "valid_pairs": 0 if valid is None else len(valid),
        "validation": validation,
        "metrics": metrics,
        "seconds": seconds,
    }
    write_matcher(staging, output, info, model_card(info), overwrite=overwrite)
    shutil.rmtree(partial, ignore_errors=True)
    return TrainReport(output, metrics, seconds)


def _claim_partial(partial: Path) -> Path:
    """The folder that keeps checkpoints and the matcher being built, marked as prodmatch's
    own: it is deleted when training ends, so a folder of the user's by that name is refused."""
    mark = partial / PARTIAL_MARK
    if partial.is_symlink() or (partial.exists() and not partial.is_dir()):
        raise ProdmatchError(f"{partial}: exists and is not a folder; training keeps its work here")
    if partial.is_dir() and any(partial.iterdir()) and not mark.is_file():
        raise ProdmatchError(
            f"{partial}: a folder that is not prodmatch's work in progress; training keeps its "
            "checkpoints there and deletes it when done, so move it away or choose another -o"
        )
    partial.mkdir(parents=True, exist_ok=True)
    mark.touch()
    return partial


def _listings(linker: Linker, left: Catalog, right: Catalog) -> Listings:
    """The tagged texts the encoder reads, by id, exactly as matching serialises them."""
    left_side, right_side = linker.side(left), linker.side(right)
    return Listings(
        left=dict(zip(left.ids, left_side.texts, strict=True)),
        right=dict(zip(right.ids, right_side.texts, strict=True)),
    )


def _fit_lexical(settings: MatchSettings, left: Catalog, right: Catalog) -> SparseIndex:
    """The TF-IDF vocabulary and IDF of the whole training catalogs (no labels read), fitted
    once: every stage below scores `sparse` through it and the matcher keeps it, so a pair's
    `sparse` value at match time is the one the classifier and threshold learned from."""
    linker = Linker(settings, progress=False)
    return SparseIndex([text for side in (left, right) for text in linker.side(side).plain])


def _mines(config: FineTuneConfig, train: pd.DataFrame | None) -> bool:
    return config.loss == "infonce" and config.hard_negatives and train is not None


def _mined_negatives(
    settings: MatchSettings,
    left: Catalog,
    right: Catalog,
    train: pd.DataFrame | None,
    lexical: SparseIndex,
    progress: bool,
) -> dict[str, list[str]]:
    """Top retrieval candidates of each train listing that are not known matches.

    These are what the matcher will confuse at match time; a known match (same train cluster)
    is never used as a negative.
    """
    assert train is not None
    clusters = build_clusters(train)
    linker = Linker(settings, lexical=lexical, progress=progress)
    left_side, right_side = linker.prepare(
        left.select(list(dict.fromkeys(train["left_id"]))), right
    )
    candidates = with_ids(linker.candidates(left_side, right_side), left_side, right_side)
    mined: dict[str, list[str]] = {}
    for left_id, group in candidates.groupby("left_id", sort=False):
        mine = clusters.label("left", str(left_id))
        found = [
            r for r in group.sort_values("rank")["right_id"] if _cluster(clusters, str(r)) != mine
        ]
        mined[str(left_id)] = found[:MINED_PER_LISTING]
    return mined


def _cluster(clusters: Any, right_id: str) -> int:
    try:
        return int(clusters.label("right", right_id))
    except KeyError:
        return -1


def _fusion_config(
    settings: MatchSettings, tune: FineTuneConfig, given: FusionTrainingConfig | None
) -> FusionTrainingConfig | None:
    """The fusion run's settings: None without an image column."""
    if settings.image_column is None:
        return None
    from prodmatch.train.fusion_trainer import FusionTrainingConfig

    return given or FusionTrainingConfig(loss=tune.loss, seed=tune.seed)


def _fusion_stage(
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
        _second_views(linker, left_side, right_side, config.seed)
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


def _relative(path: str | None, folder: Path) -> str | None:
    """A file inside the matcher as a path relative to it (the folder moves when written)."""
    if path is None or not Path(path).is_relative_to(folder):
        return path
    return str(Path(path).relative_to(folder))


def _second_views(
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
        image, has_image = _augmented_photos(linker, side, seed)
        views.append(FusionInputs(side.catalog.ids, text, image, has_image))
    return views[0], views[1]


def _augmented_photos(
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


def _decide_stage(
    settings: MatchSettings,
    staging: Path,
    left: Catalog,
    right: Catalog,
    train: pd.DataFrame | None,
    valid: pd.DataFrame | None,
    config: HeadTrainingConfig | None,
    lexical: SparseIndex,
    progress: bool,
    fusion: FusionHead | None = None,
) -> tuple[MatchSettings, dict[str, Any], npt.NDArray[np.float64] | None]:
    """Train the head on frozen embeddings (fused ones with a fusion head) when labels exist,
    and return its probabilities on valid too; else pick a threshold."""
    if train is None or valid is None or not (train["label"] == 1).any():
        return (*_threshold_only(settings, left, right, valid, lexical, progress, fusion), None)
    needed = pd.concat([train, valid])
    hybrid = replace(settings, scorer="hybrid")
    linker = Linker(hybrid, progress=progress, fusion=fusion, lexical=lexical)
    left_side, right_side = linker.prepare(
        left.select(list(dict.fromkeys(needed["left_id"]))),
        right.select(list(dict.fromkeys(needed["right_id"]))),
    )
    vectors = ListingVectors.from_side(left_side), ListingVectors.from_side(right_side)
    valid_features = pair_features(linker, left_side, right_side, valid)
    result = train_head(
        *vectors,
        pair_features(linker, left_side, right_side, train),
        valid_features,
        extra_columns=EXTRA_COLUMNS + (IMAGE_COLUMNS if settings.image_column else ()),
        config=config,
        progress=progress,
    )
    result.head.save(staging / HEAD_DIR)
    learned = replace(settings, scorer="learned", threshold=result.threshold)
    head_valid = score_pairs(result.head, *vectors, valid_features)
    return learned, {"head": result.metrics, "head_history": result.history}, head_valid


def _cross_stage(
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
        encoder, listings, train, valid, staging.parent, config, progress=progress
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


def _threshold_only(
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


def model_card(info: dict[str, Any]) -> str:
    """A short README for the folder: what it is, how it was made, how well it did."""
    metrics = info["metrics"]
    head = metrics.get("head", {})
    lines = [
        "# prodmatch matcher",
        "",
        f"Trained {info['created']} from `{info['base_model']}` in **{info['mode']}** mode"
        + (f" with the **{info['fine_tune']['loss']}** loss" if info["fine_tune"] else "")
        + ("" if info["fine_tune"] else _head_run(info["head"]))
        + f", on {info['train_pairs']} labelled pairs ({info['valid_pairs']} for validation),"
        f" in {info['seconds']:.0f} s.",
        *validation_line(info.get("validation", {})),
        "",
        "Use it with any prodmatch command: `prodmatch match LEFT RIGHT -o out.csv --model "
        "THIS_FOLDER`.",
        "",
        "## Validation",
        "",
    ]
    if head:
        nan = float("nan")
        lines += [
            f"- pair classifier: F1 {head.get('f1', nan):.4f}, precision "
            f"{head.get('precision', nan):.4f}, recall {head.get('recall', nan):.4f}"
            f" at threshold {info['settings']['threshold']:.4f}",
            f"- cosine of the input embeddings (before the head): best F1 "
            f"{head.get('baseline_f1', nan):.4f}",
        ]
    if info["fine_tune"]:
        tune = metrics["fine_tune"]
        lines.append(
            f"- fine-tuned encoder cosine: best F1 {tune['best_valid_f1']:.4f} at epoch "
            f"{tune['best_epoch']:.0f} of {tune['epochs_run']:.0f}"
        )
    cross = metrics.get("cross_encoder", {})
    if cross:
        lines.append(
            f"- with the cross-encoder (epoch {cross['best_epoch']:.0f} of "
            f"{cross['epochs_run']:.0f}; alone: best F1 {cross['best_valid_f1']:.4f}): F1 "
            f"{cross['blend_f1']:.4f} at threshold {info['settings']['threshold']:.4f}"
        )
    fusion = metrics.get("fusion", {})
    if "f1" in fusion:
        lines.append(
            f"- text and photo fused: cosine best F1 {fusion['f1']:.4f} (text alone "
            f"{fusion['text_f1']:.4f}; epoch {fusion['epoch']:.0f} kept, 0 = text alone)"
        )
    if not head and not info["fine_tune"] and not fusion:
        lines.append("- no validation pairs were given")
    lines += [
        "",
        "## Files",
        "",
        "- `prodmatch.json`: settings, training configuration, metrics",
        (
            f"- no `encoder/`: the encoder is the packaged `{info['packaged_encoder']}`, unchanged"
            if info.get("packaged_encoder")
            else "- `encoder/`: sentence-transformers encoder (safetensors)"
        ),
        "- `head/`: projection head and pair classifier (safetensors + JSON)",
        "- `lexical/`: the TF-IDF vocabulary (JSON) and IDF (safetensors) of the training"
        " catalogs, behind the `sparse` signal",
    ]
    if info.get("fusion"):
        column = info["settings"]["image_column"]
        lines.append(
            f"- `fusion/`: fusion head joining text and EfficientNet-Lite0 photo vectors "
            f"(safetensors + JSON); photos are read from the column `{column}`"
        )
    if cross:
        lines.append(
            "- `cross/`: cross-encoder (transformer and tokenizer in safetensors, output layer,"
            " `blend.json`: how its logit joins the classifier's)"
        )
    image_model = info["settings"].get("image_model") or ""
    if image_model == f"{IMAGE_DIR}/{IMAGE_WEIGHTS}":
        lines.append("- `image/`: the image encoder with its last block fine-tuned (safetensors)")
    elif image_model:
        lines.append(f"- `{image_model}`: the image encoder's weights, as given (safetensors)")
    return "\n".join([*lines, ""])


def _head_run(head: dict[str, Any]) -> str:
    """Head mode's training as run (the options --loss, --epochs, ... set these)."""
    return (
        f" (projection head: **{head['loss']}** loss, {head['projection_epochs']} epochs at "
        f"most, batch {head['batch_size']}, temperature {head['temperature']}, seed "
        f"{head['seed']})"
    )


def require_labels(train: pd.DataFrame | None, loss: str) -> None:
    if loss != "selfsup" and train is None:
        raise ProdmatchError(f"the {loss} loss needs labelled training pairs")
