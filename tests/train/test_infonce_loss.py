"""InfoNCE against values worked out by hand on 2-3 two-dimensional vectors."""

from __future__ import annotations

import doctest
import math

import pytest
import torch

from prodmatch.train.losses import InfoNCELoss, info_nce_loss
from prodmatch.train.losses import infonce as infonce_module


def ce(target: float, *others: float) -> float:
    """Cross-entropy of one row by hand: -log(e^target / (e^target + sum e^other))."""
    return -math.log(math.exp(target) / (math.exp(target) + sum(math.exp(o) for o in others)))


def t(*rows: tuple[float, ...]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


# Two pairs. p2 = (3, 4) is not unit length; the loss normalises it to (0.6, 0.8), so
# a.p^T = [[1, 0.6], [0, 0.8]].
A2 = t((1.0, 0.0), (0.0, 1.0))
P2 = t((1.0, 0.0), (3.0, 4.0))


def test_two_pairs_by_hand() -> None:
    tau = 0.5
    a_to_p = (ce(1 / tau, 0.6 / tau) + ce(0.8 / tau, 0 / tau)) / 2  # rows of a.p^T
    p_to_a = (ce(1 / tau, 0 / tau) + ce(0.8 / tau, 0.6 / tau)) / 2  # rows of p.a^T
    expected = (a_to_p + p_to_a) / 2
    assert info_nce_loss(A2, P2, temperature=tau).item() == pytest.approx(expected, abs=1e-6)
    assert InfoNCELoss(tau)(A2, P2).item() == pytest.approx(expected, abs=1e-6)


def test_hard_negatives_add_columns_to_the_anchor_side_only() -> None:
    negative = t((0.0, 2.0))  # normalised (0, 1): a1.n = 0, a2.n = 1
    a_to_p = (ce(1.0, 0.6, 0.0) + ce(0.8, 0.0, 1.0)) / 2
    p_to_a = (ce(1.0, 0.0) + ce(0.8, 0.6)) / 2  # unchanged by the negative
    expected = (a_to_p + p_to_a) / 2
    loss = info_nce_loss(A2, P2, temperature=1.0, hard_negatives=negative)
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    assert loss.item() > info_nce_loss(A2, P2, temperature=1.0).item()


# Three pairs, the first two of one product (label 0). a.p^T:
#   a1 = (1, 0):     [1,   0.8,  0  ]
#   a2 = (0, 1):     [0,   0.6,  1  ]
#   a3 = (0.6, 0.8): [0.6, 0.96, 0.8]
A3 = t((1.0, 0.0), (0.0, 1.0), (0.6, 0.8))
P3 = t((1.0, 0.0), (0.8, 0.6), (0.0, 1.0))
LABELS3 = torch.tensor([0, 0, 1])


def test_three_pairs_without_labels_by_hand() -> None:
    a_to_p = (ce(1, 0.8, 0) + ce(0.6, 0, 1) + ce(0.8, 0.6, 0.96)) / 3
    p_to_a = (ce(1, 0, 0.6) + ce(0.6, 0.8, 0.96) + ce(0.8, 0, 1)) / 3
    expected = (a_to_p + p_to_a) / 2
    assert info_nce_loss(A3, P3, temperature=1.0).item() == pytest.approx(expected, abs=1e-6)


def test_pairs_of_one_product_are_not_negatives_of_each_other() -> None:
    # Same as above with the (1, 2) and (2, 1) cross terms removed from the denominators.
    a_to_p = (ce(1, 0) + ce(0.6, 1) + ce(0.8, 0.6, 0.96)) / 3
    p_to_a = (ce(1, 0.6) + ce(0.6, 0.96) + ce(0.8, 0, 1)) / 3
    expected = (a_to_p + p_to_a) / 2
    masked = info_nce_loss(A3, P3, temperature=1.0, labels=LABELS3)
    assert masked.item() == pytest.approx(expected, abs=1e-6)
    assert masked.item() < info_nce_loss(A3, P3, temperature=1.0).item()


def test_all_pairs_of_one_product_leave_nothing_to_contrast() -> None:
    loss = info_nce_loss(A3, P3, temperature=1.0, labels=torch.tensor([4, 4, 4]))
    assert loss.item() == pytest.approx(0.0, abs=1e-7)


def test_a_hard_negative_of_the_anchors_own_product_is_ignored() -> None:
    labels = torch.tensor([0, 1])
    negative = t((1.0, 0.0))  # a1.n = 1, a2.n = 0; it is product 0, so only a2 sees it
    negative_labels = torch.tensor([0])
    a_to_p = (ce(1.0, 0.6) + ce(0.8, 0.0, 0.0)) / 2
    p_to_a = (ce(1.0, 0.0) + ce(0.8, 0.6)) / 2
    loss = info_nce_loss(
        A2,
        P2,
        temperature=1.0,
        hard_negatives=negative,
        labels=labels,
        negative_labels=negative_labels,
    )
    assert loss.item() == pytest.approx((a_to_p + p_to_a) / 2, abs=1e-6)


def test_masked_gradients_are_finite() -> None:
    a = A3.clone().requires_grad_(True)
    p = P3.clone().requires_grad_(True)
    negatives = t((0.0, 1.0), (1.0, 1.0))
    loss = info_nce_loss(
        a,
        p,
        hard_negatives=negatives,
        labels=LABELS3,
        negative_labels=torch.tensor([1, 0]),
    )
    loss.backward()
    assert a.grad is not None and p.grad is not None
    assert torch.isfinite(a.grad).all() and torch.isfinite(p.grad).all()


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="anchors and positives"):
        info_nce_loss(A2, A3)
    with pytest.raises(ValueError, match="labels"):
        info_nce_loss(A2, P2, labels=LABELS3)
    with pytest.raises(ValueError, match="negative_labels"):
        info_nce_loss(A2, P2, labels=torch.tensor([0, 1]), negative_labels=torch.tensor([0]))
    with pytest.raises(ValueError, match="temperature"):
        InfoNCELoss(temperature=0.0)


def test_docstring_example_holds() -> None:
    assert doctest.testmod(infonce_module).failed == 0
