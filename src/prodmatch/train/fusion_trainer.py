"""Train the fusion head: frozen text and photo vectors in, one product vector out.

Both towers stay as they are (their vectors are cached), so this takes seconds. The head is
trained with the same contrastive losses as the text encoder:

- ``supcon``: cluster-whole batches of listings from both catalogs (training clusters only);
- ``infonce``: positive pairs against the batch, plus each anchor's labelled non-matches;
- ``selfsup``: no labels; each listing against a second view of itself, made of the vector of
  an augmented text and that of an augmented photo (crop, flip, colour jitter).

Three choices make a head trained on few labels safe to use:

- It starts as the text model: 2 x text-size units of the first layer copy the text vector
  and its negation, and the second layer adds them back (``relu(x) - relu(-x) = x``); the
  other units start with zero output weight. Untrained, the fused vector *is* the text
  vector.
- That structure stays pinned: the text path keeps copying the text, and the other units
  read the photo only (its scaled vector, or the missing-photo embedding). So the fused
  vector is the text vector plus a learned function of the photo, and training cannot
  re-learn the text space around the training products. Left free, it did: on synthetic
  catalogs of 600 products the fused cosine reached F1 0.95 on the training pairs and 0.65
  on valid, and the pair classifier, trained on those same pairs, fell from 0.83 valid F1
  (text alone) to 0.76; with the text path pinned but the other units reading text too,
  0.81; with units that read only the photo, 0.85.
- The best epoch on the validation pairs is kept, epoch 0 included, so photos are used only
  when they help there.

With ``image_block``, a second stage then trains the image tower's last block together with
the head, on photos encoded on the fly from fresh augmented views (see
:mod:`prodmatch.train.image_block`); it too keeps its best epoch, epoch 0 being the frozen
tower, so a tuned block is kept only if it does better on the validation pairs.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from torch import Tensor, nn

from prodmatch.decide import best_threshold
from prodmatch.errors import ProdmatchError
from prodmatch.images.fusion import FusionHead
from prodmatch.progress import progress_bar
from prodmatch.train.best import BestEpoch
from prodmatch.train.clusters import SideName, build_clusters, check_pairs, listing_key
from prodmatch.train.head_trainer import _threads
from prodmatch.train.losses import info_nce_loss
from prodmatch.train.steps import infonce_steps, supcon_steps

if TYPE_CHECKING:
    from prodmatch.linker import Side
    from prodmatch.train.image_block import LiveImages, TrainableTower

__all__ = [
    "FusionInputs",
    "FusionTrainingConfig",
    "FusionTrainingResult",
    "identity_start",
    "pin_text_path",
    "train_fusion",
]

FusionLoss = Literal["supcon", "infonce", "selfsup"]
FloatMatrix = npt.NDArray[np.float32]
BoolVector = npt.NDArray[np.bool_]

# One epoch of training: the losses of its batches, given the head and the epoch number.
_Steps = Callable[[FusionHead, int], Iterator[Tensor]]
_Drop = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class FusionTrainingConfig:
    """One fusion run. ``image_hidden`` units read the photo (beyond the 2 x text-size
    units that carry the text through); ``modality_dropout`` is the share of
    photos hidden per batch; ``threads`` are torch's CPU threads for the run (restored after;
    None keeps the setting). ``image_block`` adds ``block_epochs`` of training the image
    tower's last block (learning rate ``block_lr``) with the head, after its ``epochs``."""

    loss: FusionLoss = "supcon"
    epochs: int = 30
    lr: float = 1e-3
    batch_size: int = 128
    temperature: float = 0.07
    image_hidden: int = 128
    modality_dropout: float = 0.2
    weight_decay: float = 1e-4
    image_block: bool = False
    block_epochs: int = 3
    block_lr: float = 1e-4
    seed: int = 0
    threads: int | None = 1

    def __post_init__(self) -> None:
        if self.loss not in ("supcon", "infonce", "selfsup"):
            raise ProdmatchError(f"loss must be supcon, infonce or selfsup; got {self.loss!r}")
        if self.epochs < 0 or self.block_epochs < 0:
            raise ProdmatchError("need epochs >= 0 and block_epochs >= 0")
        if self.batch_size < 2 or self.image_hidden < 1:
            raise ProdmatchError("need batch_size >= 2 and image_hidden >= 1")
        if not 0.0 <= self.modality_dropout < 1.0:
            raise ProdmatchError(f"modality_dropout must be in [0, 1), got {self.modality_dropout}")


