"""prodmatch on Apache Spark: match and deduplicate catalogs held as Spark DataFrames.

Needs the optional extra (`pip install 'prodmatch[spark]'`); pyspark is imported only when a
Spark run starts. See `prodmatch.spark.api` for the steps.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SparkMatcher", "SparkOptions", "dedupe", "get_session", "match"]


def __getattr__(name: str) -> Any:
    """The API, imported on first use so `import prodmatch.spark` needs no pyspark."""
    if name in ("SparkMatcher", "SparkOptions", "dedupe", "match"):
        from prodmatch.spark import api

        return getattr(api, name)
    if name == "get_session":
        from prodmatch.spark.session import get_session

        return get_session
    raise AttributeError(name)
