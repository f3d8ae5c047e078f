"""SupCon against the batch and a queue of momentum-encoded listings (MoCo-style SupCon)."""

from __future__ import annotations

from torch import Tensor

from prodmatch.train.losses.supcon import supcon_against
from prodmatch.train.losses.temperature import TemperatureLoss

__all__ = ["QueueSupConLoss", "supcon_queue_loss"]


class QueueSupConLoss(TemperatureLoss):
    """:class:`~prodmatch.train.losses.supcon.SupConLoss` whose candidates are the batch plus
    a queue of listings that a momentum copy of the encoder embedded in earlier steps.

    A batch of 32 sees the negatives of a batch of 32 + K, at the cost of one extra forward
    pass (no backward) of the momentum encoder per step; the queue's rows carry no gradient.
    For anchor i with candidates A(i) = the batch without i, plus the queue, and positives
    P(i) = the members of A(i) with i's label:

      loss_i = -1/|P(i)| * sum_{p in P(i)} log(exp(z_i.z_p / t) / sum_{a in A(i)} exp(z_i.z_a / t))

    **Queue entries of the anchor's own product count as positives**, not merely as
    non-negatives. SupCon's definition is that every listing of the anchor's class is a
    positive, and a queue entry of the anchor's cluster is exactly that: another listing of
    the product (or the anchor itself, embedded by the momentum encoder a few hundred steps
    ago, which is MoCo's positive key). Counted as a negative it would push the product apart;
    dropped from the denominator only (as InfoNCE does, which has one target per row) it would
    be information thrown away. As positives they also give a signal to anchors whose cluster
    has no other member in the batch, which plain SupCon skips. The entries are slowly moving
    momentum embeddings, so pulling towards them is a stable target (MoCo's reason for them).

    Anchors with no positive in the batch nor in the queue are skipped; the loss is the mean
    over the others, 0 when there are none. An empty queue (K = 0) gives exactly
    :func:`~prodmatch.train.losses.supcon.supcon_loss`.

    Args:
        temperature: divides the cosine similarities; 0.07 as in Khosla et al. and R-SupCon.

    Inputs:
        +-----------------------+-------------------------------------------------+
        | forward argument      | shape                                           |
        +=======================+=================================================+
        | features              | (N, d) one vector per listing of the batch      |
        +-----------------------+-------------------------------------------------+
        | labels                | (N,) integer product cluster per listing        |
        +-----------------------+-------------------------------------------------+
        | queue                 | (K, d) momentum embeddings, no gradient needed  |
        +-----------------------+-------------------------------------------------+
        | queue_labels          | (K,) integer product cluster per queue entry    |
        +-----------------------+-------------------------------------------------+

        Returns a scalar tensor.

    References:
        - Khosla et al. 2020, "Supervised Contrastive Learning",
          https://arxiv.org/abs/2004.11362 (equation 2; its code has a MoCo-style variant).
        - He et al. 2020, "Momentum Contrast for Unsupervised Visual Representation
          Learning" (MoCo), https://arxiv.org/abs/1911.05722
        - Cui et al. 2021, "Parametric Contrastive Learning" (SupCon with a MoCo queue, its
          same-class entries as positives), https://arxiv.org/abs/2107.12028

    Example:
        >>> import torch
        >>> loss = QueueSupConLoss(temperature=1.0)
        >>> z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> queue = torch.tensor([[1.0, 0.0]])
        >>> round(loss(z, torch.tensor([0, 1]), queue, torch.tensor([0])).item(), 4)
        0.3133
    """

    def __init__(self, temperature: float = 0.07) -> None:
        super().__init__(temperature)

    def forward(
        self, features: Tensor, labels: Tensor, queue: Tensor, queue_labels: Tensor
    ) -> Tensor:
        return supcon_queue_loss(
            features, labels, queue, queue_labels, temperature=self.temperature
        )


def supcon_queue_loss(
    features: Tensor,
    labels: Tensor,
    queue: Tensor,
    queue_labels: Tensor,
    *,
    temperature: float = 0.07,
) -> Tensor:
    """The loss of :class:`QueueSupConLoss` as a function (see there for the arguments)."""
    if features.ndim != 2 or labels.shape != (len(features),):
        raise ValueError(
            f"features must be (N, d) and labels (N,); got {tuple(features.shape)} "
            f"and {tuple(labels.shape)}"
        )
    if queue.ndim != 2 or queue.shape[1] != features.shape[1]:
        raise ValueError(f"queue must be (K, {features.shape[1]}), got {tuple(queue.shape)}")
    if queue_labels.shape != (len(queue),):
        raise ValueError(f"queue_labels must be ({len(queue)},), got {tuple(queue_labels.shape)}")
    return supcon_against(features, labels, queue.detach(), queue_labels, temperature)