@dataclass(frozen=True, eq=False)
class FusionInputs:
    """Frozen inputs of one catalog's listings: row i of each array is ``ids[i]``.

    ``photos`` (each listing's first photo file, or None) are read only to train the image
    tower's last block."""

    ids: Sequence[str]
    text: FloatMatrix
    image: FloatMatrix
    has_image: BoolVector
    photos: Sequence[Path | None] | None = None

    def __post_init__(self) -> None:
        n = len(self.ids)
        if not len(self.text) == len(self.image) == len(self.has_image) == n:
            raise ProdmatchError(f"need one text and one image vector per id ({n} ids)")

    @classmethod
    def from_side(cls, side: Side) -> FusionInputs:
        """What a Linker prepared without fusion: text vectors and photo vectors."""
        if side.vectors is None or side.image_vectors is None or side.has_image is None:
            raise ProdmatchError(f"{side.catalog.name}: text and images must both be encoded")
        photos = [paths[0] if paths else None for paths in side.image_paths or []]
        return cls(side.catalog.ids, side.vectors, side.image_vectors, side.has_image, photos)


@dataclass
class FusionTrainingResult:
    """The trained head; ``metrics``: text_f1 (the text cosine's best F1 on valid, i.e. the
    untrained head), f1 (the fused cosine's, at the kept epoch) and epoch (0: text alone was
    not beaten); with ``image_block``, block_epoch (0: the frozen tower was not beaten, and
    ``tower`` is None)."""

    head: FusionHead
    metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    tower: TrainableTower | None = None


def identity_start(text_dim: int, image_dim: int, image_hidden: int = 128) -> FusionHead:
    """A fusion head whose output is exactly the normalised text vector until trained."""
    head = FusionHead(text_dim, image_dim, out_dim=text_dim, hidden_dim=2 * text_dim + image_hidden)
    pin_text_path(head)
    last = head.net[-1]
    assert isinstance(last, nn.Linear)
    with torch.no_grad():
        last.weight[:, 2 * text_dim :].zero_()
        last.bias.zero_()
    return head


def pin_text_path(head: FusionHead) -> None:
    """Put the head back into its pinned structure (see the module docstring): the first
    2 x text-size units copy the text ([I; -I] in, [I, -I] out) and read no photo; the
    other units read no text."""
    first, last, t = head.net[0], head.net[-1], head.text_dim
    assert isinstance(first, nn.Linear) and isinstance(last, nn.Linear)
    eye = torch.eye(t)
    with torch.no_grad():
        first.weight[: 2 * t].zero_()
        first.weight[:t, :t] = eye
        first.weight[t : 2 * t, :t] = -eye
        first.bias[: 2 * t].zero_()
        first.weight[2 * t :, :t].zero_()
        last.weight[:, :t] = eye
        last.weight[:, t : 2 * t] = -eye


