"""A live product registry: listings from several platforms kept in stable products.

`Registry` is the Python face; `prodmatch serve` puts it behind HTTP (`prodmatch.registry.app`,
which needs the `serve` extra). Storage is SQLite in the registry folder or PostgreSQL.
"""

from prodmatch.registry.registry import NewListing, NotFound, Registry, settle_garbage_collector
from prodmatch.registry.store import Event, Listing, Stored

__all__ = [
    "Event",
    "Listing",
    "NewListing",
    "NotFound",
    "Registry",
    "Stored",
    "settle_garbage_collector",
]
