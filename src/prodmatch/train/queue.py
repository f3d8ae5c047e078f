"""MoCo's two pieces: a FIFO queue of embeddings with their clusters, and the momentum copy
of the encoder that fills it.

A 2-core CPU cannot afford batches of 1,024 listings (R-SupCon's), but it can afford to keep
the embeddings of the last few thousand listings it saw and contrast each batch with them.
They must come from an encoder that changes slowly, or the old entries would be embedded by
a different model than the new ones and the comparison would be noise: hence the momentum
copy, an exponential moving average of the trained encoder's weights (He et al. 2020,
https://arxiv.org/abs/1911.05722). Both are modules, so checkpoints save and resume them
like the encoder itself.
"""

from __future__ import annotations

import copy
from typing import TypeVar

import torch
from torch import Tensor, nn

__all__ = ["EmbeddingQueue", "momentum_copy", "momentum_update"]

M = TypeVar("M", bound=nn.Module)


class EmbeddingQueue(nn.Module):
    """The last `size` embeddings pushed, with their cluster labels, oldest overwritten first.

    Everything lives in buffers (vectors, labels, the write position and the fill count), so
    ``state_dict`` holds the whole queue and a resumed run continues with the same one.
    """

    vectors: Tensor
    labels: Tensor
    position: Tensor
    count: Tensor

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        if size < 1 or dim < 1:
            raise ValueError(f"a queue needs size >= 1 and dim >= 1, got {size} and {dim}")
        self.register_buffer("vectors", torch.zeros(size, dim))
        self.register_buffer("labels", torch.zeros(size, dtype=torch.long))
        self.register_buffer("position", torch.zeros((), dtype=torch.long))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @property
    def size(self) -> int:
        return len(self.vectors)

    def __len__(self) -> int:
        return int(self.count)

    @torch.no_grad()
    def push(self, vectors: Tensor, labels: Tensor) -> None:
        """Append `vectors` (B, dim) and `labels` (B,), detached; past `size`, the oldest
        entries make room (of a push longer than the queue, only its last `size` stay)."""
        if vectors.ndim != 2 or vectors.shape[1] != self.vectors.shape[1]:
            raise ValueError(f"vectors must be (B, {self.vectors.shape[1]})")
        if labels.shape != (len(vectors),):
            raise ValueError(f"labels must be ({len(vectors)},)")
        vectors, labels = vectors[-self.size :].detach(), labels[-self.size :]
        rows = (int(self.position) + torch.arange(len(vectors))) % self.size
        self.vectors[rows] = vectors.to(self.vectors.dtype)
        self.labels[rows] = labels.to(torch.long)
        self.position.fill_((int(self.position) + len(vectors)) % self.size)
        self.count.fill_(min(self.size, int(self.count) + len(vectors)))

    def contents(self) -> tuple[Tensor, Tensor]:
        """(vectors, labels) of the entries held, oldest first."""
        if int(self.count) < self.size:
            return self.vectors[: int(self.count)], self.labels[: int(self.count)]
        order = torch.roll(torch.arange(self.size), -int(self.position))
        return self.vectors[order], self.labels[order]


def momentum_copy(module: M) -> M:
    """A copy of `module` that no gradient reaches, to be moved by :func:`momentum_update`;
    in eval mode, so its embeddings (the queue's keys) carry no dropout noise."""
    twin = copy.deepcopy(module)
    for parameter in twin.parameters():
        parameter.requires_grad = False
    return twin.eval()


@torch.no_grad()
def momentum_update(target: nn.Module, source: nn.Module, momentum: float) -> None:
    """target <- momentum * target + (1 - momentum) * source, parameter by parameter;
    buffers (e.g. position ids) are copied. `target` must be a copy of `source`."""
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    pairs = zip(target.parameters(), source.parameters(), strict=True)
    for kept, trained in pairs:
        kept.mul_(momentum).add_(trained.detach(), alpha=1.0 - momentum)
    for kept_buffer, trained_buffer in zip(target.buffers(), source.buffers(), strict=True):
        kept_buffer.copy_(trained_buffer)
