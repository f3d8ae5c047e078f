"""Training checkpoints that survive Ctrl-C or a kill at any moment.

A checkpoint is a folder of safetensors files (weights, optimiser moments, random state) and a
JSON file (counters, history). It is written whole into a fresh folder and then swapped in by
renames, so the folder on disk is always a complete checkpoint: the new one, or the previous.
Each file is flushed to disk (fsync) before the swap and the folders' entries after it, so a
power cut cannot leave a renamed folder of empty files. No pickle: a checkpoint holds tensors
and plain JSON only.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from prodmatch.io import atomic_path, atomic_write_text, sync_dir

STATE_FILE = "state.json"


def save_checkpoint(
    folder: Path,
    modules: dict[str, nn.Module],
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    extra_tensors: dict[str, dict[str, torch.Tensor]] | None = None,
) -> None:
    """Write modules, optimiser and `state` (JSON-able) as one checkpoint at `folder`."""
    fresh = folder.with_name(folder.name + ".new")
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    for name, module in modules.items():
        _save(fresh / f"{name}.safetensors", module.state_dict())
    tensors, groups = _flatten_optimizer(optimizer)
    _save(fresh / "optimizer.safetensors", tensors)
    _save(fresh / "rng.safetensors", {"torch": torch.get_rng_state()})
    for name, extra in (extra_tensors or {}).items():
        _save(fresh / f"{name}.safetensors", extra)
    # the state file last: a folder without it is never taken for a checkpoint
    atomic_write_text(
        fresh / STATE_FILE, json.dumps({**state, "optimizer_groups": groups}, indent=2)
    )
    sync_dir(fresh)
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(fresh, folder)
    sync_dir(folder.parent)
    shutil.rmtree(old, ignore_errors=True)


def find_checkpoint(folder: Path) -> Path | None:
    """The complete checkpoint at `folder`, or the previous one if a swap was interrupted."""
    for candidate in (folder, folder.with_name(folder.name + ".old")):
        if (candidate / STATE_FILE).is_file():
            return candidate
    return None


def load_checkpoint(
    folder: Path, modules: dict[str, nn.Module], optimizer: torch.optim.Optimizer
) -> dict[str, Any]:
    """Restore modules, optimiser and the random state; return the saved `state`."""
    state: dict[str, Any] = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    for name, module in modules.items():
        module.load_state_dict(load_file(str(folder / f"{name}.safetensors")))
    optimizer.load_state_dict(
        _unflatten_optimizer(
            load_file(str(folder / "optimizer.safetensors")), state.pop("optimizer_groups")
        )
    )
    torch.set_rng_state(load_file(str(folder / "rng.safetensors"))["torch"])
    return state


def load_tensors(folder: Path, name: str) -> dict[str, torch.Tensor]:
    return load_file(str(folder / f"{name}.safetensors"))


def _save(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """One safetensors file, written and flushed to disk before it gets its name."""
    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().clone() for k, v in tensors.items()}, str(tmp))


def _flatten_optimizer(
    optimizer: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]]:
    """Optimiser state as flat tensors ("state.<param>.<name>") plus JSON-able groups."""
    saved = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    for index, values in saved["state"].items():
        for name, value in values.items():
            tensors[f"state.{index}.{name}"] = torch.as_tensor(value)
    return tensors, saved["param_groups"]


def _unflatten_optimizer(
    tensors: dict[str, torch.Tensor], groups: list[dict[str, Any]]
) -> dict[str, Any]:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": groups}
