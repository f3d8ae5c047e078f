"""Candidate pairs on Spark without collecting a side to the driver.

Dense: the standard partitioned IVF. A FAISS coarse quantiser is trained on a sample of the
right side, on one executor (as many centroids as `prodmatch.retrieve.dense` would use; only
the centroids reach the driver); every right listing
goes to its nearest centroid's bucket, every left listing to its `nprobe` nearest; each bucket
is then searched exactly (`cogroup` of its left queries and right members) and each left
listing keeps its best `k` over the buckets it probed. With every bucket probed this is exact
search. `nprobe` is calibrated as on one machine: raised until top-k agrees with exact search
on a sample of real left queries (`TARGET_RECALL`), and the recall is then measured on other
sampled queries. A right side small enough for exact search on one machine is broadcast
instead (the fast path).

Model numbers: pairs sharing a code found on at most `BLOCK_CAP` listings a side, as the
streamed pipeline blocks (a join on the normalised code).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.errors import ProdmatchError
from prodmatch.retrieve.dense import (
    EXACT_LIMIT,
    IndexKind,
    _empty,
    _train,
    n_lists,
    probes_for,
    train_size,
)
from prodmatch.spark.prepare import unpack
from prodmatch.stream.pipeline import BLOCK_CAP, RECALL_QUERIES

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

PAIR_SCHEMA = "left long, right long, dense float"
_SEED = 0


@dataclass
class SearchPlan:
    """How dense candidates were found: `nprobe` of `nlist` buckets (0 and 0 when broadcast),
    and the measured top-k recall against exact search (None when the search was exact)."""

    method: str
    nlist: int = 0
    nprobe: int = 0
    recall_at_k: float | None = None

    def report(self) -> dict[str, Any]:
        return {
            "index": self.method,
            "nlist": self.nlist or None,
            "nprobe": self.nprobe or None,
            "recall_at_k": self.recall_at_k,
        }


def dense_pairs(
    left: DataFrame,
    right: DataFrame,
    k: int,
    *,
    kind: IndexKind = "auto",
    nprobe: int | None = None,
    exclude_self: bool = False,
    broadcast_limit: int = EXACT_LIMIT,
) -> tuple[DataFrame, SearchPlan]:
    """Each left listing's top-`k` right listings by cosine (PAIR_SCHEMA), and how."""
    n_right = right.count()
    wanted = k + 1 if exclude_self else k  # a listing finds itself first
    if kind in ("auto", "flat") and n_right <= broadcast_limit:
        found, plan = _broadcast_search(left, right, wanted), SearchPlan("broadcast-flat")
    else:
        exact = kind == "flat"
        found, plan = _ivf_search(left, right, wanted, n_right, nprobe, exact=exact)
    if exclude_self:
        found = found.filter("left != right")
    return _top_k(found, k), plan


