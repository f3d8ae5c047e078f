"""Decisions and clusters on Spark without collecting the candidates to the driver.

Greedy one-to-one assignment (and best-per-listing) only ever compares pairs that share a
listing, so whole connected components of the above-threshold graph can be decided apart: the
components are found by label propagation in Spark and hashed into `shuffle partitions`
buckets, and each bucket (many whole components) is handed to the same
`prodmatch.decide.assign` a single machine runs, pairs in the single-machine order (left
listing, best score first), so ties break alike. A bucket, not a component, is the unit of
work: one pandas call per component cost ~2.5 ms, 50 s for 20k listings in one task. Dedup
clusters are connected components of the duplicate graph, described (representative,
confidence) a bucket at a time by the same `describe_clusters` as `prodmatch dedupe`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from prodmatch.decide import Assignment, assign
from prodmatch.decide.hac import describe_clusters

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

MAX_ROUNDS = 100  # label propagation stops here even if labels still change (a chain that long)


def bucket_of(component: str, session: SparkSession) -> Column:
    """A bucket number for each component: as many buckets as shuffle partitions, so each
    task decides one bucket of whole components."""
    from pyspark.sql import functions as F

    buckets = int(session.conf.get("spark.sql.shuffle.partitions") or 1)
    return F.pmod(F.xxhash64(component), F.lit(max(1, buckets)))


def components(edges: DataFrame) -> DataFrame:
    """(node, component) for every node of the (src, dst) edges: the component is its
    smallest node, found by iterative minimum-label propagation."""
    from pyspark.sql import functions as F

    both = edges.select("src", "dst").unionByName(
        edges.select(F.col("dst").alias("src"), F.col("src").alias("dst"))
    )
    both = both.localCheckpoint()
    labels = both.select(F.col("src").alias("node")).distinct()
    labels = labels.withColumn("component", F.col("node")).localCheckpoint()
    for _ in range(MAX_ROUNDS):
        proposed = both.join(labels.withColumnRenamed("node", "src"), "src").select(
            F.col("dst").alias("node"), "component"
        )
        fresh = (
            labels.unionByName(proposed)
            .groupBy("node")
            .agg(F.min("component").alias("component"))
            .localCheckpoint()
        )
        changed = (
            fresh.join(labels.withColumnRenamed("component", "old"), "node")
            .filter(F.col("component") < F.col("old"))
            .limit(1)
            .count()
        )
        labels = fresh
        if not changed:
            break
    return labels


def decide(scored: DataFrame, threshold: float, mode: Assignment) -> DataFrame:
    """`scored` with a boolean `decision` column, as `Linker.decide` sets it."""
    from pyspark.sql import functions as F

    above = F.col("score") >= threshold
    if mode == "all":
        return scored.withColumn("decision", above)
    kept = scored.filter(above).select("left", "right", "score")
    edges = kept.select((F.col("left") * 2).alias("src"), (F.col("right") * 2 + 1).alias("dst"))
    labels = components(edges)
    grouped = kept.join(
        labels.filter(F.col("node") % 2 == 0).select(
            F.shiftright("node", 1).alias("left"), "component"
        ),
        "left",
    ).withColumn("bucket", bucket_of("component", scored.sparkSession))

    def some_components(group: pd.DataFrame) -> pd.DataFrame:
        group = group.sort_values(
            ["left", "score", "right"], ascending=[True, False, True], kind="stable"
        ).reset_index(drop=True)
        chosen = assign(group[["left", "right", "score"]], threshold, mode).to_numpy()
        return pd.DataFrame({"left": group["left"], "right": group["right"], "decision": chosen})

    decided = grouped.groupBy("bucket").applyInPandas(
        some_components, "left long, right long, decision boolean"
    )
    out = scored.join(decided, ["left", "right"], "left")
    return out.withColumn("decision", F.coalesce(F.col("decision"), F.lit(False)))


def clusters(side: DataFrame, scored: DataFrame, threshold: float) -> DataFrame:
    """One row per listing: cluster_id (0, 1, ... by each cluster's first listing),
    product_id, representative_id, cluster_size, confidence; and `_row`."""
    from pyspark.sql import functions as F

    kept = scored.filter(F.col("score") >= threshold)
    labels = components(kept.select(F.col("left").alias("src"), F.col("right").alias("dst")))
    members = (
        side.select("_row", "id")
        .join(labels.withColumnRenamed("node", "_row"), "_row", "left")
        .withColumn("component", F.coalesce(F.col("component"), F.col("_row")))
    )
    keys = members.select("component").distinct().orderBy("component")
    numbered = keys.rdd.zipWithIndex().map(lambda pair: (pair[0][0], pair[1]))
    numbers = numbered.toDF("component long, cluster_id long")
    endpoints = kept.select(F.col("left").alias("_row")).union(
        kept.select(F.col("right").alias("_row"))
    )
    linked = endpoints.distinct().withColumn("linked", F.lit(True))
    members = members.join(numbers, "component").join(linked, "_row", "left").localCheckpoint()
    inside = (
        scored.select("left", "right", "score")
        .join(members.select(F.col("_row").alias("left"), "component"), "left")
        .join(members.select(F.col("_row").alias("right"), F.col("component").alias("c2")), "right")
        .filter(F.col("component") == F.col("c2"))
        .drop("c2")
        .localCheckpoint()  # a plan of its own: cogrouped with `members`, which it joins
    )

    def describe(group: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
        group = group.sort_values(["component", "_row"], kind="stable").reset_index(drop=True)
        rows = group["_row"].to_numpy(dtype=np.int64)
        local = pd.Index(rows)
        li = local.get_indexer(pairs["left"].to_numpy(dtype=np.int64))
        ri = local.get_indexer(pairs["right"].to_numpy(dtype=np.int64))
        labels = pd.factorize(group["component"], sort=True)[0].astype(np.int64)
        representative, confidence = describe_clusters(labels, li, ri, pairs["score"])
        ids = group["id"].to_numpy(dtype=object)
        return pd.DataFrame(
            {
                "_row": rows,
                "cluster_id": group["cluster_id"].to_numpy(dtype=np.int64),
                "product_id": ids,
                "representative_id": ids[representative],
                "cluster_size": np.bincount(labels)[labels].astype(np.int64),
                "confidence": np.round(confidence, 4),
            }
        )

    schema = (
        "_row long, cluster_id long, product_id string, representative_id string, "
        "cluster_size long, confidence double"
    )
    alone = members.filter(F.col("linked").isNull())
    singles = alone.select(
        "_row",
        "cluster_id",
        F.col("id").alias("product_id"),
        F.col("id").alias("representative_id"),
        F.lit(1).cast("long").alias("cluster_size"),
        F.lit(float("nan")).alias("confidence"),
    )
    bucket = bucket_of("component", scored.sparkSession)
    grouped_members = members.filter(F.col("linked").isNotNull()).drop("linked")
    grouped = (
        grouped_members.withColumn("bucket", bucket)
        .groupBy("bucket")
        .cogroup(inside.withColumn("bucket", bucket).groupBy("bucket"))
    )
    return grouped.applyInPandas(describe, schema).unionByName(singles)
