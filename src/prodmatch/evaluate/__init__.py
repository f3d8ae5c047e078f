"""Measuring a matcher: pair-level F1 on labelled pairs and end-to-end linkage on full tables."""

from prodmatch.evaluate.linkage import LinkageReport, evaluate_linkage
from prodmatch.evaluate.metrics import PRF, precision_recall_f1, recall_at_k
from prodmatch.evaluate.pairs import PairReport, evaluate_pairs

__all__ = [
    "PRF",
    "LinkageReport",
    "PairReport",
    "evaluate_linkage",
    "evaluate_pairs",
    "precision_recall_f1",
    "recall_at_k",
]