def _top_k(pairs: DataFrame, k: int) -> DataFrame:
    """Each left listing's best `k` (ties: the earlier right listing first, as FAISS)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = Window.partitionBy("left").orderBy(F.col("dense").desc(), F.col("right"))
    ranked = pairs.withColumn("_n", F.row_number().over(order))
    return ranked.filter(F.col("_n") <= k).drop("_n")


def _broadcast_search(left: DataFrame, right: DataFrame, k: int) -> DataFrame:
    """Exact search against the whole right side, broadcast to every task."""
    local = right.select("_row", "vector").toPandas()
    rows = local["_row"].to_numpy(dtype=np.int64)
    shared = left.sparkSession.sparkContext.broadcast((rows, unpack(local["vector"])))

    def search(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        right_rows, vectors = shared.value
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        for batch in batches:
            yield _hits(batch["_row"].to_numpy(), unpack(batch["vector"]), index, right_rows, k)

    return left.select("_row", "vector").mapInPandas(search, PAIR_SCHEMA)


def _hits(
    queries: npt.NDArray[np.int64],
    vectors: npt.NDArray[np.float32],
    index: faiss.Index,
    right_rows: npt.NDArray[np.int64],
    k: int,
) -> pd.DataFrame:
    """Top-`k` of `index` for each query as (left, right, dense) rows."""
    k = min(k, index.ntotal)
    if len(queries) == 0 or k == 0:
        return pd.DataFrame({"left": [], "right": [], "dense": []}).astype(
            {"left": np.int64, "right": np.int64, "dense": np.float32}
        )
    scores, idx = index.search(vectors, k)
    keep = idx >= 0
    return pd.DataFrame(
        {
            "left": np.repeat(queries, k)[keep.ravel()],
            "right": right_rows[idx[keep]],
            "dense": scores[keep].astype(np.float32),
        }
    )


def _ivf_search(
    left: DataFrame,
    right: DataFrame,
    k: int,
    n_right: int,
    nprobe: int | None,
    *,
    exact: bool,
) -> tuple[DataFrame, SearchPlan]:
    """The partitioned IVF search (see the module docstring)."""
    sc = left.sparkSession.sparkContext
    centroids = _coarse_quantiser(right, n_right)
    nlist = len(centroids)
    shared = sc.broadcast(centroids)
    buckets = _assign(right, shared, 1).drop("_rank")
    recall: float | None = None
    if exact:
        nprobe = nlist
    elif nprobe is None:
        nprobe, recall = _calibrate(left, buckets, centroids, k)
    nprobe = max(1, min(int(nprobe), nlist))
    probes = _assign(left, shared, nprobe).drop("_rank")

    def bucket_top_k(queries: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
        index = faiss.IndexFlatIP(centroids.shape[1])
        if len(members):
            index.add(unpack(members["vector"]))
        rows = members["_row"].to_numpy(dtype=np.int64)
        return _hits(queries["_row"].to_numpy(), unpack(queries["vector"]), index, rows, k)

    grouped = probes.groupBy("bucket").cogroup(buckets.groupBy("bucket"))
    found = grouped.applyInPandas(bucket_top_k, PAIR_SCHEMA)
    method = "ivf-exact" if nprobe >= nlist else "ivf"
    return found, SearchPlan(method, nlist, nprobe, None if nprobe >= nlist else recall)


def _coarse_quantiser(right: DataFrame, n_right: int) -> npt.NDArray[np.float32]:
    """Centroids trained on a sample of the right side, as `DenseIndex` trains its own.

    The training runs on one executor (the sample coalesced into a single task) and only the
    centroids come back: the driver receives `nlist` vectors, never the sample (40 vectors a
    centroid, 77 MB at 100k listings, whose collection lost the task result there). `coalesce`
    keeps the sample's order fixed, so the same data trains the same centroids.
    """
    wanted = max(1, train_size("ivf", n_right))
    fraction = min(1.0, 1.2 * wanted / max(1, n_right))
    sample = right.select("vector").sample(fraction=fraction, seed=_SEED).coalesce(1)

    def train(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        parts: list[npt.NDArray[np.float32]] = []
        kept = 0
        for batch in batches:  # read to the end, keep the first `wanted`
            if kept < wanted and len(batch):
                parts.append(unpack(batch["vector"].iloc[: wanted - kept]))
                kept += len(parts[-1])
        if parts:
            yield pd.DataFrame({"centroid": list(train_centroids(np.concatenate(parts), n_right))})

    trained = sample.mapInPandas(train, "centroid array<float>").toPandas()
    if trained.empty:
        raise ProdmatchError("an IVF index needs vectors to train on")
    return np.stack(trained["centroid"].to_list()).astype(np.float32)


def train_centroids(vectors: npt.NDArray[np.float32], n: int) -> npt.NDArray[np.float32]:
    """The coarse quantiser of an IVF index over `n` vectors, trained on `vectors` (a sample
    of them): as many centroids as `DenseIndex` would use, fewer when the sample is tiny."""
    dim = vectors.shape[1]
    index = _empty("ivf", dim, n)
    if faiss.extract_index_ivf(index).nlist > len(vectors):
        nlist = max(1, min(n_lists(n), len(vectors)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    _train(index, vectors)
    ivf = faiss.extract_index_ivf(index)
    return np.asarray(ivf.quantizer.reconstruct_n(0, ivf.nlist), dtype=np.float32)


def _assign(side: DataFrame, centroids: Any, nprobe: int) -> DataFrame:
    """Each listing once per probed bucket: (_row, vector, bucket, _rank of that bucket)."""

    def probe(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        quantiser = faiss.IndexFlatIP(centroids.value.shape[1])
        quantiser.add(centroids.value)
        for batch in batches:
            vectors = unpack(batch["vector"])
            if len(batch) == 0:
                continue
            _, nearest = quantiser.search(vectors, nprobe)
            n = len(batch)
            yield pd.DataFrame(
                {
                    "_row": np.repeat(batch["_row"].to_numpy(), nprobe),
                    "vector": np.repeat(batch["vector"].to_numpy(), nprobe),
                    "bucket": nearest.ravel().astype(np.int64),
                    "_rank": np.tile(np.arange(nprobe, dtype=np.int64), n),
                }
            )

    schema = "_row long, vector binary, bucket long, _rank long"
    return side.select("_row", "vector").mapInPandas(probe, schema)


def _calibrate(
    left: DataFrame, buckets: DataFrame, centroids: npt.NDArray[np.float32], k: int
) -> tuple[int, float]:
    """The smallest nprobe (8, 16, 32, ...) reaching TARGET_RECALL on half of a sample of left
    queries, and the recall it reaches on the other half.

    A probed search misses an exact neighbour exactly when that neighbour's bucket is not
    among the query's nprobe nearest centroids (inside the probed buckets nothing can outrank
    it), so recall at any nprobe follows from one exact search of the sample.
    """
    n_left = left.count()
    fraction = min(1.0, 2.4 * RECALL_QUERIES / max(1, n_left))
    sample = left.select("_row", "vector").sample(fraction=fraction, seed=_SEED + 1)
    local = sample.limit(2 * RECALL_QUERIES).toPandas()
    queries = unpack(local["vector"])
    if len(queries) == 0:
        return 1, 1.0
    neighbour_buckets = _exact_buckets(buckets, queries, k)
    quantiser = faiss.IndexFlatIP(centroids.shape[1])
    quantiser.add(centroids)
    _, order = quantiser.search(queries, len(centroids))
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(len(centroids))[None, :], axis=1)
    depth = np.take_along_axis(rank, np.maximum(neighbour_buckets, 0), axis=1)
    depth = np.where(neighbour_buckets >= 0, depth, -1)

    def recall(rows: slice, probes: int) -> float:
        found = depth[rows]
        total = int((found >= 0).sum())
        return float(((found >= 0) & (found < probes)).sum() / total) if total else 1.0

    tune, held = slice(0, None, 2), slice(1, None, 2)
    probes = probes_for(lambda probed: recall(tune, probed), len(centroids))[0]
    return probes, round(recall(held, probes) if len(queries) > 1 else recall(tune, probes), 4)


def _exact_buckets(
    buckets: DataFrame, queries: npt.NDArray[np.float32], k: int
) -> npt.NDArray[np.int64]:
    """The buckets of each query's exact top-`k` right listings (-1 pads), searched on the
    executors: each batch's own top-k per query, merged in Spark, so the driver receives
    `k` rows a query however many batches the right side has."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    shared = buckets.sparkSession.sparkContext.broadcast(queries)

    def search(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            if len(batch) == 0:
                continue
            index = faiss.IndexFlatIP(shared.value.shape[1])
            index.add(unpack(batch["vector"]))
            top = min(k, index.ntotal)
            scores, idx = index.search(shared.value, top)
            query = np.repeat(np.arange(len(shared.value)), top)
            yield pd.DataFrame(
                {
                    "query": query,
                    "score": scores.ravel(),
                    "_row": batch["_row"].to_numpy()[idx.ravel()],
                    "bucket": batch["bucket"].to_numpy()[idx.ravel()],
                }
            )

    schema = "query long, score float, _row long, bucket long"
    best = Window.partitionBy("query").orderBy(F.col("score").desc(), F.col("_row"))
    ranked = buckets.mapInPandas(search, schema).withColumn("_n", F.row_number().over(best))
    hits = ranked.filter(F.col("_n") <= k).toPandas().sort_values(["query", "_n"])
    out = np.full((len(queries), k), -1, dtype=np.int64)
    position = hits.groupby("query").cumcount().to_numpy()
    out[hits["query"].to_numpy(), position] = hits["bucket"].to_numpy()
    return out


def code_pairs(
    left: DataFrame, right: DataFrame, *, cap: int = BLOCK_CAP, exclude_self: bool = False
) -> DataFrame:
    """(left, right) rows sharing a model number found on at most `cap` listings a side."""
    from pyspark.sql import functions as F

    def exploded(side: DataFrame) -> DataFrame:
        return side.select("_row", F.explode("codes").alias("code")).distinct()

    lc, rc = exploded(left), exploded(right)
    small = (
        lc.groupBy("code")
        .count()
        .filter(F.col("count") <= cap)
        .select("code")
        .join(rc.groupBy("code").count().filter(F.col("count") <= cap).select("code"), "code")
    )
    pairs = (
        lc.join(small, "code")
        .withColumnRenamed("_row", "left")
        .join(rc.withColumnRenamed("_row", "right"), "code")
        .select("left", "right")
        .distinct()
    )
    return pairs.filter("left != right") if exclude_self else pairs
