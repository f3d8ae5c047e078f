"""Output a person can review: each pair beside the listings' own words, scores rounded.

Ids alone make a matches file that nobody can check by eye; the listings' titles (or the
columns asked for) beside them do. Scores are rounded to 4 decimals: the thresholds are
chosen to 4 decimals, and 17 digits of float noise hide the figures that matter.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.errors import ProdmatchError

SCORE_DECIMALS = 4
# Float columns of the output, rounded for reading (the integer and boolean ones are exact).
ROUNDED_COLUMNS = ("score", "dense", "sparse", "image")
# Columns that name a product, in order of preference, when no --show-cols is given.
TITLE_COLUMNS = ("title", "name", "product_name", "product", "product_title")


def title_column(catalog: Catalog) -> str | None:
    """The catalog's column that names each product (compared without case), if any."""
    by_lower = {c.lower(): c for c in catalog.columns}
    for name in TITLE_COLUMNS:
        if name in by_lower:
            return by_lower[name]
    return None


def with_listing_columns(
    pairs: pd.DataFrame,
    left: Catalog,
    right: Catalog,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """`pairs` with each listing's `columns` beside the ids: left_id, right_id, then
    left_<col>..., right_<col>... (the ids stay the first two columns, as scripts read them).

    Without `columns`, each side shows its title-like column (title, name, ...), if it has
    one. A column asked for must be in both catalogs (one line naming what they hold).
    """
    if columns is None:
        shown_left = [c for c in [title_column(left)] if c is not None]
        shown_right = [c for c in [title_column(right)] if c is not None]
    else:
        for catalog in (left, right):
            missing = [c for c in columns if c not in catalog.columns]
            if missing:
                raise ProdmatchError(
                    f"{catalog.name}: no column {', '.join(map(repr, missing))} to show; "
                    f"columns are {', '.join(catalog.columns)}"
                )
        shown_left = shown_right = list(columns)
    out = pairs.copy()
    at = out.columns.get_loc("right_id")
    assert isinstance(at, int)
    for side, catalog, shown in (("left", left, shown_left), ("right", right, shown_right)):
        ids = pd.Index(out[f"{side}_id"])
        for column in shown:
            at += 1
            out.insert(at, f"{side}_{column}", catalog.records[column].reindex(ids).to_numpy())
    return out


def with_languages(
    pairs: pd.DataFrame, left: Catalog, right: Catalog, language: str = "auto"
) -> pd.DataFrame:
    """`pairs` with left_language and right_language: each listing's language, detected from
    its title (or all its text when it has no title column) with "auto", else `language`.

    A reviewer then sees at a glance which matches crossed languages, where the encoder alone
    carried the pair."""
    from prodmatch.text.language import listing_languages

    out = pairs.copy()
    for side, catalog in (("left", left), ("right", right)):
        ids = pd.Index(out[f"{side}_id"])
        out[f"{side}_language"] = listing_languages(_listing_texts(catalog, ids), language)
    return out


def _listing_texts(catalog: Catalog, ids: pd.Index) -> list[str]:
    title = title_column(catalog)
    records = catalog.records.reindex(ids)
    if title is not None:
        return records[title].fillna("").astype(str).tolist()
    return records.fillna("").astype(str).agg(" ".join, axis=1).tolist()


def rounded(pairs: pd.DataFrame, decimals: int = SCORE_DECIMALS) -> pd.DataFrame:
    """The float score columns rounded to `decimals` (a copy)."""
    present = [c for c in ROUNDED_COLUMNS if c in pairs]
    return pairs.round(dict.fromkeys(present, decimals)) if present else pairs
