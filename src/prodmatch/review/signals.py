"""How much each signal moved one pair's score: the signal part of an explanation.

The parts are read off the scorer the linker runs, never recomputed beside it:

- ``hybrid``: the score *is* a weighted sum, so each part is exact and they add up to the
  score from a baseline of 0: ``dense_weight * dense``, ``(1 - dense_weight) * sparse``,
  ``code_weight * code_agreement``.
- ``dense``, ``tfidf``, ``fuzzy``: one signal is the score.
- ``learned``: parts are in *logit* units (the probability is ``sigmoid(baseline + sum)``).
  A logistic-regression classifier (``hidden_dim=0``) is linear in its inputs, so each part
  is exactly ``weight * value``. An MLP classifier is explained by integrated gradients
  (Sundararajan et al., 2017) from an all-zero input ("no evidence") in 64 steps, which
  adds up to the logit up to a small remainder, reported as ``rest``. The input columns are
  grouped: the projected vectors ``[u, v, |u - v|, u * v]`` ("encoder vectors"), their
  cosine ("projected cosine"), and each scalar signal by name.
- With a cross-encoder the blend is linear in logits, ``w_head * logit(p_head) + w_cross *
  cross_logit + bias``: the classifier's parts are scaled by ``w_head`` and the
  cross-encoder's part is ``w_cross * cross_logit``, taken from the final score itself.

Price has no signal of its own: it reaches the score through the listing text (encoder and
TF-IDF), so its weight shows in the attribute part of an explanation, not here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from prodmatch.linker import Linker, Side
    from prodmatch.matcher.head import MatchHead

Space = Literal["score", "logit"]
IG_STEPS = 64
# Display names of the signals, one per column or classifier input group.
SIGNAL_NAMES = {
    "dense": "encoder cosine",
    "sparse": "TF-IDF cosine",
    "code_agreement": "model numbers agree",
    "code_variant": "model-number variant",
    "image": "photo cosine",
    "image_both": "both have photos",
    "price_ratio": "price ratio",
    "price_missing": "a price missing",
    "brand_agreement": "brands agree",
    "unit_agreement": "numbers with units agree",
    "year_agreement": "years agree",
    "edition_agreement": "editions agree",
    "platform_agreement": "platforms agree",
    "vectors": "encoder vectors (projected)",
    "projected_cosine": "projected cosine",
    "cross": "cross-encoder",
    "fuzzy": "fuzzy token-set ratio",
    "rest": "rest (attribution remainder)",
}


@dataclass(frozen=True)
class SignalPart:
    """One signal's share of a score: its raw value (when it has one) and what it added."""

    signal: str
    label: str
    value: float | None
    contribution: float


@dataclass(frozen=True)
class SignalBreakdown:
    """The parts of one score: ``baseline + sum(contributions)`` is the score (``space ==
    "score"``) or its logit (``space == "logit"``)."""

    space: Space
    baseline: float
    parts: list[SignalPart]
    method: str

    def total(self) -> float:
        return self.baseline + sum(p.contribution for p in self.parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "space": self.space,
            "baseline": self.baseline,
            "method": self.method,
            "parts": [asdict(p) for p in self.parts],
        }


def _part(signal: str, value: float | None, contribution: float) -> SignalPart:
    return SignalPart(signal, SIGNAL_NAMES.get(signal, signal), value, float(contribution))


def signal_breakdown(
    linker: Linker, left: Side, right: Side, features: pd.DataFrame, score: float
) -> SignalBreakdown:
    """The signal parts of the single pair in `features` (as `Linker.features` gives it),
    whose final score `Linker.score` gave as `score`."""
    s = linker.settings
    row = features.iloc[0]
    if linker.head is not None:
        return _learned(linker, left, right, features, score)
    if s.scorer == "hybrid":
        parts = [
            _part("dense", float(row["dense"]), s.dense_weight * float(row["dense"])),
            _part("sparse", float(row["sparse"]), (1 - s.dense_weight) * float(row["sparse"])),
            _part(
                "code_agreement",
                float(row["code_agreement"]),
                s.code_weight * float(row["code_agreement"]),
            ),
        ]
        return SignalBreakdown("score", 0.0, parts, "exact: the hybrid score is a weighted sum")
    name = {"dense": "dense", "tfidf": "sparse"}.get(s.scorer, "fuzzy")
    value = float(row[name]) if name in row else score
    return SignalBreakdown("score", 0.0, [_part(name, value, score)], "exact: one signal")


