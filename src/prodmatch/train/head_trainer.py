"""Head mode: train a projection and a pair classifier on frozen embeddings, in seconds.

The encoder stays as it is; its vectors (usually cached) are the input. Two stages:

1. The projection head learns, with SupCon over the training clusters (or InfoNCE over the
   training positives), a space in which listings of one product sit together.
2. The pair classifier learns, with binary cross-entropy on the labelled training pairs,
   to decide from both projected vectors and the cheap scalar signals of each pair.

Both stages keep the epoch that scores best on the validation pairs (the projection by the
F1 of its plain cosine, the classifier by its own F1, each at the F1-best threshold from
:func:`prodmatch.decide.best_threshold`), and the classifier stops after ``patience`` epochs
without gain. Test pairs are never read. All randomness comes from ``seed`` and the global
torch generator is left as it was, so the same call gives the same weights twice.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from prodmatch.decide import best_threshold
from prodmatch.errors import ProdmatchError
from prodmatch.matcher.head import MatchHead, PairClassifier, ProjectionHead, extra_matrix
from prodmatch.progress import progress_bar
from prodmatch.train.best import BestEpoch
from prodmatch.train.clusters import Clusters, build_clusters, check_pairs
from prodmatch.train.steps import infonce_steps, supcon_steps

if TYPE_CHECKING:
    from prodmatch.linker import Linker, Side

__all__ = [
    "HeadTrainingConfig",
    "HeadTrainingResult",
    "ListingVectors",
    "head_probabilities",
    "pair_features",
    "refit_head",
    "train_head",
]

ProjectionLoss = Literal["supcon", "infonce"]

# One epoch of projection training: the losses of its batches, given the head and the epoch.
_Steps = Callable[[ProjectionHead, int], Iterator[Tensor]]


@dataclass(frozen=True)
class HeadTrainingConfig:
    """Settings of one head-mode run; the defaults suit a few thousand labelled pairs.

    ``projection_dim=None`` keeps the input size and makes the projection residual (it starts
    as the identity, see :class:`ProjectionHead`). ``classifier_hidden=0`` trains a logistic
    regression instead of a one-hidden-layer MLP. ``threads`` sets torch's CPU threads for
    the run (restored after): layers this small gain nothing from more, and on a busy machine
    two threads waiting on each other were 5-10x slower than one. None keeps torch's setting.
    """

    loss: ProjectionLoss = "supcon"
    temperature: float = 0.07
    projection_dim: int | None = None
    projection_hidden: int | None = None
    projection_epochs: int = 10
    projection_lr: float = 1e-3
    batch_size: int = 128
    classifier_hidden: int = 64
    classifier_epochs: int = 100
    classifier_lr: float = 3e-3
    classifier_batch_size: int = 128
    weight_decay: float = 1e-4
    patience: int = 10
    seed: int = 0
    threads: int | None = 1

    def __post_init__(self) -> None:
        if self.loss not in ("supcon", "infonce"):
            raise ProdmatchError(f"loss must be supcon or infonce, got {self.loss!r}")
        if self.batch_size < 2 or self.classifier_batch_size < 1:
            raise ProdmatchError("batch sizes must be at least 2 (projection) and 1 (classifier)")
        if self.projection_epochs < 0 or self.classifier_epochs < 1 or self.patience < 1:
            raise ProdmatchError("need projection_epochs >= 0, classifier_epochs, patience >= 1")


@dataclass(frozen=True, eq=False)
class ListingVectors:
    """Frozen embeddings of one catalog's listings: row i of ``vectors`` is ``ids[i]``."""

    ids: Sequence[str]
    vectors: npt.NDArray[np.float32]

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or len(self.vectors) != len(self.ids):
            raise ProdmatchError(
                f"need one vector per id: {len(self.ids)} ids, vectors {self.vectors.shape}"
            )

    @classmethod
    def from_side(cls, side: Side) -> ListingVectors:
        """The vectors a :class:`~prodmatch.linker.Linker` computed in ``prepare``."""
        if side.vectors is None:
            raise ProdmatchError(f"{side.catalog.name}: not encoded (the settings use no dense)")
        return cls(side.catalog.ids, side.vectors)

    def rows(self, ids: Sequence[str], name: str = "listing") -> npt.NDArray[np.int64]:
        """Row positions of ``ids``; unknown ids are an error naming the first one."""
        found = pd.Index([str(i) for i in self.ids]).get_indexer(pd.Index([str(i) for i in ids]))
        if (found < 0).any():
            missing = ids[int(np.flatnonzero(found < 0)[0])]
            raise ProdmatchError(f"{name} {missing!r} has no vector")
        return found.astype(np.int64)

    def take(self, ids: Sequence[str], name: str = "listing") -> Tensor:
        return torch.as_tensor(np.asarray(self.vectors[self.rows(ids, name)], dtype=np.float32))


