"""Train the fusion head: frozen text and photo vectors in, one product vector out.

Both towers stay as they are (their vectors are cached), so this takes seconds. The head is
trained with the same contrastive losses as the text encoder:

- ``supcon``: cluster-whole batches of listings from both catalogs (training clusters only);
- ``infonce``: positive pairs against the batch, plus each anchor's labelled non-matches;
- ``selfsup``: no labels; each listing against a second view of itself, made of the vector of
  an augmented text and that of an augmented photo (crop, flip, colour jitter).

Two choices make a head trained on few labels safe to use:

- It starts as the text model: half of the first layer's units copy the text vector, half
  its negation, and the second layer adds them back (``relu(x) - relu(-x) = x``); the units
  that read the photo start with zero output weight. Untrained, the fused vector *is* the
  text vector, and training only adds what the photos bring. The best epoch on the
  validation pairs is kept, epoch 0 included, so images are used only when they help there.
- A share of photos is hidden in every batch (modality dropout), so the learned
  missing-photo embedding is trained to land a listing without a photo where the same
  product with one lands.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from torch import Tensor

from prodmatch.decide import best_threshold
from prodmatch.errors import ProdmatchError
from prodmatch.images.fusion import FusionHead
from prodmatch.progress import progress_bar
from prodmatch.train.clusters import ClusterBatchSampler, Clusters, build_clusters, check_pairs
from prodmatch.train.head_trainer import _threads
from prodmatch.train.losses import info_nce_loss, supcon_loss

if TYPE_CHECKING:
    from prodmatch.linker import Side

__all__ = [
    "FusionInputs",
    "FusionTrainingConfig",
    "FusionTrainingResult",
    "identity_start",
    "train_fusion",
]

FusionLoss = Literal["supcon", "infonce", "selfsup"]
FloatMatrix = npt.NDArray[np.float32]
BoolVector = npt.NDArray[np.bool_]

# One epoch of training: the losses of its batches, given the head and the epoch number.
_Steps = Callable[[FusionHead, int], Iterator[Tensor]]


@dataclass(frozen=True)
class FusionTrainingConfig:
    """One fusion run. ``image_hidden`` units read text and photo together (beyond the
    2 x text-size units that carry the text through); ``modality_dropout`` is the share of
    photos hidden per batch; ``threads`` are torch's CPU threads for the run (restored after;
    None keeps the setting)."""

    loss: FusionLoss = "supcon"
    epochs: int = 30
    lr: float = 1e-3
    batch_size: int = 128
    temperature: float = 0.07
    image_hidden: int = 128
    modality_dropout: float = 0.2
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int | None = 1

    def __post_init__(self) -> None:
        if self.loss not in ("supcon", "infonce", "selfsup"):
            raise ProdmatchError(f"loss must be supcon, infonce or selfsup; got {self.loss!r}")
        if self.epochs < 0 or self.batch_size < 2 or self.image_hidden < 1:
            raise ProdmatchError("need epochs >= 0, batch_size >= 2 and image_hidden >= 1")
        if not 0.0 <= self.modality_dropout < 1.0:
            raise ProdmatchError(f"modality_dropout must be in [0, 1), got {self.modality_dropout}")


@dataclass(frozen=True, eq=False)
class FusionInputs:
    """Frozen inputs of one catalog's listings: row i of each array is ``ids[i]``."""

    ids: Sequence[str]
    text: FloatMatrix
    image: FloatMatrix
    has_image: BoolVector

    def __post_init__(self) -> None:
        n = len(self.ids)
        if not len(self.text) == len(self.image) == len(self.has_image) == n:
            raise ProdmatchError(f"need one text and one image vector per id ({n} ids)")

    @classmethod
    def from_side(cls, side: Side) -> FusionInputs:
        """What a Linker prepared without fusion: text vectors and photo vectors."""
        if side.vectors is None or side.image_vectors is None or side.has_image is None:
            raise ProdmatchError(f"{side.catalog.name}: text and images must both be encoded")
        return cls(side.catalog.ids, side.vectors, side.image_vectors, side.has_image)

    def take(self, ids: Sequence[str], name: str = "listing") -> tuple[Tensor, Tensor, Tensor]:
        """(text, image, has_image) tensors of ``ids``; an unknown id is an error."""
        found = pd.Index([str(i) for i in self.ids]).get_indexer(pd.Index([str(i) for i in ids]))
        if (found < 0).any():
            raise ProdmatchError(
                f"{name} {ids[int(np.flatnonzero(found < 0)[0])]!r} has no vectors"
            )
        return _tensors(self.text[found], self.image[found], self.has_image[found])


