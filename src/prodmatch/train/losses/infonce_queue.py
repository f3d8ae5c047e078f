"""Symmetric InfoNCE against the batch and a queue of momentum-encoded listings (MoCo)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from prodmatch.train.losses.infonce import both_directions, check_shapes, pair_logits
from prodmatch.train.losses.temperature import TemperatureLoss

__all__ = ["QueueInfoNCELoss", "info_nce_queue_loss"]


class QueueInfoNCELoss(TemperatureLoss):
    """:class:`~prodmatch.train.losses.infonce.InfoNCELoss` with a queue of extra negatives
    that a momentum copy of the encoder embedded in earlier steps, as MoCo does.

    The logits are those of InfoNCE (in-batch negatives, hard negatives on the anchor side,
    same-product cells masked), plus one column per queue entry **in both directions**:
    every anchor and every positive is contrasted with the K queued listings, so the two
    catalogs stay alike, as in the symmetric loss. Row i's target is still column i.

    **Queue entries of the row's own product are masked out** (-inf), neither negative nor
    target: InfoNCE has one target per row (the pair's other listing), so a second listing of
    the product cannot be a target, and as a negative it would teach the model to split true
    duplicates. This needs ``labels``; queue rows carry no gradient. An empty queue (K = 0)
    gives exactly :func:`~prodmatch.train.losses.infonce.info_nce_loss`.

    Args:
        temperature: divides the cosine similarities; lower is sharper.

    Inputs:
        +------------------------------+---------------------------------------------+
        | forward argument             | shape                                       |
        +==============================+=============================================+
        | anchors, positives           | (N, d), row i of each is a matching pair     |
        +------------------------------+---------------------------------------------+
        | labels                       | (N,) integer product cluster of each pair    |
        +------------------------------+---------------------------------------------+
        | queue                        | (K, d) momentum embeddings                   |
        +------------------------------+---------------------------------------------+
        | queue_labels                 | (K,) cluster of each queue entry             |
        +------------------------------+---------------------------------------------+
        | hard_negatives (optional)    | (M, d)                                      |
        +------------------------------+---------------------------------------------+
        | negative_labels (optional)   | (M,) cluster of each hard negative           |
        +------------------------------+---------------------------------------------+

        Returns a scalar tensor.

    References:
        - He et al. 2020, "Momentum Contrast for Unsupervised Visual Representation
          Learning" (MoCo), https://arxiv.org/abs/1911.05722
        - van den Oord et al. 2018, "Representation Learning with Contrastive Predictive
          Coding" (InfoNCE), https://arxiv.org/abs/1807.03748

    Example:
        >>> import torch
        >>> loss = QueueInfoNCELoss(temperature=1.0)
        >>> a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> labels = torch.tensor([0, 1])
        >>> round(loss(a, a, labels, torch.zeros(0, 2), torch.zeros(0)).item(), 4)  # as InfoNCE
        0.3133
        >>> queue = torch.tensor([[1.0, 0.0]])  # product 0: masked for row 0, a negative of row 1
        >>> round(loss(a, a, labels, queue, torch.tensor([0])).item(), 4)
        0.4324
    """

    def __init__(self, temperature: float = 0.05) -> None:
        super().__init__(temperature)

    def forward(
        self,
        anchors: Tensor,
        positives: Tensor,
        labels: Tensor,
        queue: Tensor,
        queue_labels: Tensor,
        *,
        hard_negatives: Tensor | None = None,
        negative_labels: Tensor | None = None,
    ) -> Tensor:
        return info_nce_queue_loss(
            anchors,
            positives,
            labels,
            queue,
            queue_labels,
            temperature=self.temperature,
            hard_negatives=hard_negatives,
            negative_labels=negative_labels,
        )


def info_nce_queue_loss(
    anchors: Tensor,
    positives: Tensor,
    labels: Tensor,
    queue: Tensor,
    queue_labels: Tensor,
    *,
    temperature: float = 0.05,
    hard_negatives: Tensor | None = None,
    negative_labels: Tensor | None = None,
) -> Tensor:
    """The loss of :class:`QueueInfoNCELoss` as a function (see there for the arguments)."""
    check_shapes(anchors, positives, hard_negatives, labels, negative_labels)
    if queue.ndim != 2 or queue.shape[1] != anchors.shape[1]:
        raise ValueError(f"queue must be (K, {anchors.shape[1]}), got {tuple(queue.shape)}")
    if queue_labels.shape != (len(queue),):
        raise ValueError(f"queue_labels must be ({len(queue)},), got {tuple(queue_labels.shape)}")
    to_positive, to_anchor = pair_logits(
        anchors, positives, temperature, hard_negatives, labels, negative_labels
    )
    keys = F.normalize(queue.detach(), dim=-1).T
    own = labels[:, None] == queue_labels[None, :]  # pair i is one product on both sides
    to_positive = torch.cat(
        [
            to_positive,
            (F.normalize(anchors, dim=-1) @ keys / temperature).masked_fill(own, -torch.inf),
        ],
        dim=1,
    )
    to_anchor = torch.cat(
        [
            to_anchor,
            (F.normalize(positives, dim=-1) @ keys / temperature).masked_fill(own, -torch.inf),
        ],
        dim=1,
    )
    return both_directions(to_positive, to_anchor)