@dataclass
class HeadTrainingResult:
    """The trained head (projection, classifier, threshold) and how it scored on valid.

    ``metrics``: f1, precision, recall at ``threshold`` on the validation pairs; baseline_f1,
    the best F1 of the untrained cosine of the input vectors; projection_f1, that of the
    projected vectors; projection_epoch and classifier_epoch, the epochs kept.
    ``history`` has one row per epoch of either stage.
    """

    head: MatchHead
    threshold: float
    metrics: dict[str, float]
    history: list[dict[str, float | str]] = field(default_factory=list)

    @property
    def projection(self) -> ProjectionHead:
        return self.head.projection

    @property
    def classifier(self) -> PairClassifier:
        return self.head.classifier


@dataclass(frozen=True)
class _Pairs:
    """One split as tensors: raw left and right vectors per pair, scalar signals, labels."""

    u: Tensor
    v: Tensor
    extra: Tensor
    y: Tensor

    @classmethod
    def build(
        cls,
        left: ListingVectors,
        right: ListingVectors,
        pairs: pd.DataFrame,
        extra_columns: Sequence[str],
        name: str,
    ) -> _Pairs:
        check_pairs(pairs, name)
        return cls(
            u=left.take(list(pairs["left_id"].astype(str)), "left listing"),
            v=right.take(list(pairs["right_id"].astype(str)), "right listing"),
            extra=torch.as_tensor(extra_matrix(pairs, extra_columns, name)),
            y=torch.as_tensor(pairs["label"].to_numpy(dtype=np.float32)),
        )

    def cosine_f1(self, projection: ProjectionHead | None = None) -> float:
        """Best F1 of the plain cosine of each pair, raw or after ``projection``."""
        if projection is None:
            u, v = F.normalize(self.u, dim=-1), F.normalize(self.v, dim=-1)
        else:
            projection.eval()
            with torch.no_grad():
                u, v = projection(self.u), projection(self.v)
        return best_threshold((u * v).sum(dim=1).numpy(), self.y.numpy())[1]


def train_head(
    left: ListingVectors,
    right: ListingVectors,
    train: pd.DataFrame,
    valid: pd.DataFrame,
    *,
    extra_columns: Sequence[str] = (),
    config: HeadTrainingConfig | None = None,
    progress: bool = True,
) -> HeadTrainingResult:
    """Train a :class:`MatchHead` on labelled train pairs, selected on valid pairs.

    ``train`` and ``valid`` have columns left_id, right_id, label and the ``extra_columns``
    (scalar signals such as the linker's "dense", "sparse", "code_agreement"; see
    :func:`pair_features`).
    """
    cfg = config or HeadTrainingConfig()
    columns = tuple(extra_columns)
    train_set = _Pairs.build(left, right, train, columns, "train pairs")
    valid_set = _Pairs.build(left, right, valid, columns, "valid pairs")
    if not train_set.y.any() or not valid_set.y.any():
        raise ProdmatchError("train and valid pairs both need at least one match")
    epochs = (cfg.projection_epochs, cfg.classifier_epochs)
    fit = _fit_head(left, right, train, (train_set, valid_set), columns, epochs, cfg, progress)
    head, history, scores, kept = fit
    metrics = {
        **_prf(scores, valid_set.y.numpy(), head.threshold),
        "baseline_f1": valid_set.cosine_f1(),
        "projection_f1": valid_set.cosine_f1(head.projection),
        "projection_epoch": float(kept[0]),
        "classifier_epoch": float(kept[1]),
    }
    head.metadata = {"training": asdict(cfg), "valid": metrics}
    return HeadTrainingResult(head, head.threshold, metrics, history)


