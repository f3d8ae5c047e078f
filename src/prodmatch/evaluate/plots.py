"""Pictures of a matcher's scores: the precision-recall curve and the score distributions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from prodmatch.io import atomic_path


@dataclass(frozen=True)
class OperatingPoint:
    """Where the chosen threshold puts the decisions on the precision-recall curve."""

    threshold: float
    precision: float
    recall: float


@dataclass(frozen=True)
class ScorePlot:
    """The PNG written, the operating point marked on its curve (None without a threshold or
    without a match among the scores), and the closed figure, for tests to inspect."""

    path: Path
    point: OperatingPoint | None
    figure: Any


def plot_scores(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    path: str | Path,
    *,
    title: str,
    threshold: float | None = None,
    total_positives: int | None = None,
    hist: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
) -> ScorePlot:
    """A PNG with the precision-recall curve (left) and match vs non-match histograms (right).

    The curve is over (scores, labels), the decisions as the threshold moves, with the chosen
    `threshold`'s operating point marked on it. `total_positives` counts matches those never
    held (missed by retrieval or assignment), so the curve's recall is end-to-end recall.
    `hist` gives other (scores, labels) for the histograms, such as every candidate rather
    than only the assigned ones. The histograms count pairs on a log axis: non-matches
    outnumber matches by orders of magnitude among candidates, and a shared linear axis (or
    per-class densities, which hide that ratio) would show one of the two as flat.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    fig, (ax_pr, ax_hist) = plt.subplots(1, 2, figsize=(11, 4.2))
    point = None
    if y.any():
        precision, recall, _ = precision_recall_curve(y, s)
        scale = y.sum() / total_positives if total_positives else 1.0
        ax_pr.plot(recall * scale, precision, color="tab:blue", label="as the threshold moves")
        if threshold is not None:
            point = _operating_point(s, y, threshold, total_positives)
            ax_pr.plot(
                [point.recall],
                [point.precision],
                marker="o",
                markersize=8,
                color="black",
                linestyle="none",
                label=f"threshold {threshold:.3f}: P {point.precision:.3f}, R {point.recall:.3f}",
            )
        ax_pr.legend(loc="lower left")
    if hist is not None:
        s = np.asarray(hist[0], dtype=np.float64)
        y = np.asarray(hist[1], dtype=np.int64)
    ax_pr.set(
        xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="precision-recall"
    )
    ax_pr.grid(alpha=0.3)
    bins = np.linspace(min(s.min(initial=0.0), 0.0), max(s.max(initial=1.0), 1.0), 41)
    for label, name, color in ((0, "non-match", "tab:red"), (1, "match", "tab:green")):
        ax_hist.hist(
            s[y == label],
            bins=bins,
            alpha=0.6,
            label=f"{name} ({(y == label).sum()})",
            color=color,
        )
    if threshold is not None:
        ax_hist.axvline(
            threshold, color="black", linestyle="--", label=f"threshold {threshold:.3f}"
        )
    ax_hist.set_yscale("log")
    ax_hist.set(xlabel="score", ylabel="pairs (log scale)", title="score distribution: pair counts")
    ax_hist.legend()
    fig.suptitle(title)
    fig.tight_layout()
    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return ScorePlot(path=target, point=point, figure=fig)


def _operating_point(
    scores: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    threshold: float,
    total_positives: int | None,
) -> OperatingPoint:
    """Precision and recall of accepting the pairs scoring at least `threshold`."""
    accepted = scores >= threshold
    hits = int((accepted & (labels == 1)).sum())
    positives = total_positives or int(labels.sum())
    return OperatingPoint(
        threshold=threshold,
        precision=hits / int(accepted.sum()) if accepted.any() else 1.0,
        recall=hits / positives if positives else 0.0,
    )
