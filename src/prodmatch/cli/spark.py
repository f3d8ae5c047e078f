"""`prodmatch spark match` and `prodmatch spark dedupe`: the same tasks on Apache Spark.

Run it with spark-submit on a cluster or as a plain command (a local[2] session). Inputs and
outputs are paths on any Hadoop-compatible filesystem; outputs are folders of part files.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from prodmatch.cli.app import _settings, app, console, friendly_errors
from prodmatch.cli.options import (
    AssignmentOpt,
    Columns,
    IdCol,
    IndexOpt,
    Model,
    ScorerOpt,
    Sep,
    SettingsOpt,
    _Command,
)
from prodmatch.encode.onnx import Engine
from prodmatch.errors import ProdmatchError

spark_app = typer.Typer(
    help="Match or deduplicate catalogs on Apache Spark (needs prodmatch[spark]).",
    no_args_is_help=True,
)
app.add_typer(spark_app, name="spark")

Output = Annotated[
    str, typer.Option("--output", "-o", help="A folder: Parquet, or CSV when it ends in .csv.")
]
Master = Annotated[
    str | None,
    typer.Option(help="Spark master when not under spark-submit.", show_default="local[2]"),
]
SparkEngine = Annotated[
    Engine | None,
    typer.Option(help="Encoder engine on the executors.", show_default="onnx-int8"),
]
Nprobe = Annotated[
    int | None,
    typer.Option(help="IVF buckets each left listing probes.", show_default="calibrated"),
]
Partitions = Annotated[
    int | None, typer.Option(help="Shuffle partitions (spark.sql.shuffle.partitions).")
]
Threshold = Annotated[
    float | None, typer.Option(help="Decision threshold.", show_default="the matcher's or scorer's")
]


def _matcher(settings: Any, master: str | None, partitions: int | None, **options: Any) -> Any:
    from prodmatch.spark.api import SparkMatcher, SparkOptions
    from prodmatch.spark.session import get_session

    spark = get_session(master, partitions=partitions)
    spark.sparkContext.setLogLevel("ERROR")
    return SparkMatcher(settings, spark, SparkOptions(**options))


def _config(settings: Any, model: Any, scorer: Any, columns: Any, **overrides: Any) -> Any:
    from prodmatch.spark.api import SPARK_ENGINE

    overrides["engine"] = overrides.get("engine") or SPARK_ENGINE
    return _settings(settings, model, scorer, columns, **overrides)


def _distinct(inputs: list[str], output: str) -> None:
    if any(output.rstrip("/") == path.rstrip("/") for path in inputs):
        raise ProdmatchError(f"{output}: this output is an input; choose another output")


@spark_app.command("match", cls=_Command)
@friendly_errors
def spark_match(
    left: str,
    right: str,
    output: Output,
    sep: Sep = None,
    id_col: IdCol = "id",
    columns: Columns = None,
    model: Model = None,
    engine: SparkEngine = None,
    scorer: ScorerOpt = None,
    assignment: AssignmentOpt = None,
    k: Annotated[int | None, typer.Option(help="Candidates per listing.")] = None,
    threshold: Threshold = None,
    settings: SettingsOpt = None,
    index: IndexOpt = None,
    nprobe: Nprobe = None,
    master: Master = None,
    partitions: Partitions = None,
    all_candidates: Annotated[
        bool, typer.Option(help="Write every scored candidate, not only the matches.")
    ] = False,
) -> None:
    """Match two catalogs on Spark: one row per match, with `prodmatch match`'s columns."""
    from prodmatch.spark.tables import check_writable, read_table, write_table

    _distinct([left, right], output)
    config = _config(
        settings,
        model,
        scorer,
        columns,
        engine=engine,
        assignment=assignment,
        k=k,
        threshold=threshold,
        index=index,
    )
    matcher = _matcher(config, master, partitions, id_col=id_col, nprobe=nprobe)
    spark = matcher.spark
    check_writable(spark, output)
    found = matcher.match(
        read_table(spark, left, sep=sep),
        read_table(spark, right, sep=sep),
        all_candidates=all_candidates,
    )
    ordered = found.orderBy("left_id", found["score"].desc(), "right_id")
    run = {"inputs": [left, right], "settings": config.to_dict(), "report": matcher.report}
    write_table(ordered, output, run)
    r = matcher.report
    console.print(
        f"matches of {r['left_rows']} x {r['right_rows']} listings -> {output} "
        f"(candidates: {r['index']}, recall@k {r['recall_at_k']}, threshold {r['threshold']})",
        soft_wrap=True,
    )


@spark_app.command("dedupe", cls=_Command)
@friendly_errors
def spark_dedupe(
    catalog: str,
    output: Output,
    sep: Sep = None,
    id_col: IdCol = "id",
    columns: Columns = None,
    model: Model = None,
    engine: SparkEngine = None,
    scorer: ScorerOpt = None,
    k: Annotated[int | None, typer.Option(help="Candidates per listing.")] = None,
    threshold: Threshold = None,
    settings: SettingsOpt = None,
    index: IndexOpt = None,
    nprobe: Nprobe = None,
    master: Master = None,
    partitions: Partitions = None,
) -> None:
    """Cluster duplicate listings on Spark: one row per listing with its cluster."""
    from prodmatch.spark.tables import check_writable, read_table, write_table

    _distinct([catalog], output)
    config = _config(settings, model, scorer, columns, engine=engine, k=k, index=index)
    matcher = _matcher(config, master, partitions, id_col=id_col, nprobe=nprobe)
    check_writable(matcher.spark, output)
    frames = matcher.dedupe(read_table(matcher.spark, catalog, sep=sep), threshold=threshold)
    table = frames.clusters.orderBy("cluster_id", "_row").drop("_row")
    run = {"inputs": [catalog], "settings": config.to_dict(), "report": matcher.report}
    write_table(table, output, run)
    console.print(f"clusters of {matcher.report['left_rows']} listings -> {output}")
