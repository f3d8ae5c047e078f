"""`train_matcher`: labelled pairs (or none) in, a trained matcher folder out.

The steps: optionally fine-tune the encoder (full mode), encode every listing with it, train
the projection head and pair classifier on frozen embeddings (head mode, the last step of
both modes), choose the threshold on the candidates matching retrieves for the validation
listings (compared there with the untrained default, `end_to_end`), and write one folder.

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

import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.encode.models import packaged_name, require_torch_weights, resolve_model_path
from prodmatch.errors import ProdmatchError
from prodmatch.linker import Linker
from prodmatch.matcher import CROSS_DIR, ENCODER_DIR, LEXICAL_DIR, check_output, write_matcher
from prodmatch.settings import MatchSettings
from prodmatch.train.classifier_stage import EXTRA_COLUMNS, IMAGE_COLUMNS, cross_stage, decide_stage
from prodmatch.train.end_to_end import end_to_end_stage
from prodmatch.train.fine_tune import FineTuneConfig, fine_tune
from prodmatch.train.fusion_stage import choose_fusion_config, fusion_stage, require_labels
from prodmatch.train.head_trainer import HeadTrainingConfig
from prodmatch.train.inputs import fit_lexical, mined_negatives, mines, training_listings
from prodmatch.train.model_card import model_card
from prodmatch.train.prior_head import PriorConfig
from prodmatch.train.refit import refit_pairs, refit_stage
from prodmatch.train.split import VALID_FRACTION, validation_pairs
from prodmatch.train.unseen import ValidSplit

if TYPE_CHECKING:
    from prodmatch.train.cross_trainer import CrossTrainingConfig
    from prodmatch.train.fusion_trainer import FusionTrainingConfig

__all__ = [
    "EXTRA_COLUMNS",
    "IMAGE_COLUMNS",
    "PARTIAL_MARK",
    "Mode",
    "TrainReport",
    "model_card",
    "require_labels",
    "train_matcher",
]

Mode = Literal["head", "full"]
PARTIAL_MARK = ".prodmatch-training"  # marks <output>.partial/ as training's own


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
    head_config: HeadTrainingConfig | PriorConfig | None = None,
    fusion_config: FusionTrainingConfig | None = None,
    cross_config: CrossTrainingConfig | None = None,
    progress: bool = True,
    overwrite: bool = False,
    restart: bool = False,
    hold_out: float | None = VALID_FRACTION,
    valid_split: ValidSplit = "unseen",
    refit: bool = True,
) -> TrainReport:
    """Train a matcher for `left` x `right` and write it to `output`.

    `train`/`valid` have columns left_id, right_id, label. With `fine_tune_config.loss ==
    "selfsup"` no labels are needed for the encoder; the head is then trained only if labelled
    pairs are given. An interrupted full run resumes from `<output>.partial/` when the same
    command is run again. With `settings.image_column`, a fusion head is trained too
    (`fusion_config`, by default with the fine-tuning loss and seed). With `cross_config`, a
    cross-encoder is trained last (on the encoder just trained) to re-read the pairs the
    classifier is unsure of, and blended with it on the validation pairs. A `PriorConfig` as
    `head_config` trains the few-label classifier (`prodmatch.train.prior_head`) instead of
    the projection and MLP.

    `output` must be new, an empty folder, or (with `overwrite`) a matcher to replace; any
    other folder is refused before training starts, and never deleted.

    A checkpoint is resumed only by the run that wrote it: same configuration, same data
    (catalog texts and pairs) and same base model weights; any other is refused with a line
    that says how to start over. `restart` discards `<output>.partial/` first.

    Without `valid`, the share `hold_out` of the labelled `train` pairs is held out for
    validation (:func:`prodmatch.train.split.split_validation`); None trains without any
    (no pair classifier then, and every stage keeps its last epoch).

    `valid_split` "unseen" (the default) chooses thresholds, epochs and blends on validation
    pairs of products that training never saw, moving whole products out of `train` where
    the given `valid` has too few (:mod:`prodmatch.train.unseen`); "given" chooses on the
    given pairs. Either way the classifier's F1 is reported on the validation pairs on seen
    and on unseen products apart (``metrics["head"]["seen"]``, ``["unseen"]``).

    `refit` (the default): when validation took pairs out of `train` (products moved to
    validation, or a share held out), the projection and classifier are trained again on all
    of `train` once everything is chosen, with the chosen epochs and threshold
    (:mod:`prodmatch.train.refit`; ``metrics["refit"]``); False keeps the head chosen on.
    """
    start = time.perf_counter()
    base = base_input = settings or MatchSettings()
    tune = fine_tune_config or FineTuneConfig()
    output = Path(output)
    check_output(output, overwrite=overwrite)  # refused before anything is said or done
    given = train
    train, valid, parts, validation = validation_pairs(
        left, right, train, valid, tune.seed, hold_out, valid_split
    )
    partial = output.with_name(output.name + ".partial")
    if restart and (partial / PARTIAL_MARK).is_file():
        shutil.rmtree(partial)  # only our own checkpoints live there
    partial = _claim_partial(partial)
    staging = partial / "matcher"
    staging.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, Any] = {}
    lexical = fit_lexical(base, left, right)
    lexical.save(staging / LEXICAL_DIR)
    # the texts the transformers read, by id: fine-tuning and the cross-encoder both need them
    listings = (
        training_listings(Linker(base, progress=False), left, right)
        if mode == "full" or cross_config is not None
        else None
    )
    if mode == "full":
        require_torch_weights(base.model, "fine-tuning (--mode full)")
        assert listings is not None
        mined = (
            mined_negatives(base, left, right, train, lexical, progress)
            if mines(tune, train)
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
            device=base.device,
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
    fusion, fusing = None, choose_fusion_config(trained, tune, fusion_config)
    if fusing is not None:
        trained, fusion, metrics["fusion"] = fusion_stage(
            trained, staging, left, right, train, valid, fusing, lexical, progress
        )
    trained, head_metrics, head_valid = decide_stage(
        trained, staging, left, right, train, valid, head_config, lexical, progress, fusion, parts
    )
    metrics.update(head_metrics)
    shutil.rmtree(staging / CROSS_DIR, ignore_errors=True)
    if cross_config is not None:
        require_torch_weights(trained.model, "a cross-encoder")
        if head_valid is None:
            raise ProdmatchError("the cross-encoder needs labelled training and validation pairs")
        assert train is not None and valid is not None and listings is not None
        trained, metrics["cross_encoder"] = cross_stage(  # on the matcher's encoder
            trained, staging, listings, (train, valid, head_valid), cross_config, progress
        )
    if head_valid is not None:  # a classifier was trained: its threshold fits matching
        assert train is not None and valid is not None
        trained, metrics["end_to_end"] = end_to_end_stage(
            trained, base_input, staging, (left, right, train, valid), lexical, progress, fusion
        )
    everything = refit_pairs(given, train) if refit and head_valid is not None else None
    if everything is not None:  # after every choice: nothing is chosen on what it adds
        assert train is not None
        trained, metrics["refit"] = refit_stage(
            trained,
            staging,
            (left, right),
            (train, everything),
            head_config,
            lexical,
            progress,
            fusion,
        )
    seconds = time.perf_counter() - start
    saved = replace(  # a matcher runs wherever it is loaded: no device of the training machine
        trained, model=".", image_model=_relative(trained.image_model, staging), device="auto"
    )
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
        "train_pairs": _count(train),
        "valid_pairs": _count(valid),
        "valid_split": valid_split,
        "refit": refit,
        "final_pairs": len(everything) if everything is not None else _count(train),
        "validation": validation,
        "metrics": metrics,
        "seconds": seconds,
    }
    write_matcher(staging, output, info, model_card(info), overwrite=overwrite)
    shutil.rmtree(partial, ignore_errors=True)
    return TrainReport(output, metrics, seconds)


def _count(pairs: pd.DataFrame | None) -> int:
    """How many pairs a stage read, as ``prodmatch.json`` counts them (0 for none)."""
    return 0 if pairs is None else len(pairs)


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


def _relative(path: str | None, folder: Path) -> str | None:
    """A file inside the matcher as a path relative to it (the folder moves when written)."""
    if path is None or not Path(path).is_relative_to(folder):
        return path
    return str(Path(path).relative_to(folder))
