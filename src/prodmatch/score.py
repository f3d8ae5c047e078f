"""Pair scores: how alike two listings are, from the signals each scorer reads.

- ``hybrid`` (default): a weighted mean of the dense cosine and the character n-gram TF-IDF
  cosine, moved up when the two listings share a model number and down when both have model
  numbers and none agree. The encoder sees meaning, n-grams see spelling, model numbers
  identify the product; each covers another's blind spot.
- ``dense``: the encoder's cosine alone.
- ``tfidf``: the TF-IDF cosine alone (a baseline).
- ``fuzzy``: rapidfuzz's token-set ratio of the plain texts (a baseline).
- ``learned``: a trained matcher's pair classifier (see `prodmatch.train`), applied by the
  linker, which holds the classifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from rapidfuzz import fuzz

Scorer = Literal["hybrid", "dense", "tfidf", "fuzzy", "learned"]

# Thresholds used when none is given or learned: each scorer's best end-to-end F1 threshold
# (one-to-one) on synthetic catalogs, `python bench/choose_thresholds.py --size 2000 --seed 1`,
# never on a benchmark.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "hybrid": 0.39,
    "dense": 0.67,
    "tfidf": 0.37,
    "fuzzy": 0.75,
    "learned": 0.5,  # a probability; trained matchers carry the threshold chosen on valid
}


def needs_dense(scorer: Scorer) -> bool:
    return scorer in ("hybrid", "dense", "learned")


def needs_sparse(scorer: Scorer) -> bool:
    return scorer in ("hybrid", "tfidf", "learned")


def code_signals(
    left: Sequence[frozenset[str]],
    right: Sequence[frozenset[str]],
    li: npt.NDArray[np.int64],
    ri: npt.NDArray[np.int64],
) -> dict[str, npt.NDArray[np.int8]]:
    """The model-number signals of (left position, right position) pairs, by column name.

    ``code_agreement``: +1 if the two listings share a model number, -1 if both have some but
    none is shared, else 0. Missing model numbers are no evidence either way: many listings
    omit them.

    ``code_variant``: 1 if none is shared but one listing's code is another's plus a
    letter-only tail ("cli221" and "cli221gry", "sd990" and "sd990isb"). Platforms append
    colour, finish or region letters to a maker's code, or drop them; such a pair is often the
    same product and sometimes a colour variant, which is for a trained classifier to weigh.
    A tail with a digit ("nnsd767" against "nnsd7675") is another model.
    """
    codes = np.zeros(len(li), dtype=np.int8)
    variant = np.zeros(len(li), dtype=np.int8)
    for n, (a, b) in enumerate(zip(li, ri, strict=True)):
        codes_a, codes_b = left[a], right[b]
        if not (codes_a and codes_b):
            continue
        if codes_a.isdisjoint(codes_b):
            codes[n] = -1
            variant[n] = any(_is_variant(x, y) for x in codes_a for y in codes_b)
        else:
            codes[n] = 1
    return {"code_agreement": codes, "code_variant": variant}


def _is_variant(a: str, b: str) -> bool:
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return long.startswith(short) and not any(c.isdigit() for c in long[len(short) :])


def score_pairs(
    features: pd.DataFrame,
    scorer: Scorer,
    *,
    dense_weight: float = 0.2,
    code_weight: float = 0.1,
    left_texts: Sequence[str] | None = None,
    right_texts: Sequence[str] | None = None,
) -> npt.NDArray[np.float64]:
    """Scores for pairs with columns left, right, dense and sparse cosines, and code_agreement."""
    if scorer == "hybrid":
        dense = features["dense"].to_numpy(np.float64)
        sparse = features["sparse"].to_numpy(np.float64)
        codes = features["code_agreement"].to_numpy(np.float64)
        return dense_weight * dense + (1.0 - dense_weight) * sparse + code_weight * codes
    if scorer == "dense":
        return features["dense"].to_numpy(np.float64)
    if scorer == "tfidf":
        return features["sparse"].to_numpy(np.float64)
    if scorer == "learned":
        raise ValueError("the learned scorer is applied by the Linker, which holds the head")
    if left_texts is None or right_texts is None:
        raise ValueError("the fuzzy scorer needs the texts")
    return np.array(
        [
            fuzz.token_set_ratio(left_texts[a], right_texts[b]) / 100.0
            for a, b in zip(features["left"], features["right"], strict=True)
        ],
        dtype=np.float64,
    )