def train_fusion(
    left: FusionInputs,
    right: FusionInputs,
    train: pd.DataFrame | None,
    valid: pd.DataFrame | None,
    config: FusionTrainingConfig | None = None,
    *,
    views: tuple[FusionInputs, FusionInputs] | None = None,
    image_weights: Path | None = None,
    progress: bool = True,
) -> FusionTrainingResult:
    """Train a :class:`FusionHead` on frozen vectors; ``train``/``valid`` have columns
    left_id, right_id, label. ``views`` (second views of ``left`` and ``right``, row for row)
    are needed for selfsup, which reads no labels; ``valid``, when it has a match, selects
    the epoch. ``image_weights``: the EfficientNet-Lite0 state dict whose last block
    ``image_block`` trains (default: the packaged one; it must be what made ``image``)."""
    cfg = config or FusionTrainingConfig()
    if cfg.loss != "selfsup" and (train is None or not (train["label"] == 1).any()):
        raise ProdmatchError(f"the {cfg.loss} loss needs labelled training pairs with a match")
    if cfg.loss == "selfsup" and views is None:
        raise ProdmatchError("the selfsup loss needs a second view of every listing")
    table = _InputRows.build(left, right)
    second = _InputRows.build(*views) if views is not None else None
    judge = _Judge.build(table, valid)
    history: list[dict[str, float]] = []
    with torch.random.fork_rng(devices=[]), _threads(cfg.threads):
        torch.manual_seed(cfg.seed)
        head = identity_start(left.text.shape[1], left.image.shape[1], cfg.image_hidden)
        steps = _steps(cfg, table, train, second)
        optimizer = _optimizer(cfg, head.parameters())
        epoch = _fit(head, [], optimizer, steps, judge, cfg.epochs, history, progress)
        metrics = {"epoch": float(epoch)}
        if judge.active:
            metrics.update(text_f1=history[0]["valid_f1"], f1=judge.f1(head))
        tower = _block_stage(
            cfg, head, (table, second), train, judge, history, metrics, image_weights, progress
        )
    return FusionTrainingResult(head, metrics, history, tower)


def _optimizer(cfg: FusionTrainingConfig, *groups: Iterable[nn.Parameter]) -> torch.optim.AdamW:
    """AdamW over the head (``lr``) and, if given, the image block (``block_lr``)."""
    rates = (cfg.lr, cfg.block_lr)
    params = [
        {"params": list(group), "lr": rate}
        for group, rate in zip(groups, rates[: len(groups)], strict=True)
    ]
    return torch.optim.AdamW(params, weight_decay=cfg.weight_decay)


def _block_stage(
    cfg: FusionTrainingConfig,
    head: FusionHead,
    tables: tuple[_InputRows, _InputRows | None],
    train: pd.DataFrame | None,
    judge: _Judge,
    history: list[dict[str, float]],
    metrics: dict[str, float],
    weights: Path | None,
    progress: bool,
) -> TrainableTower | None:
    """With ``image_block``: train the tower's last block and the head on live photos.

    Returns the tower if a tuned epoch beat the frozen tower on valid (or, without valid
    pairs, after the last epoch), else None and the head as it was."""
    if not cfg.image_block or cfg.block_epochs == 0:
        return None
    from prodmatch.train.image_block import LiveImages, TrainableTower

    table, second = tables
    tower = TrainableTower(weights)
    live = table.with_live(LiveImages(tower, table.photos, seed=cfg.seed))
    second_live = second.with_live(live.live) if second is not None else None
    steps = _steps(cfg, live, train, second_live)
    block = [p for p in tower.parameters() if p.requires_grad]
    optimizer = _optimizer(cfg, head.parameters(), block)
    rows: list[dict[str, float]] = []
    epoch = _fit(head, block, optimizer, steps, judge.on(live), cfg.block_epochs, rows, progress)
    history.extend({**row, "stage_block": 1.0} for row in rows)
    metrics["block_epoch"] = float(epoch)
    if judge.active:
        metrics["block_f1"] = rows[epoch]["valid_f1"]
    return tower if epoch > 0 else None


# -- the loop ------------------------------------------------------------------------------------


