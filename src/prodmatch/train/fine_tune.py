"""Full mode: fine-tune the transformer itself with a contrastive loss.

The loop is written out (rather than delegated to a trainer class) because it must checkpoint
mid-epoch and resume exactly: batches are a pure function of (seed, epoch), so after a restart
the run skips the batches it already did and continues with the same data, weights, optimiser
moments and random state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from torch import Tensor

from prodmatch.decide import best_threshold
from prodmatch.device import autocast, resolve_device
from prodmatch.encode.models import offline
from prodmatch.errors import ProdmatchError
from prodmatch.matcher.head import ProjectionHead
from prodmatch.train.augment import augment
from prodmatch.train.checkpoint import save_checkpoint
from prodmatch.train.clusters import ClusterBatchSampler, Clusters, build_clusters
from prodmatch.train.fingerprint import run_fingerprint
from prodmatch.train.layer_cache import freeze_lower_layers
from prodmatch.train.loop import close_epoch, resume_state, run_epochs
from prodmatch.train.losses import info_nce_loss, supcon_loss
from prodmatch.train.tuning_step import TuningStep

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

ContrastiveLoss = Literal["supcon", "infonce", "selfsup"]


@dataclass(frozen=True)
class FineTuneConfig:
    """Settings of a full fine-tuning run.

    max_seq_length: titles and the start of descriptions fit in 64 tokens; attention cost
    grows with length, so this is the main speed lever on a CPU.
    freeze_layers: embeddings and this many lower transformer layers stay fixed, and their
    output for each listing is computed once and cached (:mod:`prodmatch.train.layer_cache`),
    so a step runs only the layers above.
    queue_size: 0, or the number of momentum-encoded embeddings (with their clusters) that
    each batch is also contrasted with (MoCo, :mod:`prodmatch.train.queue`); supcon and
    infonce only, as the queue's masking needs clusters.
    momentum: how slowly the queue's encoder (a moving average of the trained one) follows.
    checkpoint_every: steps between checkpoints (also written at each epoch's end).
    """

    loss: ContrastiveLoss = "supcon"
    epochs: int = 5
    batch_size: int = 32
    lr: float = 5e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    temperature: float = 0.07
    max_seq_length: int = 64
    freeze_layers: int = 0
    patience: int = 2
    hard_negatives: bool = True
    checkpoint_every: int = 25
    seed: int = 0
    queue_size: int = 0
    momentum: float = 0.995

    def __post_init__(self) -> None:
        if self.loss not in ("supcon", "infonce", "selfsup"):
            raise ProdmatchError(f"loss must be supcon, infonce or selfsup; got {self.loss!r}")
        if self.epochs < 1 or self.batch_size < 2:
            raise ProdmatchError("need epochs >= 1 and batch_size >= 2")
        if self.freeze_layers < 0:
            raise ProdmatchError(f"--freeze-layers must be 0 or more, got {self.freeze_layers}")
        if self.queue_size < 0 or not 0.0 <= self.momentum < 1.0:
            raise ProdmatchError(
                f"need --queue-size >= 0 and 0 <= --momentum < 1; got {self.queue_size} "
                f"and {self.momentum}"
            )
        if self.queue_size and self.loss == "selfsup":
            raise ProdmatchError(
                "--queue-size needs product clusters to mask (--loss supcon or infonce); "
                "--loss selfsup has none"
            )


@dataclass
class Batch:
    """One step's data: anchors, and for pair losses their positives and hard negatives."""

    texts: list[str]
    labels: list[int] | None = None
    positives: list[str] | None = None
    negatives: list[str] | None = None
    negative_labels: list[int] | None = None


@dataclass
class FineTuneResult:
    model: SentenceTransformer
    metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class Listings:
    """Serialised texts of both catalogs' listings, by id."""

    left: dict[str, str]
    right: dict[str, str]


def fine_tune(
    model_path: Path,
    listings: Listings,
    train: pd.DataFrame | None,
    valid: pd.DataFrame | None,
    run_dir: Path,
    config: FineTuneConfig,
    *,
    mined_negatives: dict[str, list[str]] | None = None,
    progress: bool = True,
    stop_after_steps: int | None = None,
    device: str = "cpu",
) -> FineTuneResult:
    """Fine-tune the encoder at `model_path`; resumes from `run_dir` if a checkpoint is there.

    `train` (left_id, right_id, label) is needed for supcon and infonce; selfsup reads only
    the listings. `mined_negatives` (left id -> right ids that retrieval ranks high but are not
    known matches) add to the labelled non-matches as InfoNCE's hard negatives. `valid` pairs,
    when given, select the best epoch by the cosine's F1 and stop
    early. `stop_after_steps` ends the run early (without marking it done): tests use it to
    simulate an interruption. `device` (auto, cpu, cuda) is where it trains, with mixed
    precision on a GPU (`prodmatch.device`).
    """
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    device = resolve_device(device)
    model = _load_model(model_path, config, device)
    projection = ProjectionHead(_dim(model)).to(device)
    make_batches = _batch_maker(listings, train, config, mined_negatives or {})
    steps_per_epoch = len(make_batches(0))
    optimizer = _optimizer(model, projection, config)
    step = (
        TuningStep(
            model, projection, config, [*listings.left.values(), *listings.right.values()], run_dir
        )
        if config.freeze_layers or config.queue_size
        else None
    )
    modules: dict[str, torch.nn.Module] = {
        "encoder": model,
        "projection": projection,
        **(step.modules() if step is not None else {}),
    }
    fingerprint = run_fingerprint(model_path, listings, train, valid)
    state = resume_state(run_dir / "checkpoint", modules, optimizer, config, fingerprint)
    best_path = run_dir / "best.safetensors"

    started = [0.0]

    def epoch_batches(epoch: int) -> list[Batch]:
        model.train()  # validation left it in eval mode
        projection.train()
        started[0] = time.perf_counter()
        return make_batches(epoch)

    def end_epoch() -> None:
        steps_seconds = time.perf_counter() - started[0]
        _end_epoch(model, listings, valid, state, best_path, config)
        # the steps' time alone (no validation), by epoch: what the cache and the queue change
        state.setdefault("steps_seconds", []).append(round(steps_seconds, 2))

    finished = run_epochs(
        state,
        optimizer,
        epoch_batches,
        step.loss
        if step is not None
        else lambda batch: _loss(model, projection, batch, config, device),
        end_epoch,
        lambda: save_checkpoint(run_dir / "checkpoint", modules, optimizer, state),
        epochs=config.epochs,
        total_steps=steps_per_epoch * config.epochs,
        warmup_ratio=config.warmup_ratio,
        checkpoint_every=config.checkpoint_every,
        description="epoch",
        progress=progress,
        stop_after_steps=stop_after_steps,
    )
    if not finished:
        return FineTuneResult(model, {}, state["history"])
    if best_path.is_file():
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(best_path)))
    metrics = {
        "best_valid_f1": state["best_f1"],
        "best_epoch": float(state["best_epoch"]),
        "epochs_run": float(state["epoch"]),
        "steps": float(state["global_step"]),
        **{
            f"steps_seconds_epoch_{n}": seconds
            for n, seconds in enumerate(state.get("steps_seconds", []), start=1)
        },
    }
    return FineTuneResult(model, metrics, state["history"], time.perf_counter() - start)


