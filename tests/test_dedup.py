"""Dedupe through the linking core: clusters, sources, the one-per-source prior."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prodmatch.data import catalog_from_frame
from prodmatch.data.catalog import Catalog
from prodmatch.dedup import (
    AGREEMENT_SCORE,
    DedupeOptions,
    dedupe_catalog,
    identifier_agreements,
    identifier_conflicts,
)
from prodmatch.errors import ProdmatchError
from prodmatch.linker import Linker
from prodmatch.settings import MatchSettings

ROWS = [
    # id, title, platform
    ("a1", "Sony turntable PSLX350H belt drive", "shopa"),
    ("a2", "Sony turntable PSLX300 belt drive", "shopa"),  # a sibling, same shop
    ("a3", "Bose speaker system AM53BK black", "shopa"),
    ("b1", "SONY PSLX350H turntable", "shopb"),
    ("b2", "Sony PSLX300 turntable", "shopb"),
    ("b3", "Bose AM53BK speaker system", "shopb"),
]


def _catalog() -> Catalog:
    frame = pd.DataFrame(ROWS, columns=["id", "title", "platform"])
    frame["price"] = ["1", "2", "3", "4", "5", "6"]
    return catalog_from_frame(frame, name="merged")


def _linker() -> Linker:
    return Linker(MatchSettings(scorer="tfidf", retrieval="sparse", k=5), progress=False)


def _groups(clusters: pd.DataFrame) -> set[frozenset[str]]:
    grouped = clusters.groupby("cluster_id")["product_id"].apply(frozenset)
    return {g for g in grouped if len(g) > 1}


def test_one_per_source_links_each_twin_and_never_two_of_one_shop() -> None:
    options = DedupeOptions(source_column="platform", one_per_source=True, cross_threshold=0.2)
    result = dedupe_catalog(_linker(), _catalog(), options)
    assert _groups(result.clusters) == {
        frozenset({"a1", "b1"}),
        frozenset({"a2", "b2"}),
        frozenset({"a3", "b3"}),
    }
    assert set(result.pairs["kind"]) == {"across"}  # nothing within a shop was considered
    assert result.thresholds == {"within": pytest.approx(0.37), "across": 0.2}


def test_the_source_column_is_not_read_as_text_and_is_kept_in_the_output() -> None:
    options = DedupeOptions(source_column="platform", one_per_source=True, cross_threshold=0.2)
    result = dedupe_catalog(_linker(), _catalog(), options)
    clusters = result.clusters
    assert list(clusters.columns[:5]) == [
        "cluster_id",
        "product_id",
        "representative_id",
        "cluster_size",
        "confidence",
    ]
    assert {"title", "platform", "price"} <= set(clusters.columns)
    row = clusters.set_index("product_id").loc["a1"]
    assert row["platform"] == "shopa" and row["cluster_size"] == 2
    # each cluster's representative comes first and belongs to the cluster
    for _, group in clusters.groupby("cluster_id", sort=False):
        assert group["product_id"].iloc[0] == group["representative_id"].iloc[0]


def test_within_source_pairs_use_the_dedup_threshold_and_the_identifier_veto() -> None:
    options = DedupeOptions(source_column="platform", threshold=0.3, cross_threshold=0.2)
    result = dedupe_catalog(_linker(), _catalog(), options)
    groups = _groups(result.clusters)
    assert frozenset({"a1", "b1"}) in groups  # twins across shops
    # the two turntables of one shop name different models: never one product
    assert not any({"a1", "a2"} <= g for g in groups)
    assert set(result.pairs["kind"]) == {"within", "across"}


def test_three_sources_one_per_source_stops_a_chain_back_to_the_first() -> None:
    frame = pd.DataFrame(
        {
            "id": ["a1", "b1", "c1", "a2"],
            "title": [
                "acme kettle steel 1.7 l",
                "acme kettle steel 1.7 l red",
                "acme kettle steel 1.7 l red lid",
                "acme kettle steel 1.7 l red lid glass",
            ],
            "src": ["a", "b", "c", "a"],
        }
    )
    catalog = catalog_from_frame(frame)
    options = DedupeOptions(source_column="src", one_per_source=True, cross_threshold=0.1)
    result = dedupe_catalog(_linker(), catalog, options)
    for _, group in result.clusters.groupby("cluster_id"):
        assert group["src"].is_unique


def test_one_per_source_without_a_source_column_is_an_error() -> None:
    with pytest.raises(ProdmatchError, match="--source-col"):
        dedupe_catalog(_linker(), _catalog(), DedupeOptions(one_per_source=True))


def test_a_missing_or_empty_source_is_one_clear_error() -> None:
    with pytest.raises(ProdmatchError, match="no source column 'shop'"):
        dedupe_catalog(_linker(), _catalog(), DedupeOptions(source_column="shop"))
    frame = pd.DataFrame(ROWS, columns=["id", "title", "platform"])
    frame.loc[2, "platform"] = ""
    with pytest.raises(ProdmatchError, match="id 'a3', column 'platform': no source"):
        dedupe_catalog(
            _linker(), catalog_from_frame(frame), DedupeOptions(source_column="platform")
        )


def test_identifier_conflicts_ignore_codes_many_listings_share() -> None:
    codes = [
        frozenset({"th50pz80u", "1080p"}),
        frozenset({"th50pz85u", "1080p"}),
        frozenset({"1080p"}),
        frozenset({"1080p", "th50pz80u"}),
    ]
    conflict = identifier_conflicts(codes, [0, 0, 0, 1], [1, 2, 3, 2])
    # 0-1: different identifiers; 0-2: 2 has none; 0-3: share one; 1-2: 2 has none
    assert conflict.tolist() == [True, False, False, False]


def test_identifier_agreements_need_a_shared_code_few_listings_carry() -> None:
    codes = [
        frozenset({"th50pz80u", "1080p"}),
        frozenset({"th50pz80u"}),
        frozenset({"1080p"}),
        frozenset({"1080p", "th50pz85u"}),
        frozenset({"1080p"}),
    ]
    agree = identifier_agreements(codes, [0, 0, 2, 1], [1, 2, 3, 3])
    # 0-1 share a rare code; "1080p" is in four listings: it describes, it names nothing
    assert agree.tolist() == [True, False, False, False]


def test_without_a_source_titles_naming_one_model_merge_above_look_alike_siblings() -> None:
    """One shop words its siblings alike; the other shop words the twin its own way. The
    siblings outscore the twin, but only the twin's title names the same model number."""
    rows = [
        ("a1", "Panasonic Viera 50 in plasma HDTV TH50PZ80U black", "shopa"),
        ("a2", "Panasonic Viera 50 in plasma HDTV TH50PZ85U black", "shopa"),
        ("b1", "TH50PZ80U Panasonic television", "shopb"),
    ]
    frame = pd.DataFrame(rows, columns=["id", "title", "platform"]).drop(columns="platform")
    catalog = catalog_from_frame(frame)
    linker = Linker(MatchSettings(k=5), progress=False)
    side, _ = linker.prepare(catalog)
    pairs = linker.candidates(side, side, exclude_self=True)
    plain = pairs.set_index(["left", "right"])["score"]
    assert plain[(0, 1)] > plain[(0, 2)]  # the sibling scores above the twin
    result = dedupe_catalog(linker, catalog, DedupeOptions(threshold=0.9))
    assert _groups(result.clusters) == {frozenset({"a1", "b1"})}
    scored = result.pairs.set_index(["left_id", "right_id"])["dedup_score"]
    assert scored[("a1", "b1")] == pytest.approx(AGREEMENT_SCORE)


