"""The one setting every contrastive loss here has: its temperature."""

from __future__ import annotations

from torch import nn

__all__ = ["TemperatureLoss"]


class TemperatureLoss(nn.Module):
    """A loss module with a positive ``temperature`` dividing its cosine similarities;
    subclasses give the default and ``forward``."""

    def __init__(self, temperature: float) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = temperature

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
