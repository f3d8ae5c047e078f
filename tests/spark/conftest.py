"""One local[2] Spark session for every Spark test: starting one takes seconds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("pyspark")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from prodmatch.spark.session import get_session

    session = get_session("local[2]", partitions=4)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