def test_without_a_source_a_chain_of_siblings_is_not_one_cluster() -> None:
    titles = [
        "acme blender 500 w jug glass",
        "acme blender 500 w jug glass timer",
        "acme blender 500 w timer steel",
        "acme blender timer steel pro 900",
        "acme timer steel pro 900 chopper",
    ]
    catalog = catalog_from_frame(pd.DataFrame({"id": list("abcde"), "title": titles}))
    result = dedupe_catalog(_linker(), catalog, DedupeOptions(threshold=0.45))
    sizes = result.clusters["cluster_size"].to_numpy()
    assert sizes.max() < len(titles)
    pairs = result.pairs
    chained = pairs[pairs["score"] >= 0.45]
    assert len(chained) >= len(titles) - 1  # connected components would have joined them all
    assert np.isnan(result.clusters["confidence"][result.clusters["cluster_size"] == 1]).all()


def test_across_sources_decides_at_the_threshold_match_would_calibrate() -> None:
    from prodmatch.synth import generate_catalogs

    world = generate_catalogs(300, seed=11)
    frames = [world.left.assign(platform="a"), world.right.assign(platform="b")]
    merged = pd.concat(frames, ignore_index=True)
    merged["id"] = merged["platform"] + ":" + merged["id"].astype(str)
    catalog = catalog_from_frame(merged[["id", "title", "brand", "platform"]], name="merged")
    options = DedupeOptions(source_column="platform")
    result = dedupe_catalog(_linker(), catalog, options)
    assert result.reasons == {"across": "calibrated"}
    # the threshold `match` fits to the two catalogs on their own
    linker = _linker()
    left = catalog_from_frame(world.left[["id", "title", "brand"]], name="a")
    right = catalog_from_frame(world.right[["id", "title", "brand"]], name="b")
    cut = linker.cut(linker.candidates(*linker.prepare(left, right)), left_rows=len(left))
    assert result.thresholds["across"] == pytest.approx(cut.threshold)
    assert cut.threshold != pytest.approx(0.37)  # not the fixed default by chance
    fixed = Linker(
        MatchSettings(scorer="tfidf", retrieval="sparse", k=5, decision="fixed"), progress=False
    )
    again = dedupe_catalog(fixed, catalog, options)
    assert again.thresholds["across"] == pytest.approx(0.37)
    assert again.reasons == {"across": "fixed"}


