"""Bookkeeping shared by the resumable training loops (fine-tuning, the cross-encoder).

A loop's whole progress is one JSON-able ``state`` dict saved with each checkpoint: its
config, the epoch and step reached, the best validation F1 and its epoch, the epochs without
gain, and the history. Keeping that dict and its rules in one place means every loop resumes,
selects its best epoch and stops early the same way.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from prodmatch.errors import ProdmatchError
from prodmatch.train.checkpoint import find_checkpoint, load_checkpoint

__all__ = ["close_epoch", "initial_state", "resume_state", "set_linear_lr"]


def initial_state(config: Any) -> dict[str, Any]:
    """The state of a run that has not started; `config` is a dataclass of its settings."""
    return {
        "config": asdict(config),
        "epoch": 0,
        "step": 0,
        "global_step": 0,
        "best_f1": -1.0,
        "best_epoch": -1,
        "bad_epochs": 0,
        "stopped": False,
        "losses": [],
        "history": [],
    }


def resume_state(
    folder: Path,
    modules: dict[str, torch.nn.Module],
    optimizer: torch.optim.Optimizer,
    config: Any,
) -> dict[str, Any]:
    """Restore the checkpoint at `folder` if there is one (else a fresh state); refuse one
    written with other settings, which would silently mix two runs."""
    found = find_checkpoint(folder)
    if found is None:
        return initial_state(config)
    state = load_checkpoint(found, modules, optimizer)
    if state["config"] != asdict(config):
        raise ProdmatchError(
            f"{found} holds a checkpoint of a run with other settings; use another output "
            "folder, or delete the checkpoint to start over"
        )
    return state


def close_epoch(state: dict[str, Any], f1: float, patience: int) -> bool:
    """Record the epoch's loss and validation F1, move to the next epoch and decide on early
    stopping; True when this epoch is the best so far (the caller keeps its weights). Without
    validation (F1 NaN) every epoch counts as the best, so the last is kept."""
    losses = state["losses"]
    state["history"].append(
        {
            "epoch": state["epoch"] + 1,
            "loss": float(np.mean(losses)) if losses else math.nan,
            "valid_f1": f1,
        }
    )
    improved = math.isnan(f1) or f1 > state["best_f1"]
    if improved:
        state["best_f1"], state["best_epoch"], state["bad_epochs"] = f1, state["epoch"] + 1, 0
    else:
        state["bad_epochs"] += 1
        state["stopped"] = state["bad_epochs"] >= patience
    state["epoch"], state["step"], state["losses"] = state["epoch"] + 1, 0, []
    return improved


def set_linear_lr(
    optimizer: torch.optim.Optimizer, warmup_ratio: float, step: int, total: int
) -> None:
    """Linear warm-up, then linear decay to zero: the usual schedule for fine-tuning.

    Each parameter group's ``base_lr`` is the peak it rises to."""
    warmup = max(1, int(total * warmup_ratio))
    factor = step / warmup if step < warmup else max(0.0, (total - step) / max(1, total - warmup))
    for group in optimizer.param_groups:
        group["lr"] = group["base_lr"] * max(factor, 1e-3)
