"""The partitioned IVF's coarse quantiser: trained on an executor, only centroids collected."""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np
import pandas as pd
import pytest

from prodmatch.retrieve.dense import n_lists
from prodmatch.spark import candidates as cand
from prodmatch.spark.prepare import pack, unpack

pytestmark = pytest.mark.spark

N, DIM = 4_000, 16  # 100 centroids trained on all 4,000 (40 a centroid)


def _side(spark: Any) -> Any:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(N, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    frame = pd.DataFrame({"_row": np.arange(N), "vector": pack(vectors)})
    side = spark.createDataFrame(frame, "_row long, vector binary").cache()
    assert side.count() == N and side.rdd.getNumPartitions() > 1
    return side


def test_the_quantiser_collects_its_centroids_never_the_training_sample(
    spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    side = _side(spark)
    to_pandas = type(side).toPandas
    collected = _count_collected(side, monkeypatch)
    centroids = cand._coarse_quantiser(side, N)
    nlist = n_lists(N)
    assert centroids.shape == (nlist, DIM) and nlist == 100
    # The sample (every listing here) stays on the executor: the driver gets 100 rows.
    assert collected and max(collected) <= nlist
    # The same centroids as training on the driver: the whole side, in the side's order.
    ordered = unpack(to_pandas(side)["vector"])
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # as a Spark task runs it
    try:
        expected = cand.train_centroids(ordered, N)
    finally:
        faiss.omp_set_num_threads(threads)
    np.testing.assert_allclose(centroids, expected, atol=1e-5)


def test_exact_buckets_of_sampled_queries_come_back_merged_k_rows_a_query(
    spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    side = _side(spark)
    buckets = side.withColumn("bucket", side["_row"] % 7)
    local = buckets.toPandas()
    vectors, bucket = unpack(local["vector"]), local["bucket"].to_numpy()
    queries, k = vectors[:20] * 0.9 + vectors[20:40] * 0.1, 5
    collected = _count_collected(side, monkeypatch)
    # Batches of 500: each batch's own top-k would be 8 a query past the first.
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "500")
    try:
        found = cand._exact_buckets(buckets, queries, k)
    finally:
        spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
    assert collected == [len(queries) * k]
    best = np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(found, bucket[best])


def _count_collected(side: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The row counts of every DataFrame collected to the driver from now on."""
    collected: list[int] = []
    to_pandas = type(side).toPandas

    def counting(df: Any) -> pd.DataFrame:
        local = to_pandas(df)
        collected.append(len(local))
        return local

    monkeypatch.setattr(type(side), "toPandas", counting)
    return collected


def test_packed_vectors_come_back_as_the_streamed_store_rounds_them() -> None:
    vectors = np.random.default_rng(1).normal(size=(5, DIM)).astype(np.float32)
    packed = pack(vectors)
    assert all(isinstance(row, bytes) and len(row) == 2 * DIM for row in packed)
    np.testing.assert_array_equal(
        unpack(pd.Series(packed)), vectors.astype(np.float16).astype(np.float32)
    )
    assert unpack(pd.Series([], dtype=object)).shape == (0, 0)