def _fit(
    head: FusionHead,
    extra: list[nn.Parameter],
    optimizer: torch.optim.Optimizer,
    steps: _Steps,
    judge: _Judge,
    epochs: int,
    history: list[dict[str, float]],
    progress: bool,
) -> int:
    """Train in place; keep the best epoch on valid (the last one without valid pairs).

    ``extra`` are more trained parameters (the image block), kept with the head's."""
    # without valid pairs (F1 NaN to the tracker) every epoch counts as the best: the last
    best: BestEpoch[tuple[dict[str, Tensor], list[Tensor]]] = BestEpoch()
    f1 = judge.f1(head)
    best.update(0, judge.f1_or_nan(f1), lambda: _snapshot(head, extra))
    history.append(_row(0, judge.score(f1), []))
    with progress_bar("training fusion", epochs, unit="epochs", enabled=progress) as advance:
        for epoch in range(1, epochs + 1):
            head.train()
            losses = []
            for loss in steps(head, epoch):
                optimizer.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                pin_text_path(head)
                losses.append(loss.item())
            f1 = judge.f1(head)
            history.append(_row(epoch, judge.score(f1), losses))
            best.update(epoch, judge.f1_or_nan(f1), lambda: _snapshot(head, extra))
            advance(1)
    assert best.kept is not None
    head.load_state_dict(best.kept[0])
    with torch.no_grad():
        for parameter, kept in zip(extra, best.kept[1], strict=True):
            parameter.copy_(kept)
    head.eval()
    return best.best_epoch


def _snapshot(
    head: FusionHead, extra: list[nn.Parameter]
) -> tuple[dict[str, Tensor], list[Tensor]]:
    return copy.deepcopy(head.state_dict()), [p.detach().clone() for p in extra]


@dataclass(frozen=True, eq=False)
class _InputRows:
    """Every listing the run reads, left then right: inputs by row, rows by listing key.

    ``live`` computes image vectors on the fly (training the image block) instead of reading
    the frozen ones."""

    text: Tensor
    image: Tensor
    has: Tensor
    rows: dict[str, int]
    photos: list[Path | None]
    live: LiveImages | None = None

    @classmethod
    def build(cls, left: FusionInputs, right: FusionInputs) -> _InputRows:
        keys = [listing_key("left", i) for i in left.ids]
        keys += [listing_key("right", i) for i in right.ids]
        photos = [*(left.photos or [None] * len(left.ids))]
        photos += [*(right.photos or [None] * len(right.ids))]
        return cls(
            text=torch.as_tensor(np.concatenate([left.text, right.text]), dtype=torch.float32),
            image=torch.as_tensor(np.concatenate([left.image, right.image]), dtype=torch.float32),
            has=torch.as_tensor(
                np.concatenate([left.has_image, right.has_image]), dtype=torch.bool
            ),
            rows={key: i for i, key in enumerate(keys)},
            photos=photos,
        )

    def with_live(self, live: LiveImages | None) -> _InputRows:
        return replace(self, live=live)

    def find(self, side: SideName, ids: Sequence[str]) -> Tensor:
        """Rows of listings of one side; an unknown id is an error naming it."""
        try:
            return torch.as_tensor([self.rows[listing_key(side, str(i))] for i in ids])
        except KeyError as error:
            raise ProdmatchError(f"{side} listing {error.args[0][2:]!r} has no vectors") from None

    def fuse(self, head: FusionHead, rows: Tensor, drop: _Drop | None = None) -> Tensor:
        """Fused vectors of ``rows`` (photos hidden by ``drop`` in training)."""
        has = self.has[rows]
        out: Tensor = head(
            self.text[rows], self.images(rows, training=head.training), drop(has) if drop else has
        )
        return out

    def images(self, rows: Tensor, *, training: bool) -> Tensor:
        if self.live is None:
            return self.image[rows]
        dim = self.image.shape[1]
        if training:
            return self.live.training_vectors(rows, dim)
        return self.live.plain_vectors(rows, dim)