def refit_head(
    left: ListingVectors,
    right: ListingVectors,
    pairs: pd.DataFrame,
    chosen: MatchHead,
    *,
    config: HeadTrainingConfig | None = None,
    progress: bool = True,
) -> HeadTrainingResult:
    """The head `chosen` on validation by :func:`train_head`, trained again on `pairs` with
    nothing chosen anew.

    The same configuration and seed, exactly the epochs `chosen` kept (projection and
    classifier, from its metadata; 0 keeps a stage untrained, as selection did) and its
    threshold; no validation pairs are read, so each stage keeps its last epoch. On the
    pairs `chosen` was trained on this gives `chosen`'s weights again; on more pairs, the
    same recipe fed more data, whose threshold :func:`prodmatch.train.refit.refit_stage`
    restates for their share of matches. The metrics are
    `chosen`'s, measured on validation before the refit; ``history`` holds the refit's losses.
    """
    cfg = config or HeadTrainingConfig()
    measured = dict(chosen.metadata["valid"])
    train_set = _Pairs.build(left, right, pairs, chosen.extra_columns, "refit pairs")
    if not train_set.y.any():
        raise ProdmatchError("the refit pairs need at least one match")
    epochs = (int(measured["projection_epoch"]), int(measured["classifier_epoch"]))
    head, history, _, _ = _fit_head(
        left, right, pairs, (train_set, None), chosen.extra_columns, epochs, cfg, progress
    )
    head.threshold = chosen.threshold
    refit = {"pairs": len(pairs), "matches": int(train_set.y.sum()), "epochs": list(epochs)}
    head.metadata = {**chosen.metadata, "refit": refit}
    return HeadTrainingResult(head, chosen.threshold, measured, history)


def _fit_head(
    left: ListingVectors,
    right: ListingVectors,
    train: pd.DataFrame,
    sets: tuple[_Pairs, _Pairs | None],
    columns: tuple[str, ...],
    epochs: tuple[int, int],
    cfg: HeadTrainingConfig,
    progress: bool,
) -> tuple[MatchHead, list[dict[str, float | str]], npt.NDArray[np.float64], tuple[int, int]]:
    """Both stages, seeded: (head, history, the kept classifier's valid scores, the epochs
    kept). `sets` are the train and valid pairs; without valid pairs each stage runs its
    `epochs` (projection, classifier) and keeps the last."""
    train_set, valid_set = sets
    history: list[dict[str, float | str]] = []
    with torch.random.fork_rng(devices=[]), _threads(cfg.threads):
        torch.manual_seed(cfg.seed)
        projection = ProjectionHead(
            left.vectors.shape[1], cfg.projection_dim, cfg.projection_hidden
        )
        projection_epoch = _fit_projection(
            projection, (left, right, train), valid_set, epochs[0], cfg, history, progress
        )
        classifier = PairClassifier(projection.out_dim, len(columns), cfg.classifier_hidden)
        threshold, scores, classifier_epoch = _fit_classifier(
            classifier, projection, (train_set, valid_set), epochs[1], cfg, history, progress
        )
    head = MatchHead(projection, classifier, extra_columns=columns, threshold=threshold)
    return head, history, scores, (projection_epoch, classifier_epoch)


