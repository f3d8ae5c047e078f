from __future__ import annotations

from pathlib import Path

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