# -- setup -------------------------------------------------------------------------------------


def _load_model(path: Path, config: FineTuneConfig, device: str) -> SentenceTransformer:
    offline()
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    model = SentenceTransformer(str(path), device=device)
    model.max_seq_length = config.max_seq_length
    if config.freeze_layers:
        freeze_lower_layers(model, config.freeze_layers)
    return model


def _dim(model: SentenceTransformer) -> int:
    dim = model.get_embedding_dimension()
    assert dim is not None
    return int(dim)


def _optimizer(
    model: SentenceTransformer, projection: ProjectionHead, config: FineTuneConfig
) -> torch.optim.Optimizer:
    trainable = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(
        [
            {"params": trainable, "lr": config.lr, "base_lr": config.lr},
            {
                "params": list(projection.parameters()),
                "lr": config.head_lr,
                "base_lr": config.head_lr,
            },
        ],
        weight_decay=config.weight_decay,
    )


# -- batches -----------------------------------------------------------------------------------


def _batch_maker(
    listings: Listings,
    train: pd.DataFrame | None,
    config: FineTuneConfig,
    mined: dict[str, list[str]],
) -> Callable[[int], list[Batch]]:
    if config.loss == "selfsup":
        return _selfsup_batches(listings, config)
    if train is None or not (train["label"] == 1).any():
        raise ProdmatchError(f"the {config.loss} loss needs labelled pairs with some matches")
    if config.loss == "supcon":
        return _supcon_batches(listings, train, config)
    return _infonce_batches(listings, train, config, mined)


