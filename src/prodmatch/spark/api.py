"""Matching and deduplicating Spark DataFrames: the linking core on distributed data.

    prepare     each side checked (id column, unique ids), serialised and encoded on the
                executors (`prodmatch.spark.prepare`)
    candidates  partitioned IVF dense search plus model-number blocking
                (`prodmatch.spark.candidates`), as the streamed single-machine run finds them
    score       the linker's features and scorers per batch (`prodmatch.spark.scoring`)
    decide      the core's assignment per connected component (`prodmatch.spark.decide`)

Settings mean what they mean for `prodmatch match`; the Spark-only knobs (id column, nprobe,
the broadcast limit) are `SparkOptions`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from prodmatch.decide.calibrate import Cut, choose_cut
from prodmatch.dedup import PLAIN_DEDUP_THRESHOLDS
from prodmatch.encode.onnx import Engine
from prodmatch.linker import MATCH_COLUMNS, Linker
from prodmatch.retrieve import SparseIndex
from prodmatch.retrieve.dense import EXACT_LIMIT
from prodmatch.score import DEFAULT_THRESHOLDS, needs_sparse
from prodmatch.settings import MatchSettings
from prodmatch.spark import candidates as cand
from prodmatch.spark.decide import clusters, decide
from prodmatch.spark.prepare import prepare_side
from prodmatch.spark.scoring import fill_dense, score, signal_columns, unite
from prodmatch.spark.session import get_session
from prodmatch.spark.workers import Job, check_supported, new_job
from prodmatch.stream.pipeline import BLOCK_CAP, CALIBRATION_ROWS, DEFAULT_SAMPLE_ROWS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Spark runs encode with int8 ONNX unless told otherwise (cosine 0.99 to torch, 3x faster).
SPARK_ENGINE: Engine = "onnx-int8"


@dataclass
class SparkOptions:
    """id_col: the id column of both DataFrames. nprobe: buckets each left listing probes
    (None: calibrated to TARGET_RECALL on sampled queries). broadcast_limit: a right side up
    to this many listings is broadcast and searched exactly. block_cap: model numbers on more
    listings a side make no block. sample_rows: listings of each side the TF-IDF vocabulary
    is fitted on when the matcher brings none (the first ones, as streamed runs do).
    ship_model: stage the model folder and send it with the job (off: executors resolve the
    settings' model themselves)."""

    id_col: str = "id"
    nprobe: int | None = None
    broadcast_limit: int = EXACT_LIMIT
    block_cap: int = BLOCK_CAP
    sample_rows: int = DEFAULT_SAMPLE_ROWS
    ship_model: bool = True


@dataclass
class DedupeFrames:
    pairs: DataFrame
    clusters: DataFrame
    threshold: float


@dataclass
class SparkMatcher:
    """One Spark run's settings, session and options; `report` says how it went."""

    settings: MatchSettings = field(default_factory=lambda: MatchSettings(engine=SPARK_ENGINE))
    spark: SparkSession | None = None
    options: SparkOptions = field(default_factory=SparkOptions)
    report: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.spark = self.spark or get_session()
        self.linker = Linker(self.settings, progress=False)  # checks the matcher on the driver
        check_supported(self.linker)

    # -- the steps ---------------------------------------------------------------------------

    def _job(self) -> Job:
        assert self.spark is not None
        return new_job(self.spark, self.settings, None, ship=self.options.ship_model)

    def _with_lexical(self, job: Job, sides: list[DataFrame]) -> Job:
        """`job` with the TF-IDF statistics broadcast: the matcher's, else fitted on the
        first `sample_rows` listings of each side."""
        if not needs_sparse(self.settings.scorer):
            return job
        lexical = self.linker.lexical
        if lexical is None:
            texts: list[str] = []
            for side in sides:
                first = side.orderBy("_row").limit(self.options.sample_rows).select("plain")
                texts += first.toPandas()["plain"].tolist()
            lexical = SparseIndex(texts)
        assert self.spark is not None
        return replace(job, lexical=self.spark.sparkContext.broadcast(lexical))

    def scored_candidates(
        self, left: DataFrame, right: DataFrame, *, exclude_self: bool = False
    ) -> tuple[DataFrame, DataFrame, DataFrame]:
        """Every candidate pair scored and ranked, and the two prepared sides."""
        started = time.perf_counter()
        o, s = self.options, self.settings
        job = self._job()
        left_side = prepare_side(left, job, name="left", id_col=o.id_col)
        right_side = (
            left_side if right is left else prepare_side(right, job, name="right", id_col=o.id_col)
        )
        rows = {"left_rows": left_side.count(), "right_rows": right_side.count()}
        job = self._with_lexical(job, [left_side] if right is left else [left_side, right_side])
        dense, plan = cand.dense_pairs(
            left_side,
            right_side,
            s.k,
            kind=s.index,
            nprobe=o.nprobe,
            exclude_self=exclude_self,
            broadcast_limit=o.broadcast_limit,
        )
        coded = cand.code_pairs(left_side, right_side, cap=o.block_cap, exclude_self=exclude_self)
        pairs = unite(dense, coded)
        if exclude_self:  # each unordered pair once, as (earlier, later)
            from pyspark.sql import functions as F

            pairs = pairs.select(
                F.least("left", "right").alias("left"),
                F.greatest("left", "right").alias("right"),
                "dense",
            )
            pairs = pairs.groupBy("left", "right").agg(F.max("dense").alias("dense"))
        pairs = fill_dense(pairs, left_side, right_side)
        # Scored once: the decision steps read the pairs several times.
        scored = score(pairs, left_side, right_side, job).localCheckpoint()
        self.report.update(rows, **plan.report(), k=s.k)
        self.report["prepare_seconds"] = round(time.perf_counter() - started, 1)
        return scored, left_side, right_side

    # -- the tasks ---------------------------------------------------------------------------

    def match(
        self,
        left: DataFrame,
        right: DataFrame,
        *,
        threshold: float | None = None,
        all_candidates: bool = False,
    ) -> DataFrame:
        """Matches (or, with `all_candidates`, every scored candidate) with `prodmatch
        match`'s columns: MATCH_COLUMNS, then the signals behind each score."""
        scored, _, _ = self.scored_candidates(left, right)
        cut = self._cut(scored, threshold)
        decided = decide(scored, cut.threshold, self.settings.assignment)
        if not all_candidates:
            decided = decided.filter("decision")
        self.report["threshold"] = cut.threshold
        self.report["decision"] = cut.source
        shown = [c for c in MATCH_COLUMNS if c != "probability"]  # estimated only when calibrated
        columns = [*shown, *signal_columns(self._job_settings_only())]
        return decided.select(*columns)

    def _cut(self, scored: DataFrame, threshold: float | None) -> Cut:
        """The threshold, through the same `choose_cut` as a single machine: calibrated on
        the candidates of every left listing or, past `CALIBRATION_ROWS` candidates, of an
        even sample of left listings (whole candidate lists: the estimate reads ranks)."""
        from pyspark.sql import functions as F

        if threshold is not None or not self.settings.calibrated:
            return choose_cut(pd.DataFrame(), self.settings, threshold=threshold)
        step = max(1, -(-scored.count() // CALIBRATION_ROWS))
        chosen = scored.filter(F.col("left") % step == 0) if step > 1 else scored
        sample = chosen.select("left", "right", "score", "rank").toPandas()
        return choose_cut(sample, self.settings, left_rows=int(sample["left"].nunique()))

    def dedupe(self, df: DataFrame, *, threshold: float | None = None) -> DedupeFrames:
        """Duplicate pairs (left < right, with `decision`: same cluster) and one row per
        listing with its cluster: connected components of the pairs scoring at least the
        dedup threshold (default: the scorer's, as `prodmatch dedupe`)."""
        s = self.settings
        cut = threshold
        if cut is None:
            cut = PLAIN_DEDUP_THRESHOLDS.get(s.scorer, DEFAULT_THRESHOLDS[s.scorer])
        scored, side, _ = self.scored_candidates(df, df, exclude_self=True)
        table = clusters(side, scored, cut).localCheckpoint()
        same = table.select("_row", "cluster_id")
        pairs = (
            scored.join(same.withColumnRenamed("_row", "left"), "left")
            .join(
                same.withColumnRenamed("_row", "right").withColumnRenamed("cluster_id", "c2"),
                "right",
            )
            .withColumn("decision", same_cluster())
            .drop("cluster_id", "c2")
        )
        self.report["threshold"] = cut
        return DedupeFrames(pairs, table, cut)

    def _job_settings_only(self) -> Job:
        return Job("", self.settings, None)


def same_cluster() -> Any:
    from pyspark.sql import functions as F

    return F.col("cluster_id") == F.col("c2")


def match(
    left: DataFrame,
    right: DataFrame,
    settings: MatchSettings | str | None = None,
    *,
    threshold: float | None = None,
    options: SparkOptions | None = None,
) -> DataFrame:
    """The matches of two catalog DataFrames (see `SparkMatcher.match`). `settings` may be a
    `MatchSettings` or a trained matcher folder (its own settings)."""
    matcher = SparkMatcher(_settings(settings), left.sparkSession, options or SparkOptions())
    return matcher.match(left, right, threshold=threshold)


def dedupe(
    df: DataFrame,
    settings: MatchSettings | str | None = None,
    *,
    threshold: float | None = None,
    options: SparkOptions | None = None,
) -> DataFrame:
    """One row per listing with its duplicate cluster (see `SparkMatcher.dedupe`)."""
    matcher = SparkMatcher(_settings(settings), df.sparkSession, options or SparkOptions())
    return matcher.dedupe(df, threshold=threshold).clusters


def _settings(settings: MatchSettings | str | None) -> MatchSettings:
    if settings is None:
        return MatchSettings(engine=SPARK_ENGINE)
    if isinstance(settings, MatchSettings):
        return settings
    from prodmatch.matcher import matcher_settings

    return matcher_settings(settings)  # type: ignore[no-any-return]
