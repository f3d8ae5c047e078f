"""A pair classifier for few labels: a logistic regression over the linker's scalar signals,
pulled toward the untrained scorer's decision.

With tens of labels, most of them chosen near the threshold, a classifier over the listing
vectors (hundreds of inputs) learns the labelled products rather than the boundary, and a
threshold chosen on a held-out handful of matches swings from one retraining to the next
(on abt-buy it stayed below the untrained hybrid scorer at every budget up to 400 labels).
This one starts from what already works and lets labels only move it:

- the untrained hybrid score is linear in the signals, ``w . x`` (dense and TF-IDF cosines,
  model-number agreement) against a threshold ``t``, so ``sharpness * (w . x - t)`` is a
  logistic regression whose decision at probability 0.5 is exactly the untrained one;
- the weights are fitted to the labels by maximum a posteriori with a Gaussian prior
  centred there (L2 toward the prior, ``strength`` its precision): no labels give the
  untrained scorer, labels that agree with it barely move it, labels that contradict it
  move it as far as their number outweighs the prior;
- the decision stays at probability 0.5: no threshold is chosen from the few matches.

The result is an ordinary :class:`~prodmatch.matcher.head.MatchHead` (identity projection,
``hidden_dim=0`` classifier reading only the scalar signals), so it is saved, loaded and
applied like any head-mode matcher's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from scipy.special import expit

from prodmatch.decide import best_threshold
from prodmatch.errors import ProdmatchError
from prodmatch.matcher.head import MatchHead, PairClassifier, ProjectionHead, extra_matrix
from prodmatch.settings import MatchSettings

__all__ = ["PriorConfig", "fit_prior_head", "pair_products", "prior_weights", "train_prior_head"]

if TYPE_CHECKING:
    from prodmatch.train.head_trainer import HeadTrainingResult, ListingVectors

ThresholdRule = Literal["half", "folds"]


@dataclass(frozen=True)
class PriorConfig:
    """``sharpness``: the prior's logit per unit of score above the threshold (how sure the
    untrained scorer is taken to be); ``strength``: the prior's precision, in labels' worth
    of log-likelihood (larger: more labels needed to move a weight).

    ``vectors``: the precision of a weight per dimension of ``u * v`` (the elementwise
    product of the two listings' normalised vectors: a learned weighting of the cosine),
    each pulled toward 0; None reads no vector.

    ``signals``: the columns read beyond the prior's, where the labelled pairs have them
    (the head-mode classifier's, `prodmatch.train.classifier_stage.EXTRA_COLUMNS`, and
    photos). ``threshold``: "half" decides at probability 0.5 (the untrained decision when
    no label moved it); "folds" at the F1-best cut of out-of-fold probabilities over all
    labels once there are ``min_class`` matches and non-matches, 0.5 before.

    The defaults were chosen on abt-buy's validation split (`bench/active_learning.py
    --split valid --seeds 0,1`, records in bench/results/active_learning_choose.json): u * v
    weights at precision 0.003 against none (mean F1 of the active order at 200 labels 0.832
    against 0.774), 0.001 (0.832) and 0.0003 (0.826); the head-mode signals against the
    prior's alone (0.774 against 0.760, without u * v); the 0.5 cut against the fold
    threshold (0.774 against 0.749, without u * v)."""

    sharpness: float = 20.0
    strength: float = 1.0
    vectors: float | None = 0.003
    signals: bool = True
    threshold: ThresholdRule = "half"
    folds: int = 5
    min_class: int = 10
    iterations: int = 50

    def __post_init__(self) -> None:
        if self.sharpness <= 0 or self.strength <= 0 or self.iterations < 1:
            raise ProdmatchError("need sharpness > 0, strength > 0 and iterations >= 1")
        if self.threshold not in ("half", "folds") or self.folds < 2:
            raise ProdmatchError("threshold must be half or folds, with folds >= 2")


def prior_weights(settings: MatchSettings) -> tuple[dict[str, float], float]:
    """The untrained scorer as weights on signal columns and a threshold on their sum.

    The hybrid, dense and TF-IDF scorers are linear in the signals; for the others (fuzzy
    ratio, a trained matcher) the hybrid scorer with the default threshold stands in.
    """
    scorer, threshold = settings.scorer, settings.decision_threshold
    if scorer == "dense":
        return {"dense": 1.0}, threshold
    if scorer == "tfidf":
        return {"sparse": 1.0}, threshold
    if scorer != "hybrid":
        threshold = MatchSettings(scorer="hybrid").decision_threshold
    weights = {
        "dense": settings.dense_weight,
        "sparse": 1.0 - settings.dense_weight,
        "code_agreement": settings.code_weight,
    }
    return weights, threshold


def fit_prior_head(
    labelled: pd.DataFrame,
    settings: MatchSettings,
    dim: int,
    config: PriorConfig | None = None,
    products: npt.NDArray[np.floating] | None = None,
) -> MatchHead:
    """The MAP logistic regression on ``labelled`` pairs (columns: the signals and
    ``label``; may be empty), as a head over ``dim``-dimensional listing vectors;
    ``products``: each pair's ``u * v``, needed when the config reads vectors."""
    cfg = config or PriorConfig()
    problem, columns = _problem(labelled, settings, cfg)
    if cfg.vectors is not None:
        if products is None or products.shape != (len(labelled), dim):
            raise ProdmatchError(f"need u * v of each labelled pair, {len(labelled)} x {dim}")
        problem = problem.with_vectors(np.asarray(products, dtype=np.float64), cfg.vectors)
    theta = _map_logistic(problem, cfg.iterations)
    cut = _fold_threshold(problem, cfg) if cfg.threshold == "folds" else 0.5
    read = dim if cfg.vectors is not None else 0
    metadata = {"prior": asdict(cfg), "labels": len(labelled)}
    return _as_head(theta[read:], theta[:read], columns, dim, cut, metadata)


def _problem(
    labelled: pd.DataFrame, settings: MatchSettings, cfg: PriorConfig
) -> tuple[_Problem, tuple[str, ...]]:
    """The regression over the signal columns (and a bias), centred on the untrained
    scorer's weights times ``sharpness``; the columns read, in order."""
    from prodmatch.train.classifier_stage import EXTRA_COLUMNS, IMAGE_COLUMNS

    weights, threshold = prior_weights(settings)
    extra = EXTRA_COLUMNS + IMAGE_COLUMNS if cfg.signals else ()
    columns = tuple(weights) + tuple(c for c in extra if c in labelled and c not in weights)
    prior = np.array([weights.get(c, 0.0) for c in columns] + [-threshold]) * cfg.sharpness
    x = extra_matrix(labelled, columns, "labelled pairs").astype(np.float64)
    y = labelled["label"].to_numpy(dtype=np.float64) if len(labelled) else np.zeros(0)
    bias = np.ones((len(x), 1))
    return _Problem(np.hstack([x, bias]), y, prior, np.full(len(prior), cfg.strength)), columns


def pair_products(
    left: npt.NDArray[np.floating], right: npt.NDArray[np.floating]
) -> npt.NDArray[np.float64]:
    """``u * v`` of aligned rows, each normalised first, as the head's identity projection
    normalises them."""
    u, v = (np.asarray(x, dtype=np.float64) for x in (left, right))
    u = u / np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-12)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return np.asarray(u * v, dtype=np.float64)


def listing_products(
    left: ListingVectors, right: ListingVectors, pairs: pd.DataFrame
) -> npt.NDArray[np.float64]:
    """Each pair's ``u * v`` from the two sides' listing vectors (by left_id, right_id)."""
    u = left.vectors[left.rows(list(pairs["left_id"].astype(str)), "left listing")]
    v = right.vectors[right.rows(list(pairs["right_id"].astype(str)), "right listing")]
    return pair_products(u, v)


def train_prior_head(
    left: ListingVectors,
    right: ListingVectors,
    train: pd.DataFrame,
    valid: pd.DataFrame,
    settings: MatchSettings,
    config: PriorConfig,
) -> HeadTrainingResult:
    """`prodmatch train --mode head --classifier prior`: the regression fitted on the train
    pairs (with their signals, `pair_features`), measured on the valid pairs at its own
    cut; the result has the shape `train_head` gives."""
    from prodmatch.train.classifier_stage import part_scores
    from prodmatch.train.head_trainer import HeadTrainingResult, head_probabilities

    dim = left.vectors.shape[1]
    head = fit_prior_head(train, settings, dim, config, listing_products(left, right, train))
    scores = head_probabilities(head, left, right, valid)
    metrics = part_scores(scores, valid["label"].to_numpy(), head.threshold)
    head.metadata["valid"] = metrics
    return HeadTrainingResult(head, head.threshold, {**metrics, "threshold": head.threshold})


@dataclass(frozen=True)
class _Problem:
    """Inputs ``x`` (bias column last), labels ``y``, and the Gaussian prior on the weights:
    its centre ``prior`` and per-weight ``precision``."""

    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    prior: npt.NDArray[np.float64]
    precision: npt.NDArray[np.float64]

    def objective(self, theta: npt.NDArray[np.float64]) -> float:
        """Negative log-posterior, up to a constant."""
        z = self.x @ theta
        loss = np.logaddexp(0.0, z) - self.y * z
        return float(loss.sum() + np.sum(self.precision / 2 * (theta - self.prior) ** 2))

    def rows(self, keep: npt.NDArray[np.bool_]) -> _Problem:
        return _Problem(self.x[keep], self.y[keep], self.prior, self.precision)

    def with_vectors(self, products: npt.NDArray[np.float64], precision: float) -> _Problem:
        """``products`` as the first inputs, their weights centred on 0."""
        return _Problem(
            np.hstack([products, self.x]),
            self.y,
            np.r_[np.zeros(products.shape[1]), self.prior],
            np.r_[np.full(products.shape[1], precision), self.precision],
        )


def _fold_threshold(problem: _Problem, cfg: PriorConfig) -> float:
    """The F1-best cut of each label's probability under the regression fitted without its
    fold (folds dealt in label order: seeded by nothing, so a retraining is repeatable);
    0.5 while either class has fewer than ``min_class`` labels."""
    y = problem.y
    if min(y.sum(), len(y) - y.sum()) < cfg.min_class:
        return 0.5
    fold = np.arange(len(y)) % cfg.folds
    held = np.zeros(len(y))
    for k in range(cfg.folds):
        theta = _map_logistic(problem.rows(fold != k), cfg.iterations)
        held[fold == k] = expit(problem.x[fold == k] @ theta)
    return best_threshold(held, y)[0]


def _map_logistic(problem: _Problem, iterations: int) -> npt.NDArray[np.float64]:
    """Newton's method on the negative log-posterior, each step halved until the objective
    falls: convex, so it converges to the one optimum from the prior, deterministically."""
    x, y, precision = problem.x, problem.y, problem.precision
    theta = problem.prior.copy()
    current = problem.objective(theta)
    for _ in range(iterations):
        p = expit(x @ theta)
        gradient = x.T @ (p - y) + precision * (theta - problem.prior)
        hessian = (x * (p * (1.0 - p))[:, None]).T @ x + np.diag(precision)
        step = np.linalg.solve(hessian, gradient)
        for _ in range(30):
            trial = problem.objective(theta - step)
            if trial <= current:
                break
            step = step / 2
        if trial > current:  # no step lowers it: at the optimum, to rounding
            break
        theta, current = theta - step, trial
        if np.abs(step).max() < 1e-8:
            break
    return theta


def _as_head(
    theta: npt.NDArray[np.float64],
    product_weights: npt.NDArray[np.float64],
    columns: Sequence[str],
    dim: int,
    threshold: float,
    metadata: dict[str, object],
) -> MatchHead:
    """A head whose classifier reads the scalar signals (``theta``, bias last) and, if
    given, ``u * v``: the other vector blocks' weights are zero and the projection is the
    (untrained, residual) identity."""
    classifier = PairClassifier(dim, len(columns), hidden_dim=0)
    linear = classifier.net
    assert isinstance(linear, torch.nn.Linear)
    with torch.no_grad():
        linear.weight.zero_()
        linear.weight[0, 4 * dim + 1 :] = torch.as_tensor(theta[:-1], dtype=torch.float32)
        if len(product_weights):
            linear.weight[0, 3 * dim : 4 * dim] = torch.as_tensor(
                product_weights, dtype=torch.float32
            )
        linear.bias.fill_(float(theta[-1]))
    coefficients = dict(zip([*columns, "bias"], map(float, theta), strict=True))
    return MatchHead(
        ProjectionHead(dim),
        classifier.eval(),
        extra_columns=tuple(columns),
        threshold=threshold,
        metadata={"training": {"kind": "prior-logistic", **metadata}, "weights": coefficients},
    )
