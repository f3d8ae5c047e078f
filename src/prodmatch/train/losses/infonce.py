"""Symmetric InfoNCE with in-batch negatives, optional hard negatives and a same-product mask."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from prodmatch.train.losses.temperature import TemperatureLoss

__all__ = ["InfoNCELoss", "both_directions", "check_shapes", "info_nce_loss", "pair_logits"]


class InfoNCELoss(TemperatureLoss):
    """Symmetric InfoNCE: each anchor must pick its own positive out of the batch, and each
    positive its own anchor.

    For L2-normalised anchors ``a`` and positives ``p`` the logits are ``a @ p.T / temperature``;
    row i's target is column i, every other column is a negative. The loss is the mean of the
    cross-entropy in both directions (anchor -> positive and positive -> anchor), which treats
    the two catalogs alike, as a matcher of two platforms should.

    Two product-matching twists:

    - ``hard_negatives`` (M, d) are appended as extra columns to the anchor -> positive
      direction only, shared by every anchor (as sentence-transformers'
      MultipleNegativesRankingLoss does); per-anchor negatives are just stacked to (N * k, d).
    - ``labels`` (N,) give each pair's product cluster. Two pairs of one product are not
      negatives of each other (same listing twice, or one product listed several times), so
      their cross logits are masked out in both directions; ``negative_labels`` (M,) does the
      same for hard negatives that are in fact an anchor's product. Without labels every
      off-diagonal item is a negative, which teaches the model to split true duplicates.

    Args:
        temperature: divides the cosine similarities; lower is sharper. 0.05 (scale 20) is the
            sentence-transformers default and works well for normalised embeddings.

    Inputs:
        +------------------------------+---------------------------------------------+
        | forward argument             | shape                                       |
        +==============================+=============================================+
        | anchors, positives           | (N, d), row i of each is a matching pair     |
        +------------------------------+---------------------------------------------+
        | hard_negatives (optional)    | (M, d)                                      |
        +------------------------------+---------------------------------------------+
        | labels (optional)            | (N,) integer product cluster of each pair    |
        +------------------------------+---------------------------------------------+
        | negative_labels (optional)   | (M,) cluster of each hard negative           |
        +------------------------------+---------------------------------------------+

        Returns a scalar tensor.

    References:
        - van den Oord et al. 2018, "Representation Learning with Contrastive Predictive
          Coding" (InfoNCE), https://arxiv.org/abs/1807.03748
        - Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
          Supervision" (the symmetric form), https://arxiv.org/abs/2103.00020
        - sentence-transformers, MultipleNegativesSymmetricRankingLoss.

    Example:
        >>> import torch
        >>> loss = InfoNCELoss(temperature=1.0)
        >>> a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> round(loss(a, a).item(), 4)
        0.3133
        >>> round(loss(a, a, labels=torch.tensor([7, 7])).item(), 4)  # one product: no negatives
        0.0
    """

    def __init__(self, temperature: float = 0.05) -> None:
        super().__init__(temperature)

    def forward(
        self,
        anchors: Tensor,
        positives: Tensor,
        *,
        hard_negatives: Tensor | None = None,
        labels: Tensor | None = None,
        negative_labels: Tensor | None = None,
    ) -> Tensor:
        return info_nce_loss(
            anchors,
            positives,
            temperature=self.temperature,
            hard_negatives=hard_negatives,
            labels=labels,
            negative_labels=negative_labels,
        )


def info_nce_loss(
    anchors: Tensor,
    positives: Tensor,
    *,
    temperature: float = 0.05,
    hard_negatives: Tensor | None = None,
    labels: Tensor | None = None,
    negative_labels: Tensor | None = None,
) -> Tensor:
    """The loss of :class:`InfoNCELoss` as a function (see there for the arguments)."""
    check_shapes(anchors, positives, hard_negatives, labels, negative_labels)
    to_positive, to_anchor = pair_logits(
        anchors, positives, temperature, hard_negatives, labels, negative_labels
    )
    return both_directions(to_positive, to_anchor)


def pair_logits(
    anchors: Tensor,
    positives: Tensor,
    temperature: float,
    hard_negatives: Tensor | None = None,
    labels: Tensor | None = None,
    negative_labels: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """(anchor -> positive, positive -> anchor) logits, same-product cells masked to -inf;
    column i of row i is each row's target. Shapes are checked by callers."""
    a = F.normalize(anchors, dim=-1)
    p = F.normalize(positives, dim=-1)
    to_positive = a @ p.T / temperature
    to_anchor = to_positive.T
    if labels is not None:
        same = _same_product(labels)
        to_positive = to_positive.masked_fill(same, float("-inf"))
        to_anchor = to_anchor.masked_fill(same, float("-inf"))  # `same` is symmetric
    if hard_negatives is not None:
        extra = a @ F.normalize(hard_negatives, dim=-1).T / temperature
        if labels is not None and negative_labels is not None:
            extra = extra.masked_fill(labels[:, None] == negative_labels[None, :], float("-inf"))
        to_positive = torch.cat([to_positive, extra], dim=1)
    return to_positive, to_anchor


def both_directions(to_positive: Tensor, to_anchor: Tensor) -> Tensor:
    """The mean of the two directions' cross-entropies, row i's target being column i."""
    target = torch.arange(len(to_positive), device=to_positive.device)
    return (F.cross_entropy(to_positive, target) + F.cross_entropy(to_anchor, target)) / 2


def _same_product(labels: Tensor) -> Tensor:
    """(N, N) True where two different rows share a cluster; the diagonal stays the target."""
    same = labels[:, None] == labels[None, :]
    return same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)


def check_shapes(
    anchors: Tensor,
    positives: Tensor,
    hard_negatives: Tensor | None,
    labels: Tensor | None,
    negative_labels: Tensor | None,
) -> None:
    """Shape errors here name the argument; inside the matmul they would not."""
    if anchors.ndim != 2 or anchors.shape != positives.shape:
        raise ValueError(
            f"anchors and positives must both be (N, d); got {tuple(anchors.shape)} "
            f"and {tuple(positives.shape)}"
        )
    if hard_negatives is not None and (
        hard_negatives.ndim != 2 or hard_negatives.shape[1] != anchors.shape[1]
    ):
        raise ValueError(f"hard_negatives must be (M, {anchors.shape[1]})")
    if labels is not None and labels.shape != (len(anchors),):
        raise ValueError(f"labels must be ({len(anchors)},), got {tuple(labels.shape)}")
    if negative_labels is not None and (
        hard_negatives is None or negative_labels.shape != (len(hard_negatives),)
    ):
        raise ValueError("negative_labels needs hard_negatives and one label per negative")
