"""Pair-level evaluation on a DeepMatcher-format folder, the way published figures are measured.

The threshold is chosen on the validation pairs only; the test pairs are scored once with it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from prodmatch.data.pairs import PairDataset
from prodmatch.decide import best_threshold
from prodmatch.evaluate.metrics import precision_recall_f1
from prodmatch.evaluate.plots import plot_scores
from prodmatch.linker import Linker


@dataclass
class PairReport:
    precision: float
    recall: float
    f1: float
    threshold: float
    valid_f1: float
    test_pairs: int
    test_matches: int
    scorer: str
    model: str
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_pairs(
    dataset: PairDataset, linker: Linker, *, plot: str | Path | None = None
) -> PairReport:
    """Score valid and test pairs, pick the best-F1 threshold on valid, report test P/R/F1."""
    start = time.perf_counter()
    needed = pd.concat([dataset.valid, dataset.test])
    left = dataset.left.select(list(dict.fromkeys(needed["left_id"])))
    right = dataset.right.select(list(dict.fromkeys(needed["right_id"])))
    left_side, right_side = linker.prepare(left, right)
    valid_scores = linker.score_id_pairs(left_side, right_side, dataset.valid)
    threshold, valid_f1 = best_threshold(valid_scores, dataset.valid["label"])
    test_scores = linker.score_id_pairs(left_side, right_side, dataset.test)
    test = dataset.test.assign(score=test_scores)
    predicted = test[test["score"] >= threshold]
    actual = test[test["label"] == 1]
    prf = precision_recall_f1(_pairs(predicted), _pairs(actual))
    if plot is not None:
        plot_scores(
            test_scores,
            test["label"],
            plot,
            threshold=threshold,
            title=f"{dataset.name} test pairs, scorer {linker.settings.scorer}: F1 {prf.f1:.3f}",
        )
    return PairReport(
        precision=prf.precision,
        recall=prf.recall,
        f1=prf.f1,
        threshold=threshold,
        valid_f1=valid_f1,
        test_pairs=len(test),
        test_matches=len(actual),
        scorer=linker.settings.scorer,
        model=linker.settings.model,
        seconds=time.perf_counter() - start,
    )


def _pairs(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(frame["left_id"], frame["right_id"], strict=True))
