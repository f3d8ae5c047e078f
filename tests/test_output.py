"""Reviewable output: listing columns beside the ids, and rounded scores."""

from __future__ import annotations

import pandas as pd

from prodmatch.data import catalog_from_frame
from prodmatch.output import rounded, title_column, with_listing_columns


def test_each_side_shows_its_own_title_like_column() -> None:
    left = catalog_from_frame(pd.DataFrame({"id": ["a"], "Name": ["Sony TV"], "price": ["9"]}))
    right = catalog_from_frame(pd.DataFrame({"id": ["b"], "title": ["sony tv"], "x": ["1"]}))
    assert title_column(left) == "Name" and title_column(right) == "title"
    pairs = pd.DataFrame({"left_id": ["a"], "right_id": ["b"], "score": [0.123456789]})
    out = with_listing_columns(pairs, left, right)
    assert list(out.columns) == ["left_id", "right_id", "left_Name", "right_title", "score"]
    assert out.iloc[0].tolist()[:4] == ["a", "b", "Sony TV", "sony tv"]
    nothing = catalog_from_frame(pd.DataFrame({"id": ["b"], "x": ["1"]}))
    assert list(with_listing_columns(pairs, left, nothing).columns) == [
        *("left_id", "right_id", "left_Name", "score")
    ]


def test_scores_are_rounded_and_other_columns_kept() -> None:
    frame = pd.DataFrame(
        {"score": [0.123456789], "dense": [0.98767], "code_agreement": [-1], "rank": [1]}
    )
    out = rounded(frame)
    assert out.iloc[0].to_dict() == {
        "score": 0.1235,
        "dense": 0.9877,
        "code_agreement": -1,
        "rank": 1,
    }
    assert frame["score"].iloc[0] == 0.123456789  # a copy


def test_every_output_column_is_explained_in_the_readme() -> None:
    """The README's column tables (and the line on dedupe pairs) name every column that the
    match, dedupe and dedupe-pairs outputs can hold."""
    import re
    from pathlib import Path

    from prodmatch.dedup import CLUSTER_COLUMNS
    from prodmatch.linker import MATCH_COLUMNS, SIGNAL_COLUMNS

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    cells = {
        name.strip(" `")
        for line in readme.splitlines()
        if line.startswith("| ")
        for name in line.split("|")[1].split(",")
    }
    named = set(re.findall(r"`([a-z_]+)`", readme))
    missing = [c for c in (*MATCH_COLUMNS, *SIGNAL_COLUMNS, *CLUSTER_COLUMNS) if c not in cells]
    assert not [c for c in missing if c not in named], missing
    assert "kind" in named  # dedupe pairs across sources
