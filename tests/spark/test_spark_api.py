"""Spark matching on synthetic catalogs against the single-machine streamed run.

Vectors are encoded one text at a time (batch_size=1) so they do not depend on which texts
share a batch; with exact search both paths then see the same candidates, so the scores,
ranks and decisions must agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from prodmatch.decide import connected_components
from prodmatch.decide.hac import describe_clusters
from prodmatch.errors import InputError
from prodmatch.settings import MatchSettings
from prodmatch.spark.api import SparkMatcher, SparkOptions
from prodmatch.stream import StreamMatcher
from prodmatch.synth import generate_catalogs, generate_duplicates

pytestmark = pytest.mark.spark

SIZE = 200  # products: about 180 listings a side


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("spark-world")
    world = generate_catalogs(SIZE, seed=5)
    left, right = folder / "left.csv", folder / "right.parquet"
    world.left.to_csv(left, index=False)
    world.right.to_parquet(right, index=False)
    return left, right


@pytest.fixture(scope="module")
def settings(tiny_model: Path) -> MatchSettings:
    return MatchSettings(model=str(tiny_model), batch_size=1, max_seq_length=32, k=5, index="flat")


@pytest.fixture(scope="module")
def single(
    tmp_path_factory: pytest.TempPathFactory, settings: MatchSettings, files: tuple[Path, Path]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The streamed single-machine run: its matches and every scored candidate."""
    work = tmp_path_factory.mktemp("single")
    result = StreamMatcher(work, settings, sample_rows=10_000, progress=False).run(*files)
    candidates = pd.concat(
        [pd.read_parquet(p) for p in sorted((work / "candidates").glob("*.parquet"))]
    )
    return result.matches, candidates


def _frames(spark: Any, files: tuple[Path, Path]) -> tuple[Any, Any]:
    left = spark.read.csv(str(files[0]), header=True, inferSchema=False)
    return left, spark.read.parquet(str(files[1]))


def _run(spark: Any, settings: MatchSettings, files: tuple[Path, Path], **opts: Any) -> Any:
    matcher = SparkMatcher(settings, spark, SparkOptions(sample_rows=10_000, **opts))
    left, right = _frames(spark, files)
    return matcher, matcher.match(left, right, all_candidates=True).toPandas()


def _by_pair(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["left_id", "right_id"]).reset_index(drop=True)


def _check_same(spark_all: pd.DataFrame, single: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    matches, candidates = single
    ours, theirs = _by_pair(spark_all), _by_pair(candidates)
    assert len(theirs) > 600
    pd.testing.assert_frame_equal(ours[["left_id", "right_id"]], theirs[["left_id", "right_id"]])
    for column in ("score", "dense", "sparse"):
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-5, atol=1e-6)
    for column in ("code_agreement", "code_variant", "rank"):
        np.testing.assert_array_equal(ours[column], theirs[column])
    decided = _by_pair(spark_all[spark_all["decision"]])
    assert len(decided) > 100
    pd.testing.assert_frame_equal(
        decided[["left_id", "right_id"]], _by_pair(matches)[["left_id", "right_id"]]
    )


def test_broadcast_search_gives_the_single_machine_candidates_and_matches(
    spark: Any, settings: MatchSettings, files: tuple[Path, Path], single: Any
) -> None:
    matcher, found = _run(spark, settings, files)
    assert matcher.report["index"] == "broadcast-flat"
    assert matcher.report["decision"] == "calibrated"  # the default, as a single machine's
    _check_same(found, single)


def test_partitioned_ivf_probing_every_bucket_is_exact(
    spark: Any, settings: MatchSettings, files: tuple[Path, Path], single: Any
) -> None:
    matcher, found = _run(spark, settings, files, broadcast_limit=0)
    assert matcher.report["index"] == "ivf-exact"
    assert matcher.report["nprobe"] == matcher.report["nlist"] > 1
    _check_same(found, single)


def test_calibrated_ivf_reports_its_recall_and_finds_most_candidates(
    spark: Any, settings: MatchSettings, files: tuple[Path, Path], single: Any
) -> None:
    ivf = MatchSettings(**{**settings.to_dict(), "index": "ivf"})
    matcher, found = _run(spark, ivf, files, broadcast_limit=0)
    report = matcher.report
    assert report["index"] in ("ivf", "ivf-exact")
    assert 1 <= report["nprobe"] <= report["nlist"]
    if report["index"] == "ivf":
        assert report["recall_at_k"] >= 0.95
    exact = set(zip(single[1]["left_id"], single[1]["right_id"], strict=True))
    probed = set(zip(found["left_id"], found["right_id"], strict=True))
    assert len(exact & probed) >= 0.95 * len(exact)