@dataclass
class FusionTrainingResult:
    """The trained head; ``metrics``: text_f1 (the text cosine's best F1 on valid, i.e. the
    untrained head), f1 (the fused cosine's, at the kept epoch) and epoch (0: text alone was
    not beaten)."""

    head: FusionHead
    metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)


def identity_start(text_dim: int, image_dim: int, image_hidden: int = 128) -> FusionHead:
    """A fusion head whose output is exactly the normalised text vector until trained."""
    head = FusionHead(text_dim, image_dim, out_dim=text_dim, hidden_dim=2 * text_dim + image_hidden)
    first, last = head.net[0], head.net[-1]
    assert isinstance(first, torch.nn.Linear) and isinstance(last, torch.nn.Linear)
    eye = torch.eye(text_dim)
    with torch.no_grad():
        first.weight[: 2 * text_dim].zero_()
        first.weight[:text_dim, :text_dim] = eye
        first.weight[text_dim : 2 * text_dim, :text_dim] = -eye
        first.bias[: 2 * text_dim].zero_()
        last.weight.zero_()
        last.weight[:, :text_dim] = eye
        last.weight[:, text_dim : 2 * text_dim] = -eye
        last.bias.zero_()
    return head


def train_fusion(
    left: FusionInputs,
    right: FusionInputs,
    train: pd.DataFrame | None,
    valid: pd.DataFrame | None,
    config: FusionTrainingConfig | None = None,
    *,
    views: tuple[FusionInputs, FusionInputs] | None = None,
    progress: bool = True,
) -> FusionTrainingResult:
    """Train a :class:`FusionHead` on frozen vectors; ``train``/``valid`` have columns
    left_id, right_id, label. ``views`` (second views of ``left`` and ``right``, row for row)
    are needed for selfsup, which reads no labels; ``valid``, when it has a match, selects
    the epoch."""
    cfg = config or FusionTrainingConfig()
    if cfg.loss != "selfsup" and (train is None or not (train["label"] == 1).any()):
        raise ProdmatchError(f"the {cfg.loss} loss needs labelled training pairs with a match")
    if cfg.loss == "selfsup" and views is None:
        raise ProdmatchError("the selfsup loss needs a second view of every listing")
    judge = _Judge.build(left, right, valid)
    history: list[dict[str, float]] = []
    with torch.random.fork_rng(devices=[]), _threads(cfg.threads):
        torch.manual_seed(cfg.seed)
        head = identity_start(left.text.shape[1], left.image.shape[1], cfg.image_hidden)
        steps = _steps(cfg, left, right, train, views)
        epoch = _fit(head, steps, judge, cfg, history, progress)
    metrics = {"epoch": float(epoch)}
    if judge.active:
        metrics.update(text_f1=history[0]["valid_f1"], f1=judge.f1(head))
    return FusionTrainingResult(head, metrics, history)


# -- the loop ------------------------------------------------------------------------------------


def _fit(
    head: FusionHead,
    steps: _Steps,
    judge: _Judge,
    cfg: FusionTrainingConfig,
    history: list[dict[str, float]],
    progress: bool,
) -> int:
    """Train in place; keep the best epoch on valid (the last one without valid pairs)."""
    best = (judge.f1(head), 0, copy.deepcopy(head.state_dict()))
    history.append(_row(0, judge.score(best[0]), []))
    optimizer = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    with progress_bar("training fusion", cfg.epochs, unit="epochs", enabled=progress) as advance:
        for epoch in range(1, cfg.epochs + 1):
            head.train()
            losses = []
            for loss in steps(head, epoch):
                optimizer.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                losses.append(loss.item())
            f1 = judge.f1(head)
            history.append(_row(epoch, judge.score(f1), losses))
            if f1 > best[0] or not judge.active:
                best = (f1, epoch, copy.deepcopy(head.state_dict()))
            advance(1)
    head.load_state_dict(best[2])
    head.eval()
    return best[1]


