"""prodmatch: find the same product across e-commerce catalogs.

The library facade; the command line (`prodmatch --help`) is built on the same names::

    from prodmatch import Linker, MatchSettings, load_catalog

    left, right = load_catalog("amazon.csv"), load_catalog("walmart.csv")
    pairs = Linker(MatchSettings()).match(left, right)
    matches = pairs[pairs["decision"]]
"""

from prodmatch.data import Catalog, catalog_from_frame, load_catalog, load_deepmatcher, load_gold
from prodmatch.errors import InputError, ProdmatchError
from prodmatch.linker import Linker
from prodmatch.settings import MatchSettings

__version__ = "0.1.0"

__all__ = [
    "Catalog",
    "InputError",
    "Linker",
    "MatchSettings",
    "ProdmatchError",
    "catalog_from_frame",
    "load_catalog",
    "load_deepmatcher",
    "load_gold",
]