def test_dedupe_clusters_are_the_connected_components_of_its_pairs(
    spark: Any, settings: MatchSettings
) -> None:
    catalog, _ = generate_duplicates(200, seed=3)
    df = spark.createDataFrame(catalog.astype(str))
    frames = SparkMatcher(settings, spark, SparkOptions(sample_rows=10_000)).dedupe(df)
    pairs, table = frames.pairs.toPandas(), frames.clusters.toPandas()
    assert sorted(table["product_id"]) == sorted(catalog["id"].astype(str))
    position = {id_: n for n, id_ in enumerate(catalog["id"].astype(str))}
    kept = pairs[pairs["score"] >= frames.threshold]
    expected = connected_components(
        len(catalog), kept["left_id"].map(position), kept["right_id"].map(position)
    )
    table = table.assign(position=table["product_id"].map(position)).sort_values("position")
    np.testing.assert_array_equal(table["cluster_id"].to_numpy(), expected)
    sizes = np.bincount(expected)[expected]
    np.testing.assert_array_equal(table["cluster_size"].to_numpy(), sizes)
    assert (pairs["left_id"] != pairs["right_id"]).all()
    assert pairs["decision"].sum() >= len(kept) > 0
    # representatives and confidences as `prodmatch dedupe` describes the same clusters
    # (Spark describes many clusters per bucket: each must come out as if alone)
    assert (sizes > 1).sum() >= 10
    inside = pairs[pairs["decision"]]
    representative, confidence = describe_clusters(
        expected, inside["left_id"].map(position), inside["right_id"].map(position), inside["score"]
    )
    ids = catalog["id"].astype(str).to_numpy()
    np.testing.assert_array_equal(table["representative_id"].to_numpy(), ids[representative])
    np.testing.assert_allclose(table["confidence"], np.round(confidence, 4), atol=1e-4)


def test_a_missing_id_column_is_one_clear_error(spark: Any, settings: MatchSettings) -> None:
    df = spark.createDataFrame(pd.DataFrame({"sku": ["a", "b"], "title": ["x", "y"]}))
    with pytest.raises(InputError, match="no id column 'id'; columns are sku, title"):
        SparkMatcher(settings, spark).match(df, df)


def test_duplicate_ids_are_one_clear_error(spark: Any, settings: MatchSettings) -> None:
    df = spark.createDataFrame(pd.DataFrame({"id": ["a", "b", " b"], "title": ["x", "y", "z"]}))
    ok = spark.createDataFrame(pd.DataFrame({"id": ["c"], "title": ["w"]}))
    with pytest.raises(InputError, match=r"right, column 'id': duplicate id 'b' \(2 listings\)"):
        SparkMatcher(settings, spark).match(ok, df)


def test_a_trained_matcher_reading_attributes_scores_as_the_streamed_run(
    spark: Any, settings: MatchSettings, files: tuple[Path, Path], tmp_path: Path
) -> None:
    """The pair classifier reads the listings' attributes (price, year, ...), which Spark
    keeps from preparation to scoring as the streamed run does: the same scores."""
    from prodmatch.data import catalog_from_frame
    from prodmatch.matcher import matcher_settings
    from prodmatch.synth import generate_pairs
    from prodmatch.text.attributes import ATTRIBUTE_COLUMNS
    from prodmatch.train.api import train_matcher

    world = generate_catalogs(SIZE, seed=5)
    names = {"ltable_id": "left_id", "rtable_id": "right_id"}
    pairs = {k: v.rename(columns=names) for k, v in generate_pairs(world, seed=5).items()}
    out = tmp_path / "matcher"
    left, right = catalog_from_frame(world.left), catalog_from_frame(world.right)
    train_matcher(
        left, right, pairs["train"], pairs["valid"], out, mode="head", settings=settings,
        progress=False,
    )  # fmt: skip
    learned = matcher_settings(out)
    work = tmp_path / "single"
    StreamMatcher(work, learned, sample_rows=10_000, progress=False).run(*files)
    streamed = pd.concat([pd.read_parquet(p) for p in sorted((work / "candidates").glob("*"))])
    _, found = _run(spark, learned, files)
    ours, theirs = _by_pair(found), _by_pair(streamed)
    assert "price_ratio" in ours and len(ours) == len(theirs) > 600
    np.testing.assert_allclose(ours["score"], theirs["score"], rtol=1e-5, atol=1e-6)
    for column in set(ATTRIBUTE_COLUMNS) & set(theirs.columns):
        np.testing.assert_allclose(ours[column], theirs[column])