@dataclass(frozen=True)
class _Judge:
    """Scores a head by the best F1 of its fused cosine on the validation pairs."""

    left: tuple[Tensor, Tensor, Tensor] | None
    right: tuple[Tensor, Tensor, Tensor] | None
    labels: npt.NDArray[np.int64] | None

    @classmethod
    def build(cls, left: FusionInputs, right: FusionInputs, valid: pd.DataFrame | None) -> _Judge:
        if valid is None or not (valid["label"] == 1).any():
            return cls(None, None, None)
        check_pairs(valid, "valid pairs")
        return cls(
            left.take(list(valid["left_id"].astype(str)), "left listing"),
            right.take(list(valid["right_id"].astype(str)), "right listing"),
            valid["label"].to_numpy(dtype=np.int64),
        )

    @property
    def active(self) -> bool:
        return self.labels is not None

    def score(self, f1: float) -> float | None:
        return f1 if self.active else None

    def f1(self, head: FusionHead) -> float:
        if self.left is None or self.right is None or self.labels is None:
            return 0.0
        head.eval()
        with torch.no_grad():
            cosine = (head(*self.left) * head(*self.right)).sum(dim=1).numpy()
        return best_threshold(cosine, self.labels)[1]


def _steps(
    cfg: FusionTrainingConfig,
    left: FusionInputs,
    right: FusionInputs,
    train: pd.DataFrame | None,
    views: tuple[FusionInputs, FusionInputs] | None,
) -> _Steps:
    if cfg.loss == "selfsup":
        assert views is not None
        return _selfsup_steps(left, right, views, cfg)
    assert train is not None
    check_pairs(train, "train pairs")
    clusters = build_clusters(train)
    if cfg.loss == "supcon":
        return _supcon_steps(clusters, left, right, cfg)
    return _infonce_steps(clusters, left, right, train, cfg)


def _supcon_steps(
    clusters: Clusters, left: FusionInputs, right: FusionInputs, cfg: FusionTrainingConfig
) -> _Steps:
    """SupCon over cluster-whole batches of listings from both catalogs."""
    sides, ids = clusters.sides()
    n_left = sides.count("left")  # keys hold all left listings first
    inputs = _concat(left.take(ids[:n_left], "left listing"), right.take(ids[n_left:]))
    labels = torch.as_tensor(clusters.labels)
    sampler = ClusterBatchSampler(clusters.labels, cfg.batch_size, seed=cfg.seed)

    def steps(head: FusionHead, epoch: int) -> Iterator[Tensor]:
        drop = _dropper(cfg, epoch)
        for batch in sampler.batches(epoch):
            index = torch.as_tensor(batch)
            if len(torch.unique(labels[index])) == len(batch):
                continue  # no positive pair in this batch: nothing to learn
            text, image, has = (part[index] for part in inputs)
            fused = head(text, image, drop(has))
            yield supcon_loss(fused, labels[index], temperature=cfg.temperature)

    return steps


