"""Prior-shift correction of a classifier's match probabilities.

A classifier fitted on pairs where a share `pi_train` are matches learns that share as its
prior. Applied where the share is `pi_new` (the candidates that matching retrieves), Bayes'
rule with the same likelihoods moves every logit by the difference of the two prior log-odds.
Measured on abt-buy it lost to choosing the threshold on validation candidates (see
BENCHMARKS.md), so training records it for comparison and matching does not apply it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def prior_shift(
    probabilities: npt.ArrayLike, pi_train: float, pi_new: float
) -> npt.NDArray[np.float64]:
    """`probabilities` learned under a match share `pi_train`, restated under `pi_new`:
    logit(p') = logit(p) + log(pi_new / (1 - pi_new)) - log(pi_train / (1 - pi_train))."""
    for name, share in (("pi_train", pi_train), ("pi_new", pi_new)):
        if not 0.0 < share < 1.0:
            raise ValueError(f"{name} must lie strictly between 0 and 1, not {share}")
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1 - 1e-12)
    shift = np.log(pi_new / (1 - pi_new)) - np.log(pi_train / (1 - pi_train))
    logits = np.log(p / (1 - p)) + shift
    return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float64)
