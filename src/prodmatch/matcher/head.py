"""The pair classifier a trained matcher runs: a projection and a classifier on frozen embeddings.

Training the encoder itself is slow on CPU; training a few thousand weights on top of vectors
that are already computed (and cached) takes seconds. The projection head re-shapes the
embedding space so that listings of one product move together; the pair classifier then
reads both projected vectors and the cheap signals the linker already computes (dense and
TF-IDF cosines, model-number agreement) and says match or not.

Heads are saved as safetensors weights plus a JSON config: loading runs no code, unlike a
pickle, so a head folder from anywhere is safe to open.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from prodmatch.errors import ProdmatchError, first_line
from prodmatch.io import atomic_write_text, load_weights, read_format_json, save_weights

__all__ = ["HEAD_FORMAT", "MatchHead", "PairClassifier", "ProjectionHead", "extra_matrix"]

HEAD_FORMAT = "prodmatch-head/1"
_CONFIG = "head.json"
_WEIGHTS = {"projection": "projection.safetensors", "classifier": "classifier.safetensors"}


class ProjectionHead(nn.Module):
    """Linear-ReLU-Linear, L2-normalised output: SimCLR's projection, as used by R-SupCon.

    ``out_dim`` and ``hidden_dim`` default to ``in_dim``. The output is normalised so that dot
    products are cosines, which is what the contrastive losses and the dense retriever expect.

    ``residual`` (default: when ``out_dim == in_dim``) adds the input back, ``x + mlp(x)``,
    with the last layer starting at zero, so the untrained head is the identity. On frozen
    embeddings that matters: a randomly initialised MLP scrambles what the encoder knows
    (on synthetic data it cut the cosine's F1 from 0.99 to 0.73), and training has to win it
    back from few labels; starting from the identity, training only adds corrections.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int | None = None,
        hidden_dim: int | None = None,
        residual: bool | None = None,
    ) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.out_dim = out_dim or in_dim
        self.hidden_dim = hidden_dim or in_dim
        self.residual = self.out_dim == in_dim if residual is None else residual
        if self.residual and self.out_dim != in_dim:
            raise ValueError(f"a residual head keeps the size: out_dim must be {in_dim}")
        self.net = nn.Sequential(
            nn.Linear(in_dim, self.hidden_dim), nn.ReLU(), nn.Linear(self.hidden_dim, self.out_dim)
        )
        if self.residual:
            last = self.net[-1]
            assert isinstance(last, nn.Linear)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.net(x)
        if self.residual:
            out = F.normalize(x, dim=-1) + out
        return F.normalize(out, dim=-1)

    def config(self) -> dict[str, int | bool]:
        return {
            "in_dim": self.in_dim,
            "out_dim": self.out_dim,
            "hidden_dim": self.hidden_dim,
            "residual": self.residual,
        }


class PairClassifier(nn.Module):
    """Match logit of a pair from [u, v, |u - v|, u * v, u . v] and ``n_extra`` scalar signals.

    The four vector blocks are the classic sentence-pair features (InferSent, SBERT's
    SoftmaxLoss): |u - v| and u * v say where two listings differ and agree dimension by
    dimension, which a single cosine averages away. The cosine u . v itself is added as one
    more column: with few labels an MLP over hundreds of inputs learns to recognise the
    training products sooner than to sum u * v, and then does worse than the plain cosine.
    Scalar signals are appended unchanged. ``hidden_dim=0`` makes it a logistic regression,
    a sturdier choice with very few labels.
    """

    def __init__(self, dim: int, n_extra: int = 0, hidden_dim: int = 64) -> None:
        super().__init__()
        self.dim = dim
        self.n_extra = n_extra
        self.hidden_dim = hidden_dim
        width = 4 * dim + 1 + n_extra
        self.net: nn.Module = (
            nn.Sequential(nn.Linear(width, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 1))
            if hidden_dim > 0
            else nn.Linear(width, 1)
        )

    @staticmethod
    def input_rows(u: Tensor, v: Tensor, extra: Tensor | None = None) -> Tensor:
        """The classifier's input rows; ``u`` and ``v`` are expected L2-normalised."""
        product = u * v
        blocks = [u, v, (u - v).abs(), product, product.sum(dim=1, keepdim=True)]
        if extra is not None:
            blocks.append(extra)
        return torch.cat(blocks, dim=1)

    def forward(self, u: Tensor, v: Tensor, extra: Tensor | None = None) -> Tensor:
        """Logits of shape (N,); apply a sigmoid for match probabilities."""
        if (extra.shape[1] if extra is not None else 0) != self.n_extra:
            raise ValueError(f"expected {self.n_extra} extra columns")
        out: Tensor = self.net(self.input_rows(u, v, extra))
        return out.squeeze(-1)

    def config(self) -> dict[str, int]:
        return {"dim": self.dim, "n_extra": self.n_extra, "hidden_dim": self.hidden_dim}


