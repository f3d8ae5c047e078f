"""Candidate pairs scored on the executors by the linker's own features and scorers.

Each batch of pairs becomes two small `Side`s (the distinct left and right listings in it) and
goes through `Linker.features` and `Linker.score`: the same signals, classifier and scorer
weights as `prodmatch match`, so a pair gets one score on every path. The dense cosine is the
one the search found (as the streamed pipeline keeps FAISS' score); pairs found by model number
alone get theirs from the two vectors first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.linker import Linker, Side
from prodmatch.score import needs_sparse
from prodmatch.spark.prepare import unpack
from prodmatch.spark.workers import Job, linker_for
from prodmatch.text.attributes import ATTRIBUTE_COLUMNS, Attributes

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

CODE_SIGNALS = ("code_agreement", "code_variant")


def signal_columns(job: Job) -> list[str]:
    sparse = ["sparse"] if needs_sparse(job.settings.scorer) else []
    return ["dense", *sparse, *CODE_SIGNALS, *_attribute_columns(job)]


def _attribute_columns(job: Job) -> tuple[str, ...]:
    """The attribute signals, when the matcher's classifier reads them."""
    if job.settings.scorer != "learned" or not Linker(job.settings).reads_attributes():
        return ()
    return ATTRIBUTE_COLUMNS


def fill_dense(pairs: DataFrame, left: DataFrame, right: DataFrame) -> DataFrame:
    """`pairs` (left, right, dense or null) with every dense cosine filled in."""
    from pyspark.sql import functions as F

    missing = pairs.filter(F.col("dense").isNull()).select("left", "right")
    with_vectors = missing.join(
        left.select(F.col("_row").alias("left"), F.col("vector").alias("lv")), "left"
    ).join(right.select(F.col("_row").alias("right"), F.col("vector").alias("rv")), "right")

    def cosine(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            dense = np.einsum("ij,ij->i", unpack(batch["lv"]), unpack(batch["rv"]))
            yield pd.DataFrame(
                {"left": batch["left"], "right": batch["right"], "dense": dense.astype(np.float32)}
            )

    filled = with_vectors.mapInPandas(cosine, "left long, right long, dense float")
    return pairs.filter(F.col("dense").isNotNull()).unionByName(filled)


def unite(dense: DataFrame, coded: DataFrame) -> DataFrame:
    """Dense hits and model-number pairs, each pair once (dense null where only a code)."""
    from pyspark.sql import functions as F

    coded = coded.withColumn("dense", F.lit(None).cast("float"))
    both = dense.unionByName(coded)
    return both.groupBy("left", "right").agg(F.max("dense").alias("dense"))


def score(pairs: DataFrame, left: DataFrame, right: DataFrame, job: Job) -> DataFrame:
    """Every pair with ids, score and the signals behind it, ranked per left listing."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    vectors = job.settings.scorer == "learned"  # the pair classifier reads both vectors

    def listing(side: DataFrame, prefix: str) -> DataFrame:
        columns = [
            F.col("_row").alias(prefix),
            F.col("id").alias(f"{prefix}_id"),
            F.col("plain").alias(f"{prefix}_plain"),
            F.col("codes").alias(f"{prefix}_codes"),
            F.col("attributes").alias(f"{prefix}_attributes"),
        ]
        if vectors:
            columns.append(F.col("vector").alias(f"{prefix}_vector"))
        return side.select(*columns)

    joined = pairs.join(listing(left, "left"), "left").join(listing(right, "right"), "right")
    signals = signal_columns(job)
    types = {"dense": "float", "sparse": "float", **dict.fromkeys(ATTRIBUTE_COLUMNS, "float")}
    schema = ", ".join(
        [
            "left long, right long, left_id string, right_id string, score double",
            *(f"{name} {types.get(name, 'tinyint')}" for name in signals),
        ]
    )

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield score_batch(batch, job, signals)

    scored = joined.mapInPandas(run, schema)
    order = Window.partitionBy("left").orderBy(F.col("score").desc(), F.col("right"))
    return scored.withColumn("rank", F.row_number().over(order))


def score_batch(batch: pd.DataFrame, job: Job, signals: list[str]) -> pd.DataFrame:
    """One batch of joined pairs scored by the worker's linker."""
    linker = linker_for(job)
    lexical = job.sparse()
    left, li = _side(batch, "left", lexical)
    right, ri = _side(batch, "right", lexical)
    feats = linker.features(left, right, li, ri)
    dense = batch["dense"].to_numpy(dtype=np.float32)
    if "dense" in feats:
        feats["dense"] = dense
    else:
        feats.insert(2, "dense", dense)
    out = pd.DataFrame(
        {
            "left": batch["left"].to_numpy(),
            "right": batch["right"].to_numpy(),
            "left_id": batch["left_id"].to_numpy(),
            "right_id": batch["right_id"].to_numpy(),
            "score": linker.score(left, right, feats),
        }
    )
    for name in signals:
        out[name] = feats[name].to_numpy()
    return out


def _side(batch: pd.DataFrame, prefix: str, lexical: object) -> tuple[Side, npt.NDArray[np.int64]]:
    """The distinct listings of one side of a batch as a `Side`, and each pair's position."""
    rows = batch[prefix].to_numpy(dtype=np.int64)
    _, first, position = np.unique(rows, return_index=True, return_inverse=True)
    ids = batch[f"{prefix}_id"].to_numpy(dtype=object)[first].tolist()
    plain = batch[f"{prefix}_plain"].to_numpy(dtype=object)[first].tolist()
    codes = [frozenset(c) for c in batch[f"{prefix}_codes"].to_numpy(dtype=object)[first]]
    column = f"{prefix}_vector"
    vectors = unpack(batch[column].iloc[first]) if column in batch else None
    records = pd.DataFrame(index=pd.Index(ids, name="id", dtype=object))
    side = Side(Catalog("batch", records), texts=[], plain=plain, codes=codes, vectors=vectors)
    kept = batch[f"{prefix}_attributes"].to_numpy(dtype=object)[first]
    side.attributes = [Attributes.from_json(text) for text in kept]
    if lexical is not None:
        side.tfidf = lexical.transform(plain)  # type: ignore[attr-defined]
    return side, position.astype(np.int64)