@dataclass(frozen=True)
class _Judge:
    """Scores a head by the best F1 of its fused cosine on the validation pairs."""

    table: _InputRows | None
    left: Tensor | None
    right: Tensor | None
    labels: npt.NDArray[np.int64] | None

    @classmethod
    def build(cls, table: _InputRows, valid: pd.DataFrame | None) -> _Judge:
        if valid is None or not (valid["label"] == 1).any():
            return cls(None, None, None, None)
        check_pairs(valid, "valid pairs")
        return cls(
            table,
            table.find("left", list(valid["left_id"].astype(str))),
            table.find("right", list(valid["right_id"].astype(str))),
            valid["label"].to_numpy(dtype=np.int64),
        )

    def on(self, table: _InputRows) -> _Judge:
        """The same pairs, read from another table (live photos)."""
        return replace(self, table=table) if self.active else self

    @property
    def active(self) -> bool:
        return self.labels is not None

    def score(self, f1: float) -> float | None:
        return f1 if self.active else None

    def f1_or_nan(self, f1: float) -> float:
        """F1 as :class:`~prodmatch.train.best.BestEpoch` reads it: NaN without valid pairs."""
        return f1 if self.active else math.nan

    def f1(self, head: FusionHead) -> float:
        if self.table is None or self.left is None or self.right is None or self.labels is None:
            return 0.0
        head.eval()
        with torch.no_grad():
            cosine = (self.table.fuse(head, self.left) * self.table.fuse(head, self.right)).sum(
                dim=1
            )
        return best_threshold(cosine.numpy(), self.labels)[1]


def _steps(
    cfg: FusionTrainingConfig,
    table: _InputRows,
    train: pd.DataFrame | None,
    second: _InputRows | None,
) -> _Steps:
    """An epoch's steps: selfsup's here, SupCon's and InfoNCE's from
    :mod:`prodmatch.train.steps`, a listing being its row of the table, fused by the head
    (with photos hidden at random, seeded by epoch)."""
    if cfg.loss == "selfsup":
        assert second is not None
        return _selfsup_steps(table, second, cfg)
    assert train is not None
    check_pairs(train, "train pairs")

    def embed_for(head: FusionHead, epoch: int) -> Callable[[Tensor], Tensor]:
        drop = _dropper(cfg, epoch)
        return lambda rows: table.fuse(head, rows, drop)

    build = supcon_steps if cfg.loss == "supcon" else partial(infonce_steps, train=train)
    steps: _Steps = build(
        clusters=build_clusters(train),
        handles_of=table.find,
        embed_for=embed_for,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        temperature=cfg.temperature,
    )
    return steps


def _selfsup_steps(table: _InputRows, second: _InputRows, cfg: FusionTrainingConfig) -> _Steps:
    """InfoNCE between each listing and its second view; other listings are the negatives.

    Nothing says two listings are one product, so none are masked: as in the text encoder's
    self-supervised mode, a rare duplicate inside a batch costs a little noise.
    """
    if second.rows != table.rows:
        raise ProdmatchError("the second views must match the listings row for row")

    def steps(head: FusionHead, epoch: int) -> Iterator[Tensor]:
        drop = _dropper(cfg, epoch)
        order = np.random.default_rng([cfg.seed, epoch]).permutation(len(table.rows))
        for start in range(0, len(order), cfg.batch_size):
            batch = torch.as_tensor(order[start : start + cfg.batch_size])
            if len(batch) < 2:
                continue
            yield info_nce_loss(
                table.fuse(head, batch, drop),
                second.fuse(head, batch, drop),
                temperature=cfg.temperature,
            )

    return steps


# -- small helpers -------------------------------------------------------------------------------


def _dropper(cfg: FusionTrainingConfig, epoch: int) -> _Drop:
    """Hides each photo with probability ``modality_dropout`` (seeded by epoch)."""
    generator = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)

    def drop(has: Tensor) -> Tensor:
        if cfg.modality_dropout == 0:
            return has
        keep = torch.rand(len(has), generator=generator) >= cfg.modality_dropout
        return has & keep

    return drop


def _row(epoch: int, f1: float | None, losses: list[float]) -> dict[str, float]:
    """One history row, without NaN (JSON has none): no F1 without valid pairs, no loss at
    epoch 0."""
    row = {"epoch": float(epoch)}
    if f1 is not None:
        row["valid_f1"] = f1
    if losses:
        row["loss"] = float(np.mean(losses))
    return row