def _infonce_steps(
    clusters: Clusters,
    left: FusionInputs,
    right: FusionInputs,
    train: pd.DataFrame,
    cfg: FusionTrainingConfig,
) -> _Steps:
    """InfoNCE over batches of positive pairs; the labelled non-matches of a batch's anchors
    are hard negatives, and pairs or negatives of one cluster are masked, not pushed apart."""
    pos, neg = train[train["label"] == 1], train[train["label"] == 0]
    anchors = left.take(list(pos["left_id"].astype(str)), "left listing")
    positives = right.take(list(pos["right_id"].astype(str)), "right listing")
    negatives = right.take(list(neg["right_id"].astype(str)), "right listing")
    labels = torch.as_tensor(clusters.labels_of("left", list(pos["left_id"].astype(str))))
    negative_labels = torch.as_tensor(
        clusters.labels_of("right", list(neg["right_id"].astype(str)))
    )
    anchor_ids = pd.Index(pd.unique(pos["left_id"].astype(str)))
    anchor_code = anchor_ids.get_indexer(pd.Index(pos["left_id"].astype(str)))
    negative_code = anchor_ids.get_indexer(pd.Index(neg["left_id"].astype(str)))

    def steps(head: FusionHead, epoch: int) -> Iterator[Tensor]:
        drop = _dropper(cfg, epoch)
        order = np.random.default_rng([cfg.seed, epoch]).permutation(len(pos))
        for start in range(0, len(order), cfg.batch_size):
            batch = order[start : start + cfg.batch_size]
            if len(batch) < 2:
                continue  # one pair has no in-batch negative
            in_batch = np.zeros(len(anchor_ids) + 1, dtype=bool)  # the extra slot is code -1
            in_batch[anchor_code[batch]] = True
            hard = torch.as_tensor(np.flatnonzero(in_batch[negative_code]))
            index = torch.as_tensor(batch)
            yield info_nce_loss(
                _fuse(head, anchors, index, drop),
                _fuse(head, positives, index, drop),
                temperature=cfg.temperature,
                hard_negatives=_fuse(head, negatives, hard, drop) if len(hard) else None,
                labels=labels[index],
                negative_labels=negative_labels[hard] if len(hard) else None,
            )

    return steps


def _selfsup_steps(
    left: FusionInputs,
    right: FusionInputs,
    views: tuple[FusionInputs, FusionInputs],
    cfg: FusionTrainingConfig,
) -> _Steps:
    """InfoNCE between each listing and its second view; other listings are the negatives.

    Nothing says two listings are one product, so none are masked: as in the text encoder's
    self-supervised mode, a rare duplicate inside a batch costs a little noise.
    """
    originals = _concat(_all(left), _all(right))
    second = _concat(_all(views[0]), _all(views[1]))
    if len(second[0]) != len(originals[0]):
        raise ProdmatchError("the second views must match the listings row for row")

    def steps(head: FusionHead, epoch: int) -> Iterator[Tensor]:
        drop = _dropper(cfg, epoch)
        order = np.random.default_rng([cfg.seed, epoch]).permutation(len(originals[0]))
        for start in range(0, len(order), cfg.batch_size):
            batch = torch.as_tensor(order[start : start + cfg.batch_size])
            if len(batch) < 2:
                continue
            yield info_nce_loss(
                _fuse(head, originals, batch, drop),
                _fuse(head, second, batch, drop),
                temperature=cfg.temperature,
            )

    return steps


# -- small helpers -------------------------------------------------------------------------------


def _tensors(
    text: FloatMatrix, image: FloatMatrix, has: BoolVector
) -> tuple[Tensor, Tensor, Tensor]:
    return (
        torch.as_tensor(np.asarray(text, dtype=np.float32)),
        torch.as_tensor(np.asarray(image, dtype=np.float32)),
        torch.as_tensor(np.asarray(has, dtype=bool)),
    )


def _all(inputs: FusionInputs) -> tuple[Tensor, Tensor, Tensor]:
    return _tensors(inputs.text, inputs.image, inputs.has_image)


def _concat(*parts: tuple[Tensor, Tensor, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
    text, image, has = zip(*parts, strict=True)
    return torch.cat(text), torch.cat(image), torch.cat(has)


def _fuse(
    head: FusionHead,
    inputs: tuple[Tensor, Tensor, Tensor],
    index: Tensor,
    drop: Callable[[Tensor], Tensor],
) -> Tensor:
    text, image, has = (part[index] for part in inputs)
    out: Tensor = head(text, image, drop(has))
    return out


def _dropper(cfg: FusionTrainingConfig, epoch: int) -> Callable[[Tensor], Tensor]:
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
