from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from prodmatch.train.checkpoint import find_checkpoint, load_checkpoint, save_checkpoint


def _setup() -> tuple[nn.Module, torch.optim.Optimizer]:
    model = nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.ones(4, 3)).sum().backward()
    optimizer.step()
    return model, optimizer


def test_round_trip_restores_weights_optimizer_and_random_state(tmp_path: Path) -> None:
    model, optimizer = _setup()
    save_checkpoint(tmp_path / "ck", {"m": model}, optimizer, {"epoch": 3, "history": [1.5]})
    expected_draw = torch.rand(3)
    fresh = nn.Linear(3, 2)
    fresh_opt = torch.optim.AdamW(fresh.parameters(), lr=0.1)
    torch.rand(10)  # move the random state on
    state = load_checkpoint(tmp_path / "ck", {"m": fresh}, fresh_opt)
    assert state == {"epoch": 3, "history": [1.5]}
    assert torch.equal(fresh.weight, model.weight)
    moments = fresh_opt.state_dict()["state"][0]["exp_avg"]
    assert torch.equal(moments, optimizer.state_dict()["state"][0]["exp_avg"])
    assert torch.equal(torch.rand(3), expected_draw)


def test_an_interrupted_swap_falls_back_to_the_previous_checkpoint(tmp_path: Path) -> None:
    model, optimizer = _setup()
    save_checkpoint(tmp_path / "ck", {"m": model}, optimizer, {"epoch": 1})
    # A kill between the two renames leaves only the old copy.
    (tmp_path / "ck").rename(tmp_path / "ck.old")
    found = find_checkpoint(tmp_path / "ck")
    assert found == tmp_path / "ck.old"
    assert find_checkpoint(tmp_path / "none") is None


def test_a_write_that_dies_midway_leaves_the_previous_checkpoint_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kill while the second checkpoint is written (simulated: the weights file is cut
    short and the write fails) leaves the first one whole and loadable."""
    import prodmatch.train.checkpoint as checkpoint

    model, optimizer = _setup()
    save_checkpoint(tmp_path / "ck", {"m": model}, optimizer, {"epoch": 1})
    kept = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)

    def dies(tensors: dict[str, torch.Tensor], path: str) -> None:
        Path(path).write_bytes(b"\x00" * 7)  # a truncated file, then the process is gone
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "save_file", dies)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "ck", {"m": model}, optimizer, {"epoch": 2})
    monkeypatch.undo()
    found = find_checkpoint(tmp_path / "ck")
    assert found == tmp_path / "ck"
    fresh = nn.Linear(3, 2)
    state = load_checkpoint(found, {"m": fresh}, torch.optim.AdamW(fresh.parameters(), lr=0.1))
    assert state == {"epoch": 1}
    assert torch.equal(fresh.weight, kept)


def test_every_checkpoint_file_and_the_swap_are_flushed_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    model, optimizer = _setup()
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real(fd))
    save_checkpoint(tmp_path / "ck", {"m": model}, optimizer, {"epoch": 1})
    files = list((tmp_path / "ck").iterdir())
    assert len(files) == 4  # m, optimizer, rng, state
    assert len(synced) >= len(files) + 2  # each file, the new folder, its parent
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "ck").iterdir())
