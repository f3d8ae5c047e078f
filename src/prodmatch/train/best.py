"""Keep the best epoch, stop early: the one rule every training loop follows.

Fine-tuning, the cross-encoder, the projection head, the pair classifier and the fusion head
each score an epoch on the validation pairs and keep the best one. :class:`BestEpoch` holds
that rule once: an epoch is kept when its F1 beats every earlier one (strictly, so ties keep
the earlier, simpler model); without validation (F1 NaN) every epoch counts as the best, so
the last is kept; after `patience` epochs without gain the run stops (None: never early).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["BestEpoch"]

T = TypeVar("T")
_STATE_KEYS = ("best_f1", "best_epoch", "bad_epochs", "stopped")


@dataclass
class BestEpoch(Generic[T]):
    """The best epoch so far and whether to stop; ``kept`` is what `update`'s `keep` made of
    the best epoch (a copy of its weights, say), for loops that keep it in memory."""

    patience: int | None = None
    best_f1: float = -1.0
    best_epoch: int = -1
    bad_epochs: int = 0
    stopped: bool = False
    kept: T | None = None

    def update(self, epoch: int, f1: float, keep: Callable[[], T] | None = None) -> bool:
        """Record `epoch`'s validation F1; True (and `keep` called) when it is the best."""
        improved = math.isnan(f1) or f1 > self.best_f1
        if improved:
            self.best_f1, self.best_epoch, self.bad_epochs = f1, epoch, 0
            if keep is not None:
                self.kept = keep()
        else:
            self.bad_epochs += 1
            self.stopped = self.patience is not None and self.bad_epochs >= self.patience
        return improved

    @classmethod
    def from_state(cls, state: dict[str, Any], patience: int | None) -> BestEpoch[T]:
        """The tracker of a resumable loop, from its checkpointed JSON state."""
        return cls(patience, *(state[key] for key in _STATE_KEYS))

    def to_state(self, state: dict[str, Any]) -> None:
        """Write the tracker back into a resumable loop's JSON state."""
        state.update({key: getattr(self, key) for key in _STATE_KEYS})