def _supcon_batches(
    listings: Listings, train: pd.DataFrame, config: FineTuneConfig
) -> Callable[[int], list[Batch]]:
    """Batches of listings in which each product cluster (from train positives) stays whole."""
    clusters = build_clusters(train)
    sides, ids = clusters.sides()
    texts = [
        listings.left[i] if s == "left" else listings.right[i]
        for s, i in zip(sides, ids, strict=True)
    ]
    labels = clusters.labels.tolist()
    sampler = ClusterBatchSampler(clusters.labels, config.batch_size, seed=config.seed)

    def make(epoch: int) -> list[Batch]:
        # A batch of singletons has no positive pair: SupCon skips every anchor in it, so its
        # loss and gradient are zero and running it would only cost time.
        return [
            Batch([texts[i] for i in b], [labels[i] for i in b])
            for b in sampler.batches(epoch)
            if len({labels[i] for i in b}) < len(b)
        ]

    return make


def _infonce_batches(
    listings: Listings, train: pd.DataFrame, config: FineTuneConfig, mined: dict[str, list[str]]
) -> Callable[[int], list[Batch]]:
    """Batches of positive pairs, each anchor with one hard negative from its labelled
    non-matches; pairs of one product cluster are masked as non-negatives of each other."""
    clusters = build_clusters(train)
    positives = train[train["label"] == 1].reset_index(drop=True)
    negatives: dict[str, list[str]] = {}
    for left_id, right_id in train.loc[train["label"] == 0, ["left_id", "right_id"]].itertuples(
        index=False
    ):
        negatives.setdefault(str(left_id), []).append(str(right_id))
    for left_id, right_ids in mined.items():
        negatives.setdefault(left_id, []).extend(right_ids)
    labels = clusters.labels_of("left", list(positives["left_id"])).tolist()

    def make(epoch: int) -> list[Batch]:
        rng = np.random.default_rng([config.seed, epoch])
        order = rng.permutation(len(positives))
        batches = []
        for start in range(0, len(order), config.batch_size):
            rows = order[start : start + config.batch_size]
            if len(rows) < 2:
                continue
            batches.append(
                _pair_batch(positives, rows, labels, negatives, listings, clusters, rng, config)
            )
        return batches

    return make


def _pair_batch(
    positives: pd.DataFrame,
    rows: npt.NDArray[np.int64],
    labels: list[int],
    negatives: dict[str, list[str]],
    listings: Listings,
    clusters: Clusters,
    rng: np.random.Generator,
    config: FineTuneConfig,
) -> Batch:
    left_ids = [str(positives.at[r, "left_id"]) for r in rows]
    right_ids = [str(positives.at[r, "right_id"]) for r in rows]
    anchors = [listings.left[i] for i in left_ids]
    batch = Batch(anchors, [labels[r] for r in rows], [listings.right[i] for i in right_ids])
    if config.hard_negatives:
        picked = []
        for left_id in left_ids:
            options = negatives.get(left_id, [])
            if options:
                picked.append(options[int(rng.integers(0, len(options)))])
        if picked:
            batch.negatives = [listings.right[i] for i in picked]
            batch.negative_labels = [
                _cluster_or_unique(clusters, i, n) for n, i in enumerate(picked)
            ]
    return batch


