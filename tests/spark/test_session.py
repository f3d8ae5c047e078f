"""pyspark stays optional: importing prodmatch's Spark package or its CLI does not import it."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.spark


def test_importing_the_spark_package_and_cli_does_not_import_pyspark() -> None:
    code = (
        "import sys, prodmatch.spark, prodmatch.cli; "
        "assert 'pyspark' not in sys.modules, 'pyspark imported'; "
        "assert callable(prodmatch.spark.match)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
