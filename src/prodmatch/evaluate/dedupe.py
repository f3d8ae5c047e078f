"""Measuring deduplication: clusters against gold clusters (or gold duplicate pairs).

Two views, because they fail differently: pairwise precision and recall count the duplicate
pairs inside clusters, so one giant cluster costs quadratically many false pairs; B-cubed
scores every listing by how much of its predicted cluster is its true cluster (precision) and
how much of its true cluster it was put with (recall), so every listing weighs the same. The
cluster-size histogram and the largest cluster show chaining at a glance.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.decide import connected_components
from prodmatch.errors import ProdmatchError
from prodmatch.io import atomic_path


@dataclass
class DedupeReport:
    precision: float  # pairwise
    recall: float
    f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    listings: int
    clusters: int
    largest_cluster: int
    cluster_sizes: dict[int, int]  # size -> number of clusters of that size
    predicted_pairs: int
    gold_pairs: int
    true_pairs: int
    gold_clusters: int
    thresholds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gold_labels(
    ids: Sequence[str], *, pairs: pd.DataFrame | None = None, column: Sequence[object] | None = None
) -> npt.NDArray[np.int64]:
    """A gold cluster per listing, from duplicate pairs (joined transitively: the gold says
    A=B and B=C, so A=C) or from a cluster column (listings with an empty value stand alone)."""
    n = len(ids)
    if column is not None:
        values = ["" if v is None else str(v).strip() for v in column]
        if len(values) != n:
            raise ProdmatchError(f"the gold column has {len(values)} values for {n} listings")
        labels = pd.factorize(pd.Series(values, dtype=object))[0].astype(np.int64)
        empty = np.array([not v for v in values], dtype=bool)
        labels[empty] = labels.max(initial=0) + 1 + np.arange(int(empty.sum()))
        return labels
    if pairs is None:
        raise ProdmatchError("give the gold as pairs or as a cluster column")
    position = pd.Index(ids)
    left = position.get_indexer(pd.Index(pairs["left_id"]))
    right = position.get_indexer(pd.Index(pairs["right_id"]))
    if (left < 0).any() or (right < 0).any():
        bad = pairs["left_id"][left < 0].tolist() + pairs["right_id"][right < 0].tolist()
        raise ProdmatchError(f"gold id {bad[0]!r} is not in the catalog")
    return connected_components(n, left, right)


def score_clusters(
    predicted: npt.ArrayLike, gold: npt.ArrayLike
) -> tuple[float, float, float, float, float, float, int, int, int]:
    """(pairwise P, R, F1, B-cubed P, R, F1, predicted pairs, gold pairs, true pairs) of a
    clustering against the gold clustering, both as one label per item."""
    pred = pd.factorize(pd.Series(np.asarray(predicted)))[0]
    true = pd.factorize(pd.Series(np.asarray(gold)))[0]
    if len(pred) != len(true):
        raise ValueError("predicted and gold labels differ in length")
    if len(pred) == 0:
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0
    both = pd.Series(pred * (true.max() + 1) + true)
    overlap = both.value_counts()  # items per (predicted, gold) cell
    pred_size = np.bincount(pred)
    true_size = np.bincount(true)

    def pairs(counts: npt.NDArray[np.integer[Any]]) -> int:
        return int((counts * (counts - 1) // 2).sum())

    tp = pairs(overlap.to_numpy())
    predicted_pairs, gold_pairs = pairs(pred_size), pairs(true_size)
    precision = tp / predicted_pairs if predicted_pairs else 0.0
    recall = tp / gold_pairs if gold_pairs else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    cell = overlap.reindex(both).to_numpy()
    b_precision = float(np.mean(cell / pred_size[pred]))
    b_recall = float(np.mean(cell / true_size[true]))
    b_f1 = 2 * b_precision * b_recall / (b_precision + b_recall)
    return precision, recall, f1, b_precision, b_recall, b_f1, predicted_pairs, gold_pairs, tp


def dedupe_report(clusters: pd.DataFrame, catalog: Catalog, gold: npt.ArrayLike) -> DedupeReport:
    """Compare the `cluster_id` of each listing (`clusters` as `Linker.dedupe` returns it)
    with `gold` labels in catalog order."""
    label_of = dict(zip(clusters["product_id"], clusters["cluster_id"], strict=True))
    predicted = np.array([label_of[i] for i in catalog.ids], dtype=np.int64)
    p, r, f1, bp, br, bf1, n_pred, n_gold, tp = score_clusters(predicted, gold)
    sizes = np.bincount(predicted)
    sizes = sizes[sizes > 0]
    histogram = {int(s): int(c) for s, c in zip(*np.unique(sizes, return_counts=True), strict=True)}
    return DedupeReport(
        precision=p,
        recall=r,
        f1=f1,
        bcubed_precision=bp,
        bcubed_recall=br,
        bcubed_f1=bf1,
        listings=len(catalog),
        clusters=len(sizes),
        largest_cluster=int(sizes.max(initial=0)),
        cluster_sizes=histogram,
        predicted_pairs=n_pred,
        gold_pairs=n_gold,
        true_pairs=tp,
        gold_clusters=len(np.unique(np.asarray(gold))),
    )


def evaluate_dedupe(
    catalog: Catalog,
    gold: npt.ArrayLike,
    run: Any,
    *,
    plot: str | Path | None = None,
) -> DedupeReport:
    """Run `run(catalog)` (returning a `prodmatch.dedup.DedupeResult`) and score its clusters
    against `gold` (one label per listing, see `gold_labels`)."""
    clock = time.perf_counter()
    result = run(catalog)
    report = dedupe_report(result.clusters, catalog, gold)
    report.seconds = time.perf_counter() - clock
    report.thresholds = dict(result.thresholds)
    if plot is not None:
        plot_cluster_sizes(report, plot, title=f"dedupe: {catalog.name}")
    return report


def plot_cluster_sizes(report: DedupeReport, path: str | Path, *, title: str) -> Path:
    """A PNG: clusters by size (log scale) and the pairwise and B-cubed scores."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_size, ax_score) = plt.subplots(1, 2, figsize=(11, 4.2))
    sizes = sorted(report.cluster_sizes)
    ax_size.bar([str(s) for s in sizes], [report.cluster_sizes[s] for s in sizes])
    ax_size.set(yscale="log", xlabel="listings in the cluster", ylabel="clusters")
    ax_size.set_title(f"cluster sizes (largest {report.largest_cluster})")
    names = ["precision", "recall", "F1"]
    x = np.arange(3)
    pairwise = [report.precision, report.recall, report.f1]
    bcubed = [report.bcubed_precision, report.bcubed_recall, report.bcubed_f1]
    ax_score.bar(x - 0.2, pairwise, width=0.4, label="pairwise")
    ax_score.bar(x + 0.2, bcubed, width=0.4, label="B-cubed")
    ax_score.set_xticks(x, names)
    ax_score.set(ylim=(0, 1.02), title="against the gold clusters")
    ax_score.legend()
    fig.suptitle(f"{title}: pairwise F1 {report.f1:.3f}, B-cubed F1 {report.bcubed_f1:.3f}")
    fig.tight_layout()
    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return target
