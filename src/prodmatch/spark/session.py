"""The Spark session prodmatch uses when none is given, and the check that pyspark is there.

pyspark is an optional extra (`pip install prodmatch[spark]`): nothing here imports it until a
Spark run starts, so the rest of prodmatch works without it.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from prodmatch.errors import ProdmatchError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOOPBACK = "127.0.0.1"


def require_pyspark() -> None:
    """A clear line instead of an ImportError when the extra is not installed."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ProdmatchError(
            "Spark matching needs pyspark: pip install 'prodmatch[spark]'"
        ) from None


def get_session(master: str | None = None, *, partitions: int | None = None) -> SparkSession:
    """The active session, or a new one on `master` (default local[2]).

    A local session binds to the loopback address: this kind of machine resolves its hostname
    to loopback and Spark otherwise picks another interface that the workers cannot reach.
    The workers run this interpreter, so they import the same prodmatch.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName("prodmatch")
    if master is None and "PYSPARK_GATEWAY_PORT" in os.environ:
        session = builder.getOrCreate()  # under spark-submit: its master and settings win
        if partitions is not None:
            session.conf.set("spark.sql.shuffle.partitions", str(partitions))
        return session
    master = master or os.environ.get("PRODMATCH_SPARK_MASTER", "local[2]")
    builder = builder.master(master)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        builder = builder.config("spark.driver.host", LOOPBACK).config(
            "spark.driver.bindAddress", LOOPBACK
        )
    shuffle = partitions if partitions is not None else 8
    return (
        builder.config("spark.ui.showConsoleProgress", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
