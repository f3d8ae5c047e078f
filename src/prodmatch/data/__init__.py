"""Loading catalogs, labelled pairs and gold mappings; errors point at file, line and column."""

from prodmatch.data.catalog import SUPPORTED_SUFFIXES, Catalog, catalog_from_frame, load_catalog
from prodmatch.data.pairs import (
    PairDataset,
    load_deepmatcher,
    load_gold,
    load_pairs,
    parse_pair_cols,
)

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Catalog",
    "PairDataset",
    "catalog_from_frame",
    "load_catalog",
    "load_deepmatcher",
    "load_gold",
    "load_pairs",
    "parse_pair_cols",
]
