"""Bookkeeping shared by the resumable training loops (fine-tuning, the cross-encoder).

A loop's whole progress is one JSON-able ``state`` dict saved with each checkpoint: its
config, the epoch and step reached, the best validation F1 and its epoch, the epochs without
gain, and the history. Keeping that dict and its rules in one place means every loop resumes,
selects its best epoch and stops early the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor

from prodmatch.errors import ProdmatchError
from prodmatch.progress import progress_bar
from prodmatch.train.best import BestEpoch
from prodmatch.train.checkpoint import find_checkpoint, load_checkpoint

__all__ = ["close_epoch", "initial_state", "resume_state", "run_epochs", "set_linear_lr"]

B = TypeVar("B")


def initial_state(config: Any, fingerprint: dict[str, str] | None = None) -> dict[str, Any]:
    """The state of a run that has not started; `config` is a dataclass of its settings and
    `fingerprint` what it trains on (see :mod:`prodmatch.train.fingerprint`)."""
    return {
        "config": asdict(config),
        "fingerprint": fingerprint or {},
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
    fingerprint: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Restore the checkpoint at `folder` if there is one (else a fresh state); refuse one
    written with other settings, other data or another base model, which would silently
    continue an old run's weights as if they were this run's."""
    found = find_checkpoint(folder)
    if found is None:
        return initial_state(config, fingerprint)
    state = load_checkpoint(found, modules, optimizer)
    start_over = (
        f"to start over, pass --restart (train_matcher(restart=True)) or delete {found.parent}"
    )
    if state["config"] != asdict(config):
        raise ProdmatchError(
            f"{found} holds a checkpoint of a run with other settings; use another output "
            f"folder, or {start_over}"
        )
    saved = state.get("fingerprint", {})
    changed = [name for name, value in (fingerprint or {}).items() if saved.get(name) != value]
    if changed:
        what = " and ".join("training data" if n == "data" else "base model" for n in changed)
        raise ProdmatchError(
            f"{found} holds a checkpoint of a run with another {what}; {start_over}"
        )
    return state


def close_epoch(state: dict[str, Any], f1: float, patience: int) -> bool:
    """Record the epoch's loss and validation F1, move to the next epoch and decide on early
    stopping (:class:`~prodmatch.train.best.BestEpoch`'s rule); True when this epoch is the
    best so far (the caller keeps its weights). Without validation (F1 NaN) every epoch
    counts as the best, so the last is kept."""
    losses = state["losses"]
    state["history"].append(
        {
            "epoch": state["epoch"] + 1,
            "loss": float(np.mean(losses)) if losses else math.nan,
            "valid_f1": f1,
        }
    )
    best: BestEpoch[None] = BestEpoch.from_state(state, patience)
    improved = best.update(state["epoch"] + 1, f1)
    best.to_state(state)
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


def run_epochs(
    state: dict[str, Any],
    optimizer: torch.optim.Optimizer,
    batches_of: Callable[[int], Sequence[B]],
    loss_of: Callable[[B], Tensor],
    end_epoch: Callable[[], None],
    save: Callable[[], None],
    *,
    epochs: int,
    total_steps: int,
    warmup_ratio: float,
    checkpoint_every: int,
    description: str,
    progress: bool,
    stop_after_steps: int | None = None,
    clip_norm: float | None = None,
) -> bool:
    """Run (or resume) the epochs left in `state`: the steps of each epoch's batches (a pure
    function of the epoch, so a resumed run skips exactly the steps it did), then `end_epoch`
    (validation, which must call :func:`close_epoch`). `save` writes a checkpoint: every
    `checkpoint_every` steps, at each epoch's end and on Ctrl-C.

    False when `stop_after_steps` ended the run early (tests simulate an interruption so),
    True when it is done.
    """
    steps_run = 0
    try:
        while state["epoch"] < epochs and not state["stopped"]:
            batches = batches_of(state["epoch"])
            with progress_bar(
                f"{description} {state['epoch'] + 1}/{epochs}",
                len(batches),
                unit="steps",
                enabled=progress,
            ) as advance:
                advance(state["step"])
                for index in range(state["step"], len(batches)):
                    if stop_after_steps is not None and steps_run >= stop_after_steps:
                        save()
                        return False
                    set_linear_lr(optimizer, warmup_ratio, state["global_step"], total_steps)
                    loss = loss_of(batches[index])
                    optimizer.zero_grad()
                    loss.backward()  # type: ignore[no-untyped-call]
                    if clip_norm is not None:
                        parameters = [p for g in optimizer.param_groups for p in g["params"]]
                        torch.nn.utils.clip_grad_norm_(parameters, clip_norm)
                    optimizer.step()
                    state["losses"].append(float(loss.detach()))
                    state["step"], state["global_step"] = index + 1, state["global_step"] + 1
                    steps_run += 1
                    advance(1)
                    if state["global_step"] % checkpoint_every == 0:
                        save()
            end_epoch()
            save()
    except KeyboardInterrupt:
        save()
        raise
    return True