@dataclass
class MatchHead:
    """A trained projection and pair classifier, with what is needed to apply them.

    ``extra_columns`` names the scalar signals the classifier reads, in order (e.g. the
    linker's "dense", "sparse", "code_agreement"); ``threshold`` is the match-probability cut
    chosen on validation pairs.
    """

    projection: ProjectionHead
    classifier: PairClassifier
    extra_columns: tuple[str, ...] = ()
    threshold: float = 0.5
    metadata: dict[str, Any] = field(default_factory=dict)

    def project(self, vectors: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Projected, normalised vectors of frozen embeddings."""
        self.projection.eval()
        with torch.no_grad():
            out = self.projection(torch.as_tensor(np.asarray(vectors, dtype=np.float32)))
        return np.asarray(out.numpy(), dtype=np.float32)

    def score(
        self,
        left_vectors: npt.ArrayLike,
        right_vectors: npt.ArrayLike,
        extra: npt.ArrayLike | None = None,
    ) -> npt.NDArray[np.float64]:
        """Match probabilities of aligned rows of left and right embeddings (not projected)."""
        self.classifier.eval()
        u = torch.as_tensor(self.project(left_vectors))
        v = torch.as_tensor(self.project(right_vectors))
        x = None if extra is None else torch.as_tensor(np.asarray(extra, dtype=np.float32))
        with torch.no_grad():
            logits = self.classifier(u, v, x.reshape(len(u), -1) if x is not None else None)
        return np.asarray(torch.sigmoid(logits).numpy(), dtype=np.float64)

    def save(self, folder: str | Path) -> Path:
        """Write head.json and one safetensors file per module into ``folder``."""
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        for name, module in (("projection", self.projection), ("classifier", self.classifier)):
            save_weights(module, target / _WEIGHTS[name])
        config = {
            "format": HEAD_FORMAT,
            "projection": self.projection.config(),
            "classifier": self.classifier.config(),
            "extra_columns": list(self.extra_columns),
            "threshold": self.threshold,
            "metadata": self.metadata,
        }
        atomic_write_text(target / _CONFIG, json.dumps(config, indent=2) + "\n")
        return target

    @classmethod
    def load(cls, folder: str | Path) -> MatchHead:
        """Read a folder written by :meth:`save`; any problem is one ProdmatchError."""
        source = Path(folder)
        config = read_format_json(source / _CONFIG, HEAD_FORMAT, "head")
        try:
            projection = ProjectionHead(**config["projection"])
            classifier = PairClassifier(**config["classifier"])
            head = cls(
                projection=projection,
                classifier=classifier,
                extra_columns=_current_names(config.get("extra_columns", ())),
                threshold=float(config.get("threshold", 0.5)),
                metadata=dict(config.get("metadata", {})),
            )
        except (KeyError, TypeError, ValueError, RuntimeError) as error:
            raise ProdmatchError(f"{source}: cannot load the head: {first_line(error)}") from error
        for name, module in (("projection", projection), ("classifier", classifier)):
            load_weights(module, source / _WEIGHTS[name], "head")
        if len(head.extra_columns) != classifier.n_extra:
            raise ProdmatchError(f"{source}: extra_columns do not match the classifier")
        projection.eval()
        classifier.eval()
        return head

    def extra_matrix(self, frame: pd.DataFrame, name: str = "pairs") -> npt.NDArray[np.float32]:
        """The ``extra_columns`` of a pairs DataFrame as a float32 matrix, checked."""
        return extra_matrix(frame, self.extra_columns, name)


# Signal columns renamed since a matcher folder may have been written: old name -> new name.
# "codes" held the model-number agreement sign (+1/-1/0), now named for what it holds.
_RENAMED_SIGNALS = {"codes": "code_agreement"}


def _current_names(columns: Sequence[str]) -> tuple[str, ...]:
    """A saved head's signal names under today's names, so older matcher folders still load
    and read the same feature (the values never changed, only the column's name)."""
    return tuple(_RENAMED_SIGNALS.get(str(c), str(c)) for c in columns)


def extra_matrix(
    frame: pd.DataFrame, columns: Sequence[str], name: str = "pairs"
) -> npt.NDArray[np.float32]:
    """Scalar signal columns of a DataFrame as a (N, len(columns)) float32 matrix.

    Missing or non-finite values are errors: a NaN here would silently poison every weight.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ProdmatchError(f"{name}: no column {', '.join(map(repr, missing))}")
    values = np.asarray(frame[list(columns)].to_numpy(dtype=np.float64), dtype=np.float32)
    values = values.reshape(len(frame), len(columns))
    if not np.isfinite(values).all():
        raise ProdmatchError(f"{name}: the columns {', '.join(columns)} have missing values")
    return values
