"""Re-read candidate pairs with a cross-encoder, and blend it with the pair classifier.

The pair classifier (on bi-encoder vectors and cheap signals) is fast; the cross-encoder is
slow and sharp. A matcher with a ``cross/`` folder scores each candidate with the classifier
first, then re-reads it with the cross-encoder, unless the classifier gives it less than the
settings' ``rerank_floor`` (0.01 by default; most candidates are settled there). The final
probability is a logistic blend of both logits,

    p = sigmoid(w_head * logit(p_head) + w_cross * cross_logit + bias),

fitted on the *validation* pairs: both models were trained on the training pairs and are
over-confident there, so stacking them on their own training data would teach the blend to
trust whichever overfits more. Pairs settled below the floor are blended with the lowest
cross logit seen on validation (the cross-encoder's surest "no"), so their scores stay on the
same scale and in the classifier's order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from prodmatch.errors import ProdmatchError
from prodmatch.io import read_format_json
from prodmatch.rerank.cross_encoder import CrossEncoder

__all__ = ["BLEND_FILE", "Blend", "Reranker", "fit_blend"]

BLEND_FILE = "blend.json"
BLEND_FORMAT = "prodmatch-blend/1"
_EPS = 1e-6


@dataclass(frozen=True)
class Blend:
    """How the classifier's and the cross-encoder's logits join, and which pairs skip it."""

    head: float
    cross: float
    bias: float
    settled_cross: float

    def combine(
        self, head_probability: npt.ArrayLike, cross_logit: npt.ArrayLike
    ) -> npt.NDArray[np.float64]:
        z = self.head * logit(head_probability) + self.cross * np.asarray(cross_logit) + self.bias
        out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-z))
        return out

    def save(self, path: Path) -> None:
        payload = {"format": BLEND_FORMAT, **asdict(self)}
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Blend:
        config = read_format_json(path, BLEND_FORMAT, "blend")
        try:
            return cls(**{k: float(config[k]) for k in ("head", "cross", "bias", "settled_cross")})
        except (KeyError, TypeError, ValueError) as error:
            raise ProdmatchError(f"{path}: a blend needs four numbers: {error}") from None


def logit(p: npt.ArrayLike) -> npt.NDArray[np.float64]:
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1.0 - _EPS)
    out: npt.NDArray[np.float64] = np.log(q / (1.0 - q))
    return out


def fit_blend(
    head_probability: npt.ArrayLike, cross_logit: npt.ArrayLike, labels: npt.ArrayLike
) -> Blend:
    """Logistic regression of the labels on both logits (validation pairs), L2-regularised."""
    from sklearn.linear_model import LogisticRegression

    cross = np.asarray(cross_logit, dtype=np.float64)
    y = np.asarray(labels).astype(int)
    if len(set(y.tolist())) < 2:  # nothing to learn from: trust the classifier alone
        return Blend(1.0, 0.0, 0.0, float(cross.min(initial=0.0)))
    features = np.c_[logit(head_probability), cross]
    model = LogisticRegression(C=1.0).fit(features, y)
    (w_head, w_cross), bias = model.coef_[0], model.intercept_[0]
    return Blend(float(w_head), float(w_cross), float(bias), float(cross.min()))


class Reranker:
    """A cross-encoder and its blend, as saved in a matcher's ``cross/`` folder."""

    def __init__(self, model: CrossEncoder, blend: Blend, *, batch_size: int = 64) -> None:
        self.model = model
        self.blend = blend
        self.batch_size = batch_size

    @classmethod
    def load(cls, folder: str | Path, *, device: str = "cpu") -> Reranker:
        """The saved reranker, its cross-encoder on `device` (auto, cpu, cuda)."""
        folder = Path(folder)
        model = CrossEncoder.load(folder).on(device)
        return cls(model, Blend.load(folder / BLEND_FILE))

    def save(self, folder: str | Path) -> Path:
        folder = self.model.save(folder)
        self.blend.save(folder / BLEND_FILE)
        return folder

    def rescore(
        self,
        head_probability: npt.ArrayLike,
        left_texts: Sequence[str],
        right_texts: Sequence[str],
        *,
        floor: float = 0.0,
        progress: bool = False,
    ) -> npt.NDArray[np.float64]:
        """Final probabilities of pairs given the classifier's and the pairs' texts; pairs the
        classifier puts below `floor` are not cross-encoded."""
        head_p = np.asarray(head_probability, dtype=np.float64)
        cross = np.full(len(head_p), self.blend.settled_cross)
        doubtful = np.flatnonzero(head_p >= floor).tolist()
        if len(doubtful):
            cross[doubtful] = self.model.logits(
                [left_texts[i] for i in doubtful],
                [right_texts[i] for i in doubtful],
                batch_size=self.batch_size,
                progress=progress,
            )
        return self.blend.combine(head_p, cross)
