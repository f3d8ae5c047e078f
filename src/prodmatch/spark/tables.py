"""Reading catalogs into Spark and writing results out, on any Hadoop-compatible filesystem.

An output is a folder (Spark writes part files) holding `_prodmatch.json`, which records the
run. Writing goes to a hidden sibling first and is renamed into place, so a reader never sees
half a result; a rerun into the same output replaces the earlier result of prodmatch, and a
folder that prodmatch did not write is never overwritten.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from prodmatch.errors import ProdmatchError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

MARKER = "_prodmatch.json"
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")


def _suffix(path: str) -> str:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def read_table(spark: SparkSession, path: str, *, sep: str | None = None) -> DataFrame:
    """A catalog file (or folder of parts) as a DataFrame, every value read as text."""
    suffix = _suffix(path)
    if not _filesystem(spark, path)[0].exists(_jpath(spark, path)):
        raise ProdmatchError(f"{path}: file not found")
    if suffix in CSV_SUFFIXES:
        delimiter = sep or ("\t" if suffix == ".tsv" else ",")
        return spark.read.csv(
            path, header=True, sep=delimiter, inferSchema=False, multiLine=True, escape='"'
        )
    if suffix in JSON_SUFFIXES:
        return spark.read.json(path)
    return spark.read.parquet(path)


def write_table(df: DataFrame, path: str, run: dict[str, Any]) -> None:
    """`df` written to `path` (CSV with a header for .csv/.tsv, else Parquet) with the run
    recorded in MARKER, replacing only an earlier prodmatch result."""
    spark = df.sparkSession
    fs, target = check_writable(spark, path)
    base = path.rstrip("/")
    parent, name = base.rsplit("/", 1) if "/" in base else (".", base)
    staging = f"{parent}/.{name}.{uuid.uuid4().hex[:8]}.tmp"
    suffix = _suffix(path)
    writer = df.write.mode("errorifexists")
    if suffix in CSV_SUFFIXES:
        writer.csv(staging, header=True, sep="\t" if suffix == ".tsv" else ",")
    else:
        writer.parquet(staging)
    stream = fs.create(_jpath(spark, f"{staging}/{MARKER}"), True)
    stream.write(bytearray((json.dumps(run, indent=2, default=str) + "\n").encode()))
    stream.close()
    old = f"{parent}/.{name}.{uuid.uuid4().hex[:8]}.old"
    if fs.exists(target):
        fs.rename(target, _jpath(spark, old))
    if not fs.rename(_jpath(spark, staging), target):
        raise ProdmatchError(f"{path}: could not move the result into place (left in {staging})")
    if fs.exists(_jpath(spark, old)):
        fs.delete(_jpath(spark, old), True)


def check_writable(spark: SparkSession, path: str) -> tuple[Any, Any]:
    """Refuse, before any work, an output that exists and is not a prodmatch result."""
    fs, target = _filesystem(spark, path)
    if fs.exists(target) and not fs.exists(_jpath(spark, f"{path.rstrip('/')}/{MARKER}")):
        raise ProdmatchError(
            f"{path}: exists and was not written by prodmatch; choose another output"
        )
    return fs, target


def _jpath(spark: SparkSession, path: str) -> Any:
    return spark._jvm.org.apache.hadoop.fs.Path(path)  # type: ignore[union-attr]


def _filesystem(spark: SparkSession, path: str) -> tuple[Any, Any]:
    target = _jpath(spark, path)
    return target.getFileSystem(spark._jsc.hadoopConfiguration()), target  # type: ignore[union-attr]
