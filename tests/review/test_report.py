from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from prodmatch.data import load_catalog
from prodmatch.linker import Linker, with_ids
from prodmatch.review.report import build_report, uncertain
from prodmatch.settings import MatchSettings


def test_report_is_self_contained_with_curve_and_explained_pairs(
    catalog_files: tuple[Path, Path], tiny_model: Path
) -> None:
    linker = Linker(MatchSettings(model=str(tiny_model), k=3), progress=False)
    left, right = linker.prepare(*(load_catalog(f) for f in catalog_files))
    decided = with_ids(linker.decide(linker.candidates(left, right)), left, right)
    labelled = pd.DataFrame(
        {"left_id": ["a1", "a1", "a4", "a5"], "right_id": ["b3", "b4", "b1", "b1"],
         "label": [1, 0, 1, 0]}
    )  # fmt: skip
    page = build_report(linker, left, right, decided, labelled=labelled, explain=3)
    # opens offline: no address outside the file, every picture inline
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "url(" not in page and "<script" not in page
    images = re.findall(r"<img [^>]*src='([^']*)'", page)
    assert len(images) == 2 and all(i.startswith("data:image/png;base64,") for i in images)
    assert "precision-recall curve" in page
    nearest = uncertain(decided, linker.settings.decision_threshold, 3)
    for row in nearest.itertuples():
        assert f"<b>{row.left_id} &times; {row.right_id}</b>: score {row.score:.4f}" in page
    without = build_report(linker, left, right, decided, explain=0)
    assert without.count("<img ") == 1 and "class='pair'" not in without


def test_uncertain_pairs_are_those_nearest_the_threshold() -> None:
    pairs = pd.DataFrame({"score": [0.9, 0.41, 0.1, 0.37, 0.6]})
    assert list(uncertain(pairs, 0.39, 3).index) == [1, 3, 4]


def test_the_explanations_cut_at_the_threshold_the_report_decided_at(
    catalog_files: tuple[Path, Path], tiny_model: Path
) -> None:
    linker = Linker(MatchSettings(model=str(tiny_model), k=3), progress=False)
    left, right = linker.prepare(*(load_catalog(f) for f in catalog_files))
    decided = with_ids(linker.decide(linker.candidates(left, right), 0.6), left, right)
    page = build_report(linker, left, right, decided, explain=2, threshold=0.6)
    assert "matched at threshold 0.6000" in page and "match at 0.6000" in page
    assert f"match at {linker.settings.decision_threshold:.4f}" not in page
