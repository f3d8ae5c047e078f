"""Supervised contrastive loss over product clusters (SupCon, as in R-SupCon)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from prodmatch.train.losses.temperature import TemperatureLoss

__all__ = ["SupConLoss", "supcon_against", "supcon_loss"]


class SupConLoss(TemperatureLoss):
    """Pulls together all listings of one product and pushes apart the rest of the batch.

    Unlike pairwise InfoNCE, a batch holds whole clusters: every listing of a product (from
    either catalog) is a positive of every other, so the model sees all the ways the product
    is written at once. For anchor i with positives P(i) (same label, not i itself) and
    candidates A(i) (every other item):

      loss_i = -1/|P(i)| * sum_{p in P(i)} log(exp(z_i.z_p / t) / sum_{a in A(i)} exp(z_i.z_a / t))

    with z the L2-normalised features. Anchors without a positive in the batch are skipped
    (a singleton gives no signal to pull on) and the loss is the mean over the other anchors;
    a batch with no positives at all gives 0. Batches must keep clusters together for this to
    work: see :class:`prodmatch.train.clusters.ClusterBatchSampler`.

    Khosla et al.'s code also multiplies by ``temperature / base_temperature``; that constant
    only rescales the learning rate and is left out here.

    Args:
        temperature: divides the cosine similarities; 0.07 as in Khosla et al. and R-SupCon.

    Inputs:
        +-----------------------+-------------------------------------------+
        | forward argument      | shape                                     |
        +=======================+===========================================+
        | features              | (N, d) one vector per listing             |
        +-----------------------+-------------------------------------------+
        | labels                | (N,) integer product cluster per listing  |
        +-----------------------+-------------------------------------------+

        Returns a scalar tensor.

    References:
        - Khosla et al. 2020, "Supervised Contrastive Learning",
          https://arxiv.org/abs/2004.11362 (equation 2, the "L_out" form).
        - Peeters & Bizer 2022, "Supervised Contrastive Learning for Product Matching"
          (R-SupCon), https://arxiv.org/abs/2202.02098

    Example:
        >>> import torch
        >>> loss = SupConLoss(temperature=1.0)
        >>> z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> round(loss(z, torch.tensor([0, 0, 1])).item(), 4)  # anchor 2 has no positive
        0.3133
    """

    def __init__(self, temperature: float = 0.07) -> None:
        super().__init__(temperature)

    def forward(self, features: Tensor, labels: Tensor) -> Tensor:
        return supcon_loss(features, labels, temperature=self.temperature)


def supcon_loss(features: Tensor, labels: Tensor, *, temperature: float = 0.07) -> Tensor:
    """The loss of :class:`SupConLoss` as a function (see there for the arguments)."""
    if features.ndim != 2 or labels.shape != (len(features),):
        raise ValueError(
            f"features must be (N, d) and labels (N,); got {tuple(features.shape)} "
            f"and {tuple(labels.shape)}"
        )
    return supcon_against(features, labels, features[:0], labels[:0], temperature)


def supcon_against(
    features: Tensor, labels: Tensor, keys: Tensor, key_labels: Tensor, temperature: float
) -> Tensor:
    """SupCon of the batch `features` against the batch and the extra `keys` (K, d), whose
    `key_labels` (K,) make them positives of the anchors of their cluster and negatives of the
    rest; no keys (K = 0) is the plain batch loss, to the bit. Shapes are checked by callers."""
    z = F.normalize(features, dim=-1)
    candidates = torch.cat([z, F.normalize(keys, dim=-1)])
    candidate_labels = torch.cat([labels, key_labels])
    itself = torch.zeros(len(z), len(candidates), dtype=torch.bool, device=z.device)
    itself[:, : len(z)] = torch.eye(len(z), dtype=torch.bool, device=z.device)
    logits = (z @ candidates.T / temperature).masked_fill(itself, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positive = (labels[:, None] == candidate_labels[None, :]) & ~itself
    counts = positive.sum(dim=1)
    has_positive = counts > 0
    if not bool(has_positive.any()):
        return features.sum() * 0.0  # keeps the graph, so callers can always backward()
    # where(), not multiplication: log_prob is -inf on the diagonal and -inf * 0 is nan.
    summed = torch.where(positive, log_prob, torch.zeros_like(log_prob)).sum(dim=1)
    return -(summed[has_positive] / counts[has_positive]).mean()
