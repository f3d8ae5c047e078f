"""End-to-end evaluation on full tables: retrieval finds the candidates, the matcher decides.

This is the task a user has (no pre-built pairs), so both the blocking recall and the final
decisions are measured against the whole gold mapping.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.decide import best_threshold
from prodmatch.evaluate.metrics import precision_recall_f1, recall_at_k
from prodmatch.evaluate.plots import plot_scores
from prodmatch.linker import Linker, with_ids
from prodmatch.progress import peak_rss_mb
from prodmatch.retrieve.hybrid import RANK_COLUMNS

DEFAULT_KS = (1, 5, 10, 20, 50)


@dataclass
class LinkageReport:
    precision: float
    recall: float
    f1: float
    threshold: float
    recall_at_k: dict[int, float]
    recall_at_k_by_retriever: dict[str, dict[int, float]]
    candidates: int
    left_rows: int
    right_rows: int
    gold_pairs: int
    oracle_f1: float
    oracle_threshold: float
    seconds: dict[str, float]
    peak_rss_mb: float
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_linkage(
    left: Catalog,
    right: Catalog,
    gold: pd.DataFrame,
    linker: Linker,
    *,
    ks: Sequence[int] = DEFAULT_KS,
    plot: str | Path | None = None,
) -> LinkageReport:
    """Retrieve with k = max(ks), decide with the linker's settings, compare with `gold`."""
    return link_and_evaluate(left, right, gold, linker, ks=ks, plot=plot)[0]


def link_and_evaluate(
    left: Catalog,
    right: Catalog,
    gold: pd.DataFrame,
    linker: Linker,
    *,
    ks: Sequence[int] = DEFAULT_KS,
    plot: str | Path | None = None,
) -> tuple[LinkageReport, pd.DataFrame]:
    """`evaluate_linkage` that also returns the decided candidate pairs, for callers that
    write the matches too (the demo) and must not run the pipeline twice."""
    # recall@k needs k candidates per listing up to max(ks); the caller's settings stay as
    # they are (this used to raise their k for good)
    k = max(linker.settings.k, *ks)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    left_side, right_side = linker.prepare(left, right)
    seconds["prepare"] = time.perf_counter() - clock
    clock = time.perf_counter()
    pairs = linker.candidates(left_side, right_side, k=k)
    seconds["retrieve_and_score"] = time.perf_counter() - clock
    clock = time.perf_counter()
    decided, cut = linker.decide_explained(pairs, left_rows=len(left))
    pairs = with_ids(decided, left_side, right_side)
    seconds["decide"] = time.perf_counter() - clock
    report = score_linkage(
        pairs,
        gold,
        linker,
        threshold=cut.threshold,
        sizes=(len(left), len(right)),
        ks=ks,
        plot=plot,
        title=f"{left.name} x {right.name}",
    )
    report.seconds = seconds
    report.settings["k"] = k  # the candidates per listing this run retrieved
    return report, pairs


def score_linkage(
    pairs: pd.DataFrame,
    gold: pd.DataFrame,
    linker: Linker,
    *,
    threshold: float | None = None,
    sizes: tuple[int, int],
    ks: Sequence[int] = DEFAULT_KS,
    plot: str | Path | None = None,
    title: str = "linkage",
) -> LinkageReport:
    """Compare decided candidate pairs with the gold mapping.

    ``oracle_f1`` is the best F1 any threshold would give; it uses the gold mapping and so is an
    upper bound for the decision step, not a result. `threshold` is the one the decisions
    used (default: the settings' fixed one).
    """
    pairs = _with_scored_ranks(pairs)
    gold_set = set(zip(gold["left_id"], gold["right_id"], strict=True))
    _warn_if_gold_misses(pairs, gold_set)
    decided = pairs[pairs["decision"]]
    prf = precision_recall_f1(zip(decided["left_id"], decided["right_id"], strict=True), gold_set)
    keys = zip(pairs["left_id"], pairs["right_id"], strict=True)
    labels = np.fromiter((pair in gold_set for pair in keys), dtype=np.int64, count=len(pairs))
    # Every assignment mode accepts, at threshold t, exactly the pairs it accepts with no
    # threshold that score at least t (greedy matching just stops earlier), so the decisions
    # without a threshold give the end-to-end curve over every t in one pass.
    chosen = linker.decide(pairs, -np.inf)["decision"].to_numpy()
    scores = pairs["score"].to_numpy()
    oracle_threshold, oracle_f1 = best_threshold(
        scores[chosen], labels[chosen], positives=len(gold_set)
    )
    threshold = linker.settings.decision_threshold if threshold is None else threshold
    if plot is not None:
        plot_scores(
            scores[chosen],
            labels[chosen],
            plot,
            threshold=threshold,
            total_positives=len(gold_set),
            hist=(scores, labels),
            title=f"{title}: F1 {prf.f1:.3f} at threshold {threshold:.3f}",
        )
    return LinkageReport(
        precision=prf.precision,
        recall=prf.recall,
        f1=prf.f1,
        threshold=threshold,
        recall_at_k=recall_at_k(pairs, gold, ks, _rank_columns(pairs)),
        recall_at_k_by_retriever=_by_retriever(pairs, gold, ks),
        candidates=len(pairs),
        left_rows=sizes[0],
        right_rows=sizes[1],
        gold_pairs=len(gold_set),
        oracle_f1=oracle_f1,
        oracle_threshold=oracle_threshold,
        seconds={},
        peak_rss_mb=peak_rss_mb(),
        settings=linker.settings.to_dict(),
    )


