"""What training's stages read besides the pairs: the listings' texts, the lexical signal's
statistics and mined hard negatives, each built once from the training catalogs."""

from __future__ import annotations

from typing import Any

import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.linker import Linker, with_ids
from prodmatch.retrieve import SparseIndex
from prodmatch.settings import MatchSettings
from prodmatch.train.clusters import build_clusters
from prodmatch.train.fine_tune import FineTuneConfig, Listings

__all__ = ["MINED_PER_LISTING", "fit_lexical", "mined_negatives", "mines", "training_listings"]

MINED_PER_LISTING = 5


def training_listings(linker: Linker, left: Catalog, right: Catalog) -> Listings:
    """The tagged texts the encoder reads, by id, exactly as matching serialises them."""
    left_side, right_side = linker.side(left), linker.side(right)
    return Listings(
        left=dict(zip(left.ids, left_side.texts, strict=True)),
        right=dict(zip(right.ids, right_side.texts, strict=True)),
    )


def fit_lexical(settings: MatchSettings, left: Catalog, right: Catalog) -> SparseIndex:
    """The TF-IDF vocabulary and IDF of the whole training catalogs (no labels read), fitted
    once: every stage scores `sparse` through it and the matcher keeps it, so a pair's
    `sparse` value at match time is the one the classifier and threshold learned from."""
    linker = Linker(settings, progress=False)
    return SparseIndex([text for side in (left, right) for text in linker.side(side).plain])


def mines(config: FineTuneConfig, train: pd.DataFrame | None) -> bool:
    return config.loss == "infonce" and config.hard_negatives and train is not None


def mined_negatives(
    settings: MatchSettings,
    left: Catalog,
    right: Catalog,
    train: pd.DataFrame | None,
    lexical: SparseIndex,
    progress: bool,
) -> dict[str, list[str]]:
    """Top retrieval candidates of each train listing that are not known matches.

    These are what the matcher will confuse at match time; a known match (same train cluster)
    is never used as a negative.
    """
    assert train is not None
    clusters = build_clusters(train)
    linker = Linker(settings, lexical=lexical, progress=progress)
    left_side, right_side = linker.prepare(
        left.select(list(dict.fromkeys(train["left_id"]))), right
    )
    candidates = with_ids(linker.candidates(left_side, right_side), left_side, right_side)
    mined: dict[str, list[str]] = {}
    for left_id, group in candidates.groupby("left_id", sort=False):
        mine = clusters.label("left", str(left_id))
        found = [
            r for r in group.sort_values("rank")["right_id"] if _cluster(clusters, str(r)) != mine
        ]
        mined[str(left_id)] = found[:MINED_PER_LISTING]
    return mined


def _cluster(clusters: Any, right_id: str) -> int:
    try:
        return int(clusters.label("right", right_id))
    except KeyError:
        return -1
