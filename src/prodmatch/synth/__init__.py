"""Built-in synthetic catalogs with known matches (``prodmatch demo``, tests, benchmarks)."""

from prodmatch.synth.generator import (
    CATALOG_COLUMNS,
    DEFAULT_CHUNK_SIZE,
    PRODUCT_OBJECT_LIMIT,
    Product,
    SyntheticCatalogs,
    generate_catalogs,
    generate_duplicates,
    generate_pairs,
    iter_catalog_chunks,
    write_catalogs,
    write_deepmatcher,
)

__all__ = [
    "CATALOG_COLUMNS",
    "DEFAULT_CHUNK_SIZE",
    "PRODUCT_OBJECT_LIMIT",
    "Product",
    "SyntheticCatalogs",
    "generate_catalogs",
    "generate_duplicates",
    "generate_pairs",
    "iter_catalog_chunks",
    "write_catalogs",
    "write_deepmatcher",
]
