"""The score plot: the chosen operating point drawn on the curve, a labelled log count axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prodmatch.evaluate.plots import plot_scores

SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1])
LABELS = np.array([1, 1, 0, 1, 0, 1, 0, 0])


def test_the_operating_point_is_computed_and_drawn(tmp_path: Path) -> None:
    result = plot_scores(SCORES, LABELS, tmp_path / "p.png", title="abt-buy: F1 0.8", threshold=0.5)
    assert result.path.read_bytes()[:4] == b"\x89PNG"
    point = result.point
    assert point is not None
    # at 0.5: accepted 0.9, 0.8, 0.7, 0.6 -> 3 matches of 4 accepted, of 4 matches
    assert (point.precision, point.recall) == (0.75, 0.75)
    curve_axes, hist_axes = result.figure.axes
    marked = [
        line
        for line in curve_axes.get_lines()
        if line.get_marker() == "o" and list(line.get_xdata()) == [0.75]
    ]
    assert len(marked) == 1 and list(marked[0].get_ydata()) == [0.75]
    assert "threshold 0.500" in marked[0].get_label()
    assert hist_axes.get_yscale() == "log"
    assert "log" in hist_axes.get_ylabel() and "pairs" in hist_axes.get_ylabel()
    assert result.figure._suptitle.get_text() == "abt-buy: F1 0.8"


def test_end_to_end_recall_counts_matches_never_scored(tmp_path: Path) -> None:
    """With 8 gold matches of which only 4 were candidates, the point's recall is 3 / 8."""
    result = plot_scores(
        SCORES, LABELS, tmp_path / "p.png", title="t", threshold=0.5, total_positives=8
    )
    assert result.point is not None and result.point.recall == pytest.approx(3 / 8)


def test_no_threshold_no_point(tmp_path: Path) -> None:
    result = plot_scores(SCORES, LABELS, tmp_path / "p.png", title="t")
    assert result.point is None
    assert not [line for line in result.figure.axes[0].get_lines() if line.get_marker() == "o"]


def test_evaluate_pairs_names_the_dataset_in_the_title(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prodmatch.data import load_deepmatcher
    from prodmatch.evaluate import pairs as pairs_module
    from prodmatch.linker import Linker
    from prodmatch.settings import MatchSettings
    from prodmatch.synth import generate_catalogs, generate_pairs, write_deepmatcher

    synth = generate_catalogs(40, seed=2)
    folder = tmp_path / "shop-data"
    write_deepmatcher(synth, generate_pairs(synth, seed=2), folder)
    titles: list[str] = []

    def capture(*args: object, title: str, **kwargs: object) -> None:
        titles.append(title)

    monkeypatch.setattr(pairs_module, "plot_scores", capture)
    linker = Linker(MatchSettings(scorer="tfidf", retrieval="sparse"), progress=False)
    pairs_module.evaluate_pairs(load_deepmatcher(folder), linker, plot=tmp_path / "p.png")
    assert titles and titles[0].startswith("shop-data test pairs")
