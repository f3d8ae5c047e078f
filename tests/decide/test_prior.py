"""prior_shift: a classifier's probabilities restated under another match share, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from prodmatch.decide.prior import prior_shift


def test_prior_shift_by_hand() -> None:
    # p 0.5 learned at a share of 0.5, restated at 0.2: odds 1 x (0.25 / 1) = 0.25 -> 0.2
    # p 0.8 (odds 4) learned at 0.1 (odds 1/9), restated at 0.5 (odds 1): odds 36 -> 36/37
    shifted = prior_shift([0.5, 0.8], 0.5, 0.2)
    assert shifted[0] == pytest.approx(0.2)
    assert shifted[1] == pytest.approx(0.5)  # odds 4 x 0.25 = 1
    assert prior_shift([0.8], 0.1, 0.5)[0] == pytest.approx(36 / 37)


def test_prior_shift_keeps_probabilities_when_the_share_is_the_same() -> None:
    p = np.array([0.01, 0.3, 0.99])
    np.testing.assert_allclose(prior_shift(p, 0.3, 0.3), p)


@pytest.mark.parametrize("share", [0.0, 1.0, -0.1])
def test_prior_shift_refuses_a_share_outside_0_1(share: float) -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        prior_shift([0.5], share, 0.5)