# Below this share of gold pairs that are their left listing's best candidate, the gold file
# (not the matcher) is the likely problem: the matchers here rank most true matches first
# (scored recall@1 0.93 on abt-buy-full, 0.82 on amazon-google-full; BENCHMARKS.md). A rough
# cut for a warning only: it changes no figure and no decision.
GOLD_FOUND_WARNING = 0.1


class GoldWarning(UserWarning):
    """The gold mapping hardly meets the candidates: wrong columns or the wrong file."""


def _warn_if_gold_misses(pairs: pd.DataFrame, gold: set[tuple[str, str]]) -> None:
    """Warn when almost no gold pair is its left listing's best candidate, and say when the
    gold pairs read the other way round are: ids such as 0..1075 exist on both sides, so
    swapped gold columns pass every id check and only show as an F1 near 0. Best candidates,
    not all: on small catalogs k = 50 makes nearly every pair a candidate, either way round."""
    if not gold:
        return
    best = pairs[pairs["rank"] == 1]
    candidates = set(zip(best["left_id"], best["right_id"], strict=True))
    found = len(gold & candidates)
    if found >= GOLD_FOUND_WARNING * len(gold):
        return
    swapped = sum((right, left) in candidates for left, right in gold)
    message = f"only {found} of {len(gold)} gold pairs are their left listing's best candidate"
    if swapped > found:
        message += (
            f", but {swapped} are with the gold's left and right columns swapped: are they in "
            "the wrong order? (name them left first with --gold-cols LEFT,RIGHT)"
        )
    else:
        message += (
            "; check that the gold file belongs to these catalogs and names the left id "
            "first (--gold-cols LEFT,RIGHT)"
        )
    warnings.warn(message, GoldWarning, stacklevel=3)


def _with_scored_ranks(pairs: pd.DataFrame) -> pd.DataFrame:
    """Add 0-based ranks by final score, left to right and right to left."""
    pairs = pairs.copy()
    pairs["scored_lr"] = pairs["rank"] - 1
    order = pairs.sort_values(["right", "score"], ascending=[True, False], kind="stable")
    pairs.loc[order.index, "scored_rl"] = order.groupby("right").cumcount().to_numpy()
    pairs["scored_rl"] = pairs["scored_rl"].astype(np.int64)
    return pairs


def _rank_columns(pairs: pd.DataFrame) -> list[str]:
    return [c for c in RANK_COLUMNS if c in pairs]


def _by_retriever(
    pairs: pd.DataFrame, gold: pd.DataFrame, ks: Sequence[int]
) -> dict[str, dict[int, float]]:
    """Recall@k of each retriever alone and of the final score's ranking."""
    out = {"scored": recall_at_k(pairs, gold, ks, ["scored_lr", "scored_rl"])}
    for name in ("dense", "sparse"):
        columns = [f"{name}_lr", f"{name}_rl"]
        if (pairs[columns] < np.iinfo(np.int32).max).to_numpy().any():
            out[name] = recall_at_k(pairs, gold, ks, columns)
    return out
