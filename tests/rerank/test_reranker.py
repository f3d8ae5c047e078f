"""The blend of classifier and cross-encoder: fitted on valid, skips settled pairs, saved."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from prodmatch.rerank import Blend, Reranker, fit_blend
from prodmatch.rerank.reranker import logit


class CountingModel:
    """Stands in for a CrossEncoder: logit +4 when the texts are equal, else -4."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def logits(
        self, left: Sequence[str], right: Sequence[str], **_: Any
    ) -> npt.NDArray[np.float64]:
        self.seen += list(zip(left, right, strict=True))
        return np.array([4.0 if a == b else -4.0 for a, b in zip(left, right, strict=True)])


def test_blend_learns_to_trust_the_signal_that_separates_valid() -> None:
    rng = np.random.default_rng(0)
    labels = rng.random(400) < 0.2
    head = np.clip(0.5 + rng.normal(0, 0.25, 400), 0.02, 0.98)  # uninformative
    cross = np.where(labels, 3.0, -3.0) + rng.normal(0, 1.0, 400)  # informative
    blend = fit_blend(head, cross, labels)
    assert blend.cross > 1.0 and abs(blend.head) < blend.cross
    accuracy = ((blend.combine(head, cross) >= 0.5) == labels).mean()
    assert accuracy > 0.95


def test_pairs_below_the_floor_are_not_cross_encoded() -> None:
    model = CountingModel()
    blend = Blend(head=1.0, cross=1.0, bias=0.0, settled_cross=-6.0)
    reranker = Reranker(model, blend)  # type: ignore[arg-type]
    head = np.array([0.05, 0.5, 0.5, 0.09])
    scores = reranker.rescore(head, ["a", "b", "c", "d"], ["a", "b", "x", "d"], floor=0.1)
    assert model.seen == [("b", "b"), ("c", "x")]
    expected = 1 / (1 + np.exp(-(logit(head) + np.array([-6.0, 4.0, -4.0, -6.0]))))
    np.testing.assert_allclose(scores, expected)
    assert scores[1] > 0.9 > 0.1 > scores[2]
    assert scores[0] < scores[3]  # settled pairs keep the classifier's order
    model.seen.clear()
    reranker.rescore(head, ["a", "b", "c", "d"], ["a", "b", "x", "d"])
    assert len(model.seen) == 4  # no floor: every pair is re-read


def test_valid_pairs_of_one_label_fall_back_to_the_classifier() -> None:
    blend = fit_blend([0.001, 0.002, 0.5], [1.0, 2.0, -1.0], [0, 0, 0])
    assert (blend.head, blend.cross, blend.bias) == (1.0, 0.0, 0.0)
    np.testing.assert_allclose(blend.combine([0.3], [5.0]), [0.3])


def test_blend_file_round_trips(tmp_path: Path) -> None:
    blend = Blend(head=0.7, cross=1.3, bias=-0.2, settled_cross=-5.5)
    blend.save(tmp_path / "blend.json")
    assert Blend.load(tmp_path / "blend.json") == blend