@contextmanager
def _threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` torch CPU threads, then restore the previous number."""
    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# -- stage 1: projection -------------------------------------------------------------------------


def _fit_projection(
    projection: ProjectionHead,
    labelled: tuple[ListingVectors, ListingVectors, pd.DataFrame],
    valid: _Pairs | None,
    epochs: int,
    cfg: HeadTrainingConfig,
    history: list[dict[str, float | str]],
    progress: bool,
) -> int:
    """Train the projection in place for `epochs` and keep its best epoch on valid
    (`labelled`: the left and right vectors and the training pairs).

    The untrained head is a candidate too (epoch 0): if training does not beat it on valid,
    it is what is kept. For the residual head that is the identity, i.e. the encoder as is.
    Without `valid` (a refit) the last epoch is kept.
    """
    left, right, train = labelled
    best: BestEpoch[dict[str, Tensor]] = BestEpoch()
    f1 = valid.cosine_f1(projection) if valid is not None else math.nan
    best.update(0, f1, lambda: copy.deepcopy(projection.state_dict()))
    history.append(_row("projection", 0, [], f1))
    if epochs == 0:
        return 0
    steps = _steps(build_clusters(train), left, right, train, cfg)
    optimizer = torch.optim.AdamW(
        projection.parameters(), lr=cfg.projection_lr, weight_decay=cfg.weight_decay
    )
    with progress_bar("training projection", epochs, unit="epochs", enabled=progress) as advance:
        for epoch in range(1, epochs + 1):
            projection.train()
            losses = []
            for loss in steps(projection, epoch):
                optimizer.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                losses.append(loss.item())
            f1 = valid.cosine_f1(projection) if valid is not None else math.nan
            history.append(_row("projection", epoch, losses, f1))
            best.update(epoch, f1, lambda: copy.deepcopy(projection.state_dict()))
            advance(1)
    assert best.kept is not None
    projection.load_state_dict(best.kept)
    return best.best_epoch


def _steps(
    clusters: Clusters,
    left: ListingVectors,
    right: ListingVectors,
    train: pd.DataFrame,
    cfg: HeadTrainingConfig,
) -> _Steps:
    """The projection's epoch of SupCon or InfoNCE steps (see :mod:`prodmatch.train.steps`):
    a listing is its frozen vector, embedded by the projection."""

    def vectors(side: str, ids: list[str]) -> Tensor:
        return (left if side == "left" else right).take(ids, f"{side} listing")

    def embed_for(projection: ProjectionHead, epoch: int) -> Callable[[Tensor], Tensor]:
        return projection

    build = supcon_steps if cfg.loss == "supcon" else partial(infonce_steps, train=train)
    steps: _Steps = build(
        clusters=clusters,
        handles_of=vectors,
        embed_for=embed_for,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        temperature=cfg.temperature,
    )
    return steps


# -- stage 2: pair classifier --------------------------------------------------------------------


def _fit_classifier(
    classifier: PairClassifier,
    projection: ProjectionHead,
    sets: tuple[_Pairs, _Pairs | None],
    epochs: int,
    cfg: HeadTrainingConfig,
    history: list[dict[str, float | str]],
    progress: bool,
) -> tuple[float, npt.NDArray[np.float64], int]:
    """Train with BCE on `sets`' train pairs, early-stopped on the valid pairs' F1; returns
    threshold, valid scores, best epoch. Without valid pairs (a refit) all `epochs` run and
    the last is kept (threshold 0.5, no scores: the caller keeps the chosen threshold)."""
    train, valid = sets
    projection.eval()
    with torch.no_grad():
        u, v = projection(train.u), projection(train.v)
        valid_uv = (projection(valid.u), projection(valid.v)) if valid is not None else None
    optimizer = torch.optim.AdamW(
        classifier.parameters(), lr=cfg.classifier_lr, weight_decay=cfg.weight_decay
    )
    generator = torch.Generator().manual_seed(cfg.seed)
    best: BestEpoch[tuple[dict[str, Tensor], float, npt.NDArray[np.float64]]]
    best = BestEpoch(cfg.patience, best_epoch=0)
    none = np.zeros(len(valid.y) if valid is not None else 0)
    best.kept = (copy.deepcopy(classifier.state_dict()), 0.5, none)
    with progress_bar("training classifier", epochs, unit="epochs", enabled=progress) as advance:
        for epoch in range(1, epochs + 1):
            classifier.train()
            losses = []
            order = torch.randperm(len(u), generator=generator)
            for start in range(0, len(order), cfg.classifier_batch_size):
                index = order[start : start + cfg.classifier_batch_size]
                logits = classifier(u[index], v[index], train.extra[index])
                loss = F.binary_cross_entropy_with_logits(logits, train.y[index])
                optimizer.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                losses.append(loss.item())
            cut, f1, scores = 0.5, math.nan, none
            if valid is not None and valid_uv is not None:
                scores = _predict(classifier, *valid_uv, valid.extra)
                cut, f1 = best_threshold(scores, valid.y.numpy())
            history.append(_row("classifier", epoch, losses, f1))
            advance(1)
            best.update(epoch, f1, partial(_snapshot, classifier, cut, scores))
            if best.stopped:
                break
    assert best.kept is not None
    best_state, best_cut, best_scores = best.kept
    classifier.load_state_dict(best_state)
    classifier.eval()
    return best_cut, best_scores, best.best_epoch


def _snapshot(
    classifier: PairClassifier, cut: float, scores: npt.NDArray[np.float64]
) -> tuple[dict[str, Tensor], float, npt.NDArray[np.float64]]:
    """What the classifier's best epoch keeps: its weights, threshold and valid scores."""
    return copy.deepcopy(classifier.state_dict()), cut, scores


def _predict(
    classifier: PairClassifier, u: Tensor, v: Tensor, extra: Tensor
) -> npt.NDArray[np.float64]:
    classifier.eval()
    with torch.no_grad():
        return np.asarray(torch.sigmoid(classifier(u, v, extra)).numpy(), dtype=np.float64)


def _prf(
    scores: npt.NDArray[np.float64], labels: npt.NDArray[np.float32], cut: float
) -> dict[str, float]:
    predicted = scores >= cut
    actual = labels == 1
    tp = float((predicted & actual).sum())
    precision = tp / predicted.sum() if predicted.any() else 0.0
    recall = tp / actual.sum() if actual.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {
        "f1": float(f1),
        "precision": float(precision),
        "recall": float(recall),
        "threshold": cut,
    }


def _row(stage: str, epoch: int, losses: list[float], f1: float) -> dict[str, float | str]:
    """One history row; epoch 0 (the untrained head) has no loss, a refit no valid F1: no
    NaN for JSON."""
    row: dict[str, float | str] = {"stage": stage, "epoch": float(epoch)}
    if not math.isnan(f1):  # a refit reads no validation pairs
        row["valid_f1"] = f1
    if losses:
        row["loss"] = float(np.mean(losses))
    return row


# -- applying a head -----------------------------------------------------------------------------


def head_probabilities(
    head: MatchHead, left: ListingVectors, right: ListingVectors, pairs: pd.DataFrame
) -> npt.NDArray[np.float64]:
    """Match probabilities of pairs given by id (plus the head's extra columns)."""
    li = left.rows(list(pairs["left_id"].astype(str)), "left listing")
    ri = right.rows(list(pairs["right_id"].astype(str)), "right listing")
    return head.score(left.vectors[li], right.vectors[ri], head.extra_matrix(pairs))


def pair_features(linker: Linker, left: Side, right: Side, pairs: pd.DataFrame) -> pd.DataFrame:
    """``pairs`` with the linker's signals added: dense, sparse (when prepared),
    code_agreement, code_variant and the attribute signals (`prodmatch.text.attributes`).

    These are the same columns :meth:`Linker.features` gives candidates, so a head trained
    on them reads at match time exactly what it read in training.
    """
    li = left.catalog.records.index.get_indexer(pd.Index(pairs["left_id"].astype(str)))
    ri = right.catalog.records.index.get_indexer(pd.Index(pairs["right_id"].astype(str)))
    if (li < 0).any() or (ri < 0).any():
        raise ProdmatchError("some pair ids are not in the catalogs")
    signals = linker.features(left, right, li, ri, attributes=True)
    signals = signals.drop(columns=["left", "right"])
    return pd.concat([pairs.reset_index(drop=True), signals], axis=1)