def test_across_sources_a_pair_links_only_where_it_is_one_listings_best() -> None:
    rows = [
        ("a1", "walnut coffee table round oak legs", "shopa"),
        ("a2", "walnut coffee table square oak legs", "shopa"),
        ("b1", "walnut coffee table round oak legs", "shopb"),
        ("b2", "walnut coffee table round with oak legs", "shopb"),  # b1 listed twice
        ("b3", "walnut coffee table square oak legs", "shopb"),
    ]
    frame = pd.DataFrame(rows, columns=["id", "title", "platform"])
    catalog = catalog_from_frame(frame, name="furniture")
    options = DedupeOptions(source_column="platform", cross_threshold=0.2, threshold=0.99)
    result = dedupe_catalog(_linker(), catalog, options)
    pairs = result.pairs.set_index(["left_id", "right_id"])
    assert pairs.loc[("a1", "b3"), "score"] > 0.2  # above the threshold, yet nobody's best
    assert _groups(result.clusters) == {frozenset({"a1", "b1", "b2"}), frozenset({"a2", "b3"})}


def test_with_a_source_pairs_within_one_source_default_to_their_own_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prodmatch import dedup

    rows = [
        ("a1", "walnut coffee table round oak legs", "shopa"),
        ("a2", "walnut coffee table round oak legs small", "shopa"),  # a sibling, or a relisting
        ("b1", "steel desk lamp with dimmer", "shopb"),
    ]
    catalog = catalog_from_frame(pd.DataFrame(rows, columns=["id", "title", "platform"]))
    monkeypatch.setitem(dedup.SOURCED_DEDUP_THRESHOLDS, "tfidf", 0.99)
    plain = dedupe_catalog(_linker(), catalog, DedupeOptions())
    assert plain.thresholds["within"] == pytest.approx(0.37)  # the linking one, untuned
    assert frozenset({"a1", "a2"}) in _groups(plain.clusters)
    sourced = dedupe_catalog(_linker(), catalog, DedupeOptions(source_column="platform"))
    assert sourced.thresholds["within"] == pytest.approx(0.99)
    assert _groups(sourced.clusters) == set()
    # the hybrid scorer's defaults as chosen by bench/dedupe.py: stricter within one source
    assert dedup.dedup_threshold("hybrid", sourced=True) == 0.95
    assert dedup.dedup_threshold("hybrid", sourced=False) == 0.65


def test_titles_naming_two_models_or_two_sizes_are_never_merged() -> None:
    from prodmatch import dedup

    rows = [
        # siblings whose descriptions share a spec token, which hides them from the veto
        # over all the text: their titles name two models
        ("s1", "Sony Handycam camcorder HDR-SR11", "60gb optical150x zoom"),
        ("s2", "Sony Handycam camcorder HDR-SR12", "120gb optical150x zoom"),
        ("t1", "Samsung series 7 LCD HDTV 46 inch", "black flat panel"),
        ("t2", "Samsung series 7 LCD HDTV 40 inch", "black flat panel"),
        ("o1", "Office 2007 standard for Mac", "suite"),
        ("o2", "Office 2008 standard for Mac", "suite"),
        ("d1", "Walnut desk lamp", "dimmer"),
        ("d2", "Walnut desk lamp", "dimmer, brass"),  # one product, nothing disagrees
    ]
    frame = pd.DataFrame(rows, columns=["id", "title", "description"])
    catalog = catalog_from_frame(frame)
    linker = _linker()
    side, _ = linker.prepare(catalog)
    left, right = np.array([0, 2, 4, 6]), np.array([1, 3, 5, 7])
    # over all the text the camcorders share an identifier ("optical150x"): no conflict there
    assert identifier_conflicts(side.codes, left, right).tolist() == [False] * 4
    found = dedup.detail_conflicts(side, linker.attributes(side), left, right)
    assert found.tolist() == [True, True, True, False]
    result = dedupe_catalog(linker, catalog, DedupeOptions(threshold=0.3))
    assert _groups(result.clusters) == {frozenset({"d1", "d2"})}
