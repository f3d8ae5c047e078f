"""Pictures of a matcher's scores: the precision-recall curve and the score distributions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from prodmatch.io import atomic_path


def plot_scores(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    path: str | Path,
    *,
    title: str,
    threshold: float | None = None,
    total_positives: int | None = None,
    hist: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
) -> Path:
    """A PNG with the precision-recall curve (left) and match vs non-match histograms (right).

    The curve is over (scores, labels), the decisions as the threshold moves. `total_positives`
    counts matches those never held (missed by retrieval or assignment), so the curve's recall
    is end-to-end recall. `hist` gives other (scores, labels) for the histograms, such as every
    candidate rather than only the assigned ones.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    fig, (ax_pr, ax_hist) = plt.subplots(1, 2, figsize=(11, 4.2))
    if y.any():
        precision, recall, _ = precision_recall_curve(y, s)
        scale = y.sum() / total_positives if total_positives else 1.0
        ax_pr.plot(recall * scale, precision, color="tab:blue")
    if hist is not None:
        s = np.asarray(hist[0], dtype=np.float64)
        y = np.asarray(hist[1], dtype=np.int64)
    ax_pr.set(
        xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="precision-recall"
    )
    ax_pr.grid(alpha=0.3)
    bins = np.linspace(min(s.min(initial=0.0), 0.0), max(s.max(initial=1.0), 1.0), 41)
    ax_hist.hist(
        s[y == 0],
        bins=bins,
        alpha=0.6,
        label=f"non-match ({(y == 0).sum()})",
        color="tab:red",
        density=True,
    )
    ax_hist.hist(
        s[y == 1],
        bins=bins,
        alpha=0.6,
        label=f"match ({(y == 1).sum()})",
        color="tab:green",
        density=True,
    )
    if threshold is not None:
        ax_hist.axvline(
            threshold, color="black", linestyle="--", label=f"threshold {threshold:.3f}"
        )
    ax_hist.set(xlabel="score", ylabel="density", title="score distribution")
    ax_hist.legend()
    fig.suptitle(title)
    fig.tight_layout()
    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return target