def _learned(
    linker: Linker, left: Side, right: Side, features: pd.DataFrame, score: float
) -> SignalBreakdown:
    from prodmatch.rerank.reranker import logit

    head = linker.head
    assert head is not None and left.vectors is not None and right.vectors is not None
    li, ri = int(features["left"].iloc[0]), int(features["right"].iloc[0])
    extra = head.extra_matrix(features)
    baseline, groups, method = head_attribution(
        head, left.vectors[li : li + 1], right.vectors[ri : ri + 1], extra
    )
    head_p = float(head.score(left.vectors[li : li + 1], right.vectors[ri : ri + 1], extra)[0])
    values = {c: float(extra[0, n]) for n, c in enumerate(head.extra_columns)}
    weight, bias, cross = 1.0, 0.0, None
    if linker.reranker is not None:
        blend = linker.reranker.blend
        weight, bias = blend.head, blend.bias
        cross = float(logit(score)[()] - bias - weight * logit(head_p)[()])
        method += "; cross-encoder blended linearly in logits (exact)"
    parts = [_part(g, values.get(g), weight * c) for g, c in groups.items()]
    if cross is not None:
        parts.append(_part("cross", None, cross))
    base = weight * baseline + bias
    rest = float(logit(score)[()]) - base - sum(p.contribution for p in parts)
    if abs(rest) > 1e-6:
        parts.append(_part("rest", None, rest))
    return SignalBreakdown("logit", base, parts, method)


def head_attribution(
    head: MatchHead,
    left_vectors: np.ndarray,
    right_vectors: np.ndarray,
    extra: np.ndarray,
) -> tuple[float, dict[str, float], str]:
    """The classifier's logit for one pair split by input group: (baseline, parts, method).

    Exact for a linear classifier, integrated gradients for an MLP (see the module's note).
    """
    import torch
    from torch import nn

    classifier = head.classifier
    u = torch.as_tensor(head.project(left_vectors))
    v = torch.as_tensor(head.project(right_vectors))
    x = classifier.input_rows(u, v, torch.as_tensor(np.asarray(extra, dtype=np.float32)))[0]
    net = classifier.net
    if isinstance(net, nn.Linear):
        with torch.no_grad():
            per_input = (net.weight[0] * x).double().numpy()
            baseline = float(net.bias[0])
        method = "exact: the classifier is linear in its inputs"
    else:
        per_input, baseline = _integrated_gradients(net, x)
        method = f"integrated gradients from a zero input ({IG_STEPS} steps)"
    dim = classifier.dim
    groups = {
        "vectors": float(per_input[: 4 * dim].sum()),
        "projected_cosine": float(per_input[4 * dim]),
    }
    for n, column in enumerate(head.extra_columns):
        groups[column] = float(per_input[4 * dim + 1 + n])
    return baseline, groups, method


def _integrated_gradients(net: object, x: object) -> tuple[np.ndarray, float]:
    """Riemann-midpoint integrated gradients of a scalar network output along 0 -> x."""
    import torch

    assert isinstance(net, torch.nn.Module) and isinstance(x, torch.Tensor)
    alphas = (torch.arange(IG_STEPS, dtype=torch.float32) + 0.5) / IG_STEPS
    path = (alphas[:, None] * x.detach()[None, :]).requires_grad_(True)
    out = net(path).sum()
    (grads,) = torch.autograd.grad(out, path)
    with torch.no_grad():
        baseline = float(net(torch.zeros_like(x)[None, :]).reshape(-1)[0])
    attribution = (x.detach() * grads.mean(dim=0)).double().numpy()
    return attribution, baseline
