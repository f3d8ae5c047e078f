"""SupCon against values worked out by hand on 3-4 two-dimensional vectors."""

from __future__ import annotations

import doctest
import math

import pytest
import torch

from prodmatch.train.losses import SupConLoss, supcon_loss
from prodmatch.train.losses import supcon as supcon_module


def lse(*values: float) -> float:
    return math.log(sum(math.exp(v) for v in values))


def test_one_positive_per_anchor_by_hand() -> None:
    # z2 = (3, 4) normalises to (0.6, 0.8): z1.z2 = 0.6, z1.z3 = 0, z2.z3 = 0.8.
    z = torch.tensor([[1.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    labels = torch.tensor([0, 0, 1])
    tau = 0.5
    anchor1 = -(0.6 / tau - lse(0.6 / tau, 0 / tau))
    anchor2 = -(0.6 / tau - lse(0.6 / tau, 0.8 / tau))
    # anchor 3 is alone in its class: skipped, not counted as zero
    expected = (anchor1 + anchor2) / 2
    assert supcon_loss(z, labels, temperature=tau).item() == pytest.approx(expected, abs=1e-6)
    assert SupConLoss(tau)(z, labels).item() == pytest.approx(expected, abs=1e-6)


def test_several_positives_are_averaged_per_anchor() -> None:
    # z1 = (1, 0), z2 = (0.6, 0.8), z3 = (0, 1), z4 = (-1, 0); labels 0, 0, 0, 1
    z = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]])
    labels = torch.tensor([0, 0, 0, 1])
    d1 = lse(0.6, 0.0, -1.0)  # z1 against z2, z3, z4
    d2 = lse(0.6, 0.8, -0.6)  # z2 against z1, z3, z4
    d3 = lse(0.0, 0.8, 0.0)  # z3 against z1, z2, z4
    anchor1 = -((0.6 - d1) + (0.0 - d1)) / 2
    anchor2 = -((0.6 - d2) + (0.8 - d2)) / 2
    anchor3 = -((0.0 - d3) + (0.8 - d3)) / 2
    expected = (anchor1 + anchor2 + anchor3) / 3  # z4 has no positive
    assert supcon_loss(z, labels, temperature=1.0).item() == pytest.approx(expected, abs=1e-6)


def test_a_batch_without_positives_gives_zero_and_still_backpropagates() -> None:
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    loss = supcon_loss(z, torch.tensor([0, 1]))
    assert loss.item() == 0.0
    loss.backward()
    assert z.grad is not None and torch.equal(z.grad, torch.zeros_like(z))


def test_gradients_are_finite_and_pull_positives_together() -> None:
    z = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], requires_grad=True)
    labels = torch.tensor([0, 0, 1])
    supcon_loss(z, labels, temperature=0.1).backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()
    stepped = (z - 0.01 * z.grad).detach()
    before = torch.nn.functional.cosine_similarity(z[0:1], z[1:2]).item()
    after = torch.nn.functional.cosine_similarity(stepped[0:1], stepped[1:2]).item()
    assert after > before


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="labels"):
        supcon_loss(torch.zeros(3, 2), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="temperature"):
        SupConLoss(temperature=-1.0)


def test_docstring_example_holds() -> None:
    assert doctest.testmod(supcon_module).failed == 0