def _cluster_or_unique(clusters: Clusters, right_id: str, n: int) -> int:
    """A negative's cluster, or a label of its own (< 0) when it is outside the train split."""
    try:
        return clusters.label("right", right_id)
    except KeyError:
        return -1 - n


def _selfsup_batches(listings: Listings, config: FineTuneConfig) -> Callable[[int], list[Batch]]:
    """Random batches of listings from both catalogs, each as two augmented views."""
    texts = list(listings.left.values()) + list(listings.right.values())

    def make(epoch: int) -> list[Batch]:
        rng = np.random.default_rng([config.seed, epoch])
        order = rng.permutation(len(texts))
        batches = []
        for start in range(0, len(order), config.batch_size):
            rows = order[start : start + config.batch_size]
            if len(rows) > 1:
                batches.append(
                    Batch(
                        [augment(texts[i], rng) for i in rows],
                        None,
                        [augment(texts[i], rng) for i in rows],
                    )
                )
        return batches

    return make


# -- steps -------------------------------------------------------------------------------------


def _embed(model: SentenceTransformer, projection: ProjectionHead, texts: Sequence[str]) -> Tensor:
    features = model.preprocess(list(texts))
    features = {k: v.to(model.device) if isinstance(v, Tensor) else v for k, v in features.items()}
    out: Tensor = projection(model(features)["sentence_embedding"])
    return out.float()  # the losses in float32, also under mixed precision


def _loss(
    model: SentenceTransformer,
    projection: ProjectionHead,
    batch: Batch,
    config: FineTuneConfig,
    device: str = "cpu",
) -> Tensor:
    with autocast(device, training=True):
        anchors = _embed(model, projection, batch.texts)
        positives = _embed(model, projection, batch.positives) if batch.positives else None
        negatives = _embed(model, projection, batch.negatives) if batch.negatives else None

    def labels(values: list[int] | None) -> Tensor | None:
        return torch.tensor(values, device=anchors.device) if values else None

    if config.loss == "supcon":
        assert batch.labels is not None
        supervised = torch.tensor(batch.labels, device=anchors.device)
        return supcon_loss(anchors, supervised, temperature=config.temperature)
    assert positives is not None
    return info_nce_loss(
        anchors,
        positives,
        temperature=config.temperature,
        hard_negatives=negatives,
        labels=labels(batch.labels),
        negative_labels=labels(batch.negative_labels),
    )


# -- validation --------------------------------------------------------------------------------


def _end_epoch(
    model: SentenceTransformer,
    listings: Listings,
    valid: pd.DataFrame | None,
    state: dict[str, Any],
    best_path: Path,
    config: FineTuneConfig,
) -> None:
    """Validate, keep the best weights, decide on early stopping, move to the next epoch."""
    from prodmatch.io import save_weights

    f1 = valid_f1(model, listings, valid) if valid is not None else math.nan
    if close_epoch(state, f1, config.patience):
        save_weights(model, best_path)


def valid_f1(model: SentenceTransformer, listings: Listings, valid: pd.DataFrame) -> float:
    """Best F1 of the encoder's cosine on validation pairs: the encoder's own quality."""
    left_ids = list(dict.fromkeys(valid["left_id"]))
    right_ids = list(dict.fromkeys(valid["right_id"]))
    model.eval()
    with torch.inference_mode():
        left = _encode(model, [listings.left[i] for i in left_ids])
        right = _encode(model, [listings.right[i] for i in right_ids])
    li = pd.Index(left_ids).get_indexer(pd.Index(valid["left_id"]))
    ri = pd.Index(right_ids).get_indexer(pd.Index(valid["right_id"]))
    cosine = np.einsum("ij,ij->i", left[li], right[ri])
    return best_threshold(cosine, valid["label"].to_numpy())[1]


def _encode(model: SentenceTransformer, texts: list[str]) -> npt.NDArray[np.float32]:
    vectors = model.encode(
        texts,
        batch_size=64,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)
