"""The queue losses against values worked out by hand on 2-d vectors, and against the batch
losses when the queue is empty."""

from __future__ import annotations

import doctest
import math

import pytest
import torch

from prodmatch.train.losses import (
    QueueInfoNCELoss,
    QueueSupConLoss,
    info_nce_loss,
    info_nce_queue_loss,
    supcon_loss,
    supcon_queue_loss,
)
from prodmatch.train.losses import infonce_queue as infonce_queue_module
from prodmatch.train.losses import supcon_queue as supcon_queue_module


def lse(*values: float) -> float:
    return math.log(sum(math.exp(v) for v in values))


def ce(target: float, *others: float) -> float:
    return -(target - lse(target, *others))


def t(*rows: tuple[float, ...]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


EMPTY = torch.zeros(0, 2)
NO_LABELS = torch.zeros(0, dtype=torch.long)

# -- SupCon ---------------------------------------------------------------------------------

# Batch: z1 = (1, 0) of product 0, z2 = (0, 1) of product 1: no positive pair in the batch.
# Queue: q1 = (0.6, 0.8) of product 0, q2 = (-1, 0) of product 2, q3 = (0, 2) -> (0, 1) of 1.
Z = t((1.0, 0.0), (0.0, 1.0))
Z_LABELS = torch.tensor([0, 1])
QUEUE = t((0.6, 0.8), (-1.0, 0.0), (0.0, 2.0))
QUEUE_LABELS = torch.tensor([0, 2, 1])


def test_supcon_queue_entries_of_the_anchors_product_are_its_positives() -> None:
    # anchor 1 against z2, q1, q2, q3 = 0, 0.6, -1, 0; its positive is q1
    anchor1 = -(0.6 - lse(0.0, 0.6, -1.0, 0.0))
    # anchor 2 against z1, q1, q2, q3 = 0, 0.8, 0, 1; its positive is q3
    anchor2 = -(1.0 - lse(0.0, 0.8, 0.0, 1.0))
    expected = (anchor1 + anchor2) / 2
    got = supcon_queue_loss(Z, Z_LABELS, QUEUE, QUEUE_LABELS, temperature=1.0)
    assert got.item() == pytest.approx(expected, abs=1e-6)
    assert QueueSupConLoss(1.0)(Z, Z_LABELS, QUEUE, QUEUE_LABELS).item() == pytest.approx(
        expected, abs=1e-6
    )
    # without the queue neither anchor has a positive: plain SupCon learns nothing here
    assert supcon_loss(Z, Z_LABELS, temperature=1.0).item() == 0.0


def test_supcon_batch_and_queue_positives_are_averaged() -> None:
    # z1 = (1, 0), z2 = (0.6, 0.8) both product 0; queue (0, 1) of product 0, (-1, 0) of 3
    z = t((1.0, 0.0), (0.6, 0.8))
    queue = t((0.0, 1.0), (-1.0, 0.0))
    d1 = lse(0.6, 0.0, -1.0)
    d2 = lse(0.6, 0.8, -0.6)
    anchor1 = -((0.6 - d1) + (0.0 - d1)) / 2
    anchor2 = -((0.6 - d2) + (0.8 - d2)) / 2
    got = supcon_queue_loss(z, torch.tensor([0, 0]), queue, torch.tensor([0, 3]), temperature=1.0)
    assert got.item() == pytest.approx((anchor1 + anchor2) / 2, abs=1e-6)


def test_supcon_empty_queue_is_exactly_the_batch_loss() -> None:
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(12, 8, generator=generator)
    labels = torch.tensor([0, 0, 1, 2, 2, 2, 3, 4, 4, 5, 6, 6])
    plain = supcon_loss(z, labels, temperature=0.07)
    assert torch.equal(supcon_queue_loss(z, labels, z[:0], NO_LABELS, temperature=0.07), plain)


def test_supcon_queue_gets_no_gradient_and_the_batch_a_finite_one() -> None:
    z = Z.clone().requires_grad_(True)
    queue = QUEUE.clone().requires_grad_(True)
    supcon_queue_loss(z, Z_LABELS, queue, QUEUE_LABELS, temperature=0.1).backward()
    assert queue.grad is None
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


# -- InfoNCE --------------------------------------------------------------------------------

# Pairs (a1, p1) of product 0 and (a2, p2) of product 1; p2 = (3, 4) -> (0.6, 0.8).
A2 = t((1.0, 0.0), (0.0, 1.0))
P2 = t((1.0, 0.0), (3.0, 4.0))
PAIR_LABELS = torch.tensor([0, 1])
# q1 = (1, 0) is product 0 (masked in both rows of pair 1), q2 = (0, 1) another product
PAIR_QUEUE = t((1.0, 0.0), (0.0, 1.0))
PAIR_QUEUE_LABELS = torch.tensor([0, 5])


def test_infonce_queue_adds_masked_columns_in_both_directions() -> None:
    # a.p^T = [[1, 0.6], [0, 0.8]]; a.q^T = [[1 (masked), 0], [0, 1]]
    a_to_p = (ce(1.0, 0.6, 0.0) + ce(0.8, 0.0, 0.0, 1.0)) / 2
    # p.a^T = [[1, 0], [0.6, 0.8]]; p.q^T = [[1 (masked), 0], [0.6, 0.8]]
    p_to_a = (ce(1.0, 0.0, 0.0) + ce(0.8, 0.6, 0.6, 0.8)) / 2
    expected = (a_to_p + p_to_a) / 2
    got = info_nce_queue_loss(
        A2, P2, PAIR_LABELS, PAIR_QUEUE, PAIR_QUEUE_LABELS, temperature=1.0
    ).item()
    assert got == pytest.approx(expected, abs=1e-6)
    module = QueueInfoNCELoss(1.0)(A2, P2, PAIR_LABELS, PAIR_QUEUE, PAIR_QUEUE_LABELS)
    assert module.item() == pytest.approx(expected, abs=1e-6)


def test_infonce_same_product_queue_entry_is_not_a_negative() -> None:
    # the queue entry (1, 0) is a1's own product: masked, the loss is plain InfoNCE's;
    # labelled as another product it is a negative and raises the loss
    queue = t((1.0, 0.0))
    plain = info_nce_loss(A2, P2, temperature=1.0, labels=PAIR_LABELS).item()
    own = info_nce_queue_loss(
        A2, P2, torch.tensor([0, 0]), queue, torch.tensor([0]), temperature=1.0
    )
    other = info_nce_queue_loss(A2, P2, PAIR_LABELS, queue, torch.tensor([9]), temperature=1.0)
    assert own.item() == pytest.approx(
        info_nce_loss(A2, P2, temperature=1.0, labels=torch.tensor([0, 0])).item(), abs=1e-6
    )
    assert other.item() > plain


def test_infonce_empty_queue_is_exactly_the_batch_loss() -> None:
    generator = torch.Generator().manual_seed(1)
    a, p, negatives = (torch.randn(n, 8, generator=generator) for n in (6, 6, 3))
    labels = torch.tensor([0, 0, 1, 2, 3, 3])
    negative_labels = torch.tensor([1, -1, -2])
    plain = info_nce_loss(
        a, p, hard_negatives=negatives, labels=labels, negative_labels=negative_labels
    )
    queued = info_nce_queue_loss(
        a,
        p,
        labels,
        a[:0],
        NO_LABELS,
        hard_negatives=negatives,
        negative_labels=negative_labels,
    )
    assert torch.equal(queued, plain)


def test_bad_queue_shapes_are_named() -> None:
    with pytest.raises(ValueError, match="queue must be"):
        supcon_queue_loss(Z, Z_LABELS, torch.zeros(2, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="queue_labels"):
        info_nce_queue_loss(A2, P2, PAIR_LABELS, PAIR_QUEUE, torch.tensor([0]))
    with pytest.raises(ValueError, match="temperature"):
        QueueSupConLoss(temperature=0.0)


def test_docstring_examples_hold() -> None:
    assert doctest.testmod(supcon_queue_module).failed == 0
    assert doctest.testmod(infonce_queue_module).failed == 0
