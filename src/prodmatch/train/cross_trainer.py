"""Train the cross-encoder that re-reads doubtful pairs (see :mod:`prodmatch.rerank`).

Binary cross-entropy on the labelled training pairs, each pair read as one sequence, with the
positives weighted up by the ratio of negatives to positives (benchmark pair sets hold about
one match in ten). Each pair is read in a random order (left first or right first), so the
model learns a symmetric relation and also serves deduplication. The schedule is the usual
fine-tuning one: linear warm-up, linear decay.

Like full fine-tuning, the loop checkpoints every few steps and at each epoch's end, and the
batches are a pure function of (seed, epoch), so a run that is stopped (Ctrl-C or a kill)
resumes where it was with nothing lost. After each epoch the validation pairs are scored; the
epoch with the best F1 is kept, with its validation logits, from which the blend with the pair
classifier is fitted.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from prodmatch.decide import best_threshold
from prodmatch.device import autocast, resolve_device
from prodmatch.errors import ProdmatchError
from prodmatch.rerank.cross_encoder import CrossEncoder
from prodmatch.train.checkpoint import save_checkpoint
from prodmatch.train.fine_tune import Listings
from prodmatch.train.fingerprint import run_fingerprint
from prodmatch.train.loop import close_epoch, resume_state, run_epochs

__all__ = ["CrossTrainingConfig", "CrossTrainingResult", "train_cross_encoder"]

Pair = tuple[str, str, int]
_POOL = 50  # batches sorted by length together: similar lengths, still random batches


@dataclass(frozen=True)
class CrossTrainingConfig:
    """Settings of a cross-encoder run.

    max_seq_length: tokens for both listings together; 128 holds two titles with the start of
    their descriptions. A step of 16 pairs at 128 tokens takes about a second with MiniLM on
    two cores, so an epoch over 6,000 pairs takes about 7 minutes.
    """

    epochs: int = 3
    batch_size: int = 16
    lr: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_seq_length: int = 128
    patience: int = 1
    checkpoint_every: int = 50
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.max_seq_length < 8:
            raise ProdmatchError("need epochs >= 1, batch_size >= 1 and max_seq_length >= 8")


@dataclass
class CrossTrainingResult:
    model: CrossEncoder
    valid_logits: npt.NDArray[np.float64] | None
    metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def train_cross_encoder(
    model_path: Path,
    listings: Listings,
    train: pd.DataFrame,
    valid: pd.DataFrame | None,
    run_dir: Path,
    config: CrossTrainingConfig,
    *,
    progress: bool = True,
    stop_after_steps: int | None = None,
    device: str = "cpu",
) -> CrossTrainingResult:
    """Train a cross-encoder on the transformer at `model_path`; resumes from `run_dir`.

    `train`/`valid` have columns left_id, right_id, label. `stop_after_steps` ends the run
    early (without marking it done): tests use it to simulate an interruption. `device`
    (auto, cpu, cuda) is where it trains, with mixed precision on a GPU (`prodmatch.device`).
    """
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    pairs = _pairs(train, listings)
    if not any(label for _, _, label in pairs):
        raise ProdmatchError("the cross-encoder needs labelled training pairs with some matches")
    device = resolve_device(device)
    model = CrossEncoder.from_encoder(model_path, config.max_seq_length).on(device)
    model.train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    for group in optimizer.param_groups:
        group["base_lr"] = config.lr
    loss_fn = torch.nn.BCEWithLogitsLoss(
        pos_weight=torch.tensor(_positive_weight(pairs), device=device)
    )

    def batch_loss(batch: tuple[list[str], list[str], torch.Tensor]) -> torch.Tensor:
        with autocast(device, training=True):
            loss: torch.Tensor = loss_fn(
                model(model.tokenize(batch[0], batch[1])), batch[2].to(device)
            )
        return loss

    modules: dict[str, torch.nn.Module] = {"cross": model}
    fingerprint = run_fingerprint(model_path, listings, train, valid)
    state = resume_state(run_dir / "cross-checkpoint", modules, optimizer, config, fingerprint)
    best = run_dir / "cross-best.safetensors"
    finished = run_epochs(
        state,
        optimizer,
        lambda epoch: _batches(pairs, epoch, config),
        batch_loss,
        lambda: _end_epoch(model, listings, valid, state, best, config, progress),
        lambda: save_checkpoint(run_dir / "cross-checkpoint", modules, optimizer, state),
        epochs=config.epochs,
        total_steps=math.ceil(len(pairs) / config.batch_size) * config.epochs,
        warmup_ratio=config.warmup_ratio,
        checkpoint_every=config.checkpoint_every,
        description="cross-encoder epoch",
        progress=progress,
        stop_after_steps=stop_after_steps,
        clip_norm=1.0,
    )
    if not finished:
        return CrossTrainingResult(model, None, {}, state["history"])
    valid_logits = _restore_best(model, best)
    metrics = {
        "best_valid_f1": state["best_f1"],
        "best_epoch": float(state["best_epoch"]),
        "epochs_run": float(state["epoch"]),
        "steps": float(state["global_step"]),
    }
    return CrossTrainingResult(
        model, valid_logits, metrics, state["history"], time.perf_counter() - start
    )


def pair_texts(frame: pd.DataFrame, listings: Listings) -> tuple[list[str], list[str]]:
    """The texts of labelled pairs given by id, left and right."""
    try:
        left = [listings.left[str(i)] for i in frame["left_id"]]
        right = [listings.right[str(i)] for i in frame["right_id"]]
    except KeyError as error:
        raise ProdmatchError(f"pair id {error} is not in the catalogs") from None
    return left, right


def _pairs(train: pd.DataFrame, listings: Listings) -> list[Pair]:
    left, right = pair_texts(train, listings)
    return list(zip(left, right, train["label"].astype(int).tolist(), strict=True))


def _positive_weight(pairs: list[Pair]) -> float:
    positives = sum(label for _, _, label in pairs)
    return max(1.0, (len(pairs) - positives) / max(1, positives))


def _batches(
    pairs: list[Pair], epoch: int, config: CrossTrainingConfig
) -> list[tuple[list[str], list[str], torch.Tensor]]:
    """The epoch's batches, the same for (seed, epoch): shuffled, then sorted by length within
    pools of `_POOL` batches so each batch pads to similar lengths (attention cost grows with
    the longest pair), then the batches shuffled again. Each pair is read in a random order."""
    rng = np.random.default_rng([config.seed, epoch])
    order = rng.permutation(len(pairs))
    swap = rng.random(len(pairs)) < 0.5
    lengths = np.array([len(a) + len(b) for a, b, _ in pairs])
    pool = _POOL * config.batch_size
    chunks = []
    for start in range(0, len(order), pool):
        rows = order[start : start + pool]
        rows = rows[np.argsort(lengths[rows], kind="stable")]
        chunks += [rows[i : i + config.batch_size] for i in range(0, len(rows), config.batch_size)]
    batches = []
    for b in rng.permutation(len(chunks)):
        firsts, seconds = [], []
        for r in chunks[b]:
            a, c, _ = pairs[r]
            firsts.append(c if swap[r] else a)
            seconds.append(a if swap[r] else c)
        labels = torch.tensor([float(pairs[r][2]) for r in chunks[b]])
        batches.append((firsts, seconds, labels))
    return batches


def _end_epoch(
    model: CrossEncoder,
    listings: Listings,
    valid: pd.DataFrame | None,
    state: dict[str, Any],
    best: Path,
    config: CrossTrainingConfig,
    progress: bool,
) -> None:
    """Score valid, keep the best weights and their valid logits, decide on early stopping."""
    from prodmatch.io import save_weights

    logits = None
    f1 = math.nan
    if valid is not None and len(valid):
        left, right = pair_texts(valid, listings)
        logits = model.logits(left, right, progress=progress)
        f1 = best_threshold(logits, valid["label"].to_numpy())[1]
    if close_epoch(state, f1, config.patience):
        extra = {} if logits is None else {"_valid_logits": torch.from_numpy(logits)}
        save_weights(model, best, extra=extra)


def _restore_best(model: CrossEncoder, best: Path) -> npt.NDArray[np.float64] | None:
    """Load the best epoch's weights into `model`; return its validation logits, if any."""
    if not best.is_file():
        return None
    from safetensors.torch import load_file

    tensors = load_file(str(best))
    logits = tensors.pop("_valid_logits", None)
    model.load_state_dict(tensors)
    model.eval()
    return None if logits is None else logits.double().numpy()
