"""Tests for the synthetic catalog generator: the properties benchmarks and demos rely on."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pytest

from prodmatch.errors import ProdmatchError
from prodmatch.synth import (
    CATALOG_COLUMNS,
    SyntheticCatalogs,
    generate_catalogs,
    generate_duplicates,
    generate_pairs,
    iter_catalog_chunks,
    vocab,
    write_catalogs,
    write_deepmatcher,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
N = 2000


@pytest.fixture(scope="module")
def synth() -> SyntheticCatalogs:
    return generate_catalogs(N, seed=7)


@pytest.fixture(scope="module")
def pairs(synth: SyntheticCatalogs) -> dict[str, pd.DataFrame]:
    return generate_pairs(synth, seed=3)


def _frames_equal(a: SyntheticCatalogs, b: SyntheticCatalogs) -> bool:
    return all(
        x.equals(y)
        for x, y in ((a.left, b.left), (a.right, b.right), (a.gold, b.gold), (a.truth, b.truth))
    )


# --- determinism and shape -----------------------------------------------------------------


def test_same_seed_same_output_and_other_seed_differs() -> None:
    a = generate_catalogs(500, seed=1)
    b = generate_catalogs(500, seed=1)
    c = generate_catalogs(500, seed=2)
    assert _frames_equal(a, b)
    assert a.products == b.products
    assert not a.left["title"].equals(c.left["title"])


def test_columns_are_strings_and_ids_unique(synth: SyntheticCatalogs) -> None:
    for frame, prefix in ((synth.left, "L"), (synth.right, "R")):
        assert tuple(frame.columns) == CATALOG_COLUMNS
        assert frame["id"].is_unique
        assert frame["id"].str.startswith(prefix).all()
        for col in CATALOG_COLUMNS:
            assert frame[col].map(lambda v: isinstance(v, str)).all(), col
    assert not set(synth.left["id"]) & set(synth.right["id"])


def test_sizes_follow_overlap(synth: SyntheticCatalogs) -> None:
    # 80% on both sides, the remaining 20% split evenly: each side lists 90%.
    assert len(synth.left) == pytest.approx(0.9 * N, abs=2)
    assert len(synth.right) == pytest.approx(0.9 * N, abs=2)
    assert len(synth.gold) == pytest.approx(0.8 * N, abs=2)
    assert len(synth.truth) == N


@pytest.mark.parametrize("overlap", [0.0, 0.35, 1.0])
def test_overlap_parameter(overlap: float) -> None:
    s = generate_catalogs(1000, seed=0, overlap=overlap)
    assert len(s.gold) / 1000 == pytest.approx(overlap, abs=0.01)
    assert len(s.left) + len(s.right) - len(s.gold) == 1000


def test_gold_ids_exist_and_are_one_to_one(synth: SyntheticCatalogs) -> None:
    gold = synth.gold
    assert list(gold.columns) == ["left_id", "right_id"]
    assert gold["left_id"].isin(synth.left["id"]).all()
    assert gold["right_id"].isin(synth.right["id"]).all()
    assert gold["left_id"].is_unique
    assert gold["right_id"].is_unique


def test_right_ids_are_not_aligned_with_left(synth: SyntheticCatalogs) -> None:
    left_num = synth.gold["left_id"].str[1:].astype(int)
    right_num = synth.gold["right_id"].str[1:].astype(int)
    assert left_num.corr(right_num) < 0.2


def test_products_match_truth(synth: SyntheticCatalogs) -> None:
    assert synth.products is not None
    assert len(synth.products) == N
    assert [p.product_id for p in synth.products] == synth.truth["product_id"].tolist()
    schemas = {c.name: {a.name for a in c.attributes} for c in vocab.CATEGORIES}
    for p in synth.products[:200]:
        assert set(p.attributes) == schemas[p.category]
        assert p.model and p.brand and p.line and p.price > 0
    assert generate_catalogs(300, seed=0, keep_products=False).products is None


def test_products_are_mostly_distinct() -> None:
    s = generate_catalogs(20_000, seed=5, overlap=1.0, keep_products=False)
    assert s.left["title"].nunique() / len(s.left) > 0.99


# --- realism: near-misses and platform differences -----------------------------------------


def test_near_misses_exist_on_both_sides(synth: SyntheticCatalogs) -> None:
    listed = synth.truth[(synth.truth["left_id"] != "") & (synth.truth["right_id"] != "")]
    families = listed.groupby("family_id").filter(lambda g: len(g) >= 2)
    assert families["family_id"].nunique() >= 0.05 * N
    assert products_differ(families, synth)


def products_differ(families: pd.DataFrame, synth: SyntheticCatalogs) -> bool:
    """Siblings share brand and line but never the whole left title (some detail differs)."""
    titles = synth.left.set_index("id")["title"]
    for _, g in families.groupby("family_id"):
        if g["brand"].nunique() != 1 or g["line"].nunique() != 1:
            return False
        if titles[g["left_id"]].nunique() != len(g):
            return False
    return True


def test_near_miss_rate_controls_family_share() -> None:
    none = generate_catalogs(3000, seed=0, near_miss_rate=0.0, keep_products=False)
    assert none.truth["family_id"].is_unique
    many = generate_catalogs(3000, seed=0, near_miss_rate=0.6, keep_products=False)
    share = many.truth["family_id"].duplicated(keep=False).mean()
    assert share == pytest.approx(0.6, abs=0.06)


def _matched(synth: SyntheticCatalogs) -> pd.DataFrame:
    return synth.gold.merge(synth.left, left_on="left_id", right_on="id").merge(
        synth.right, left_on="right_id", right_on="id", suffixes=("_l", "_r")
    )


def test_right_rewords_matched_listings(synth: SyntheticCatalogs) -> None:
    m = _matched(synth)
    assert (m["title_l"] == m["title_r"]).mean() < 0.02
    assert (m["title_l"].str.lower() == m["title_r"].str.lower()).mean() < 0.05
    assert (m["description_l"] == m["description_r"]).mean() < 0.01
    assert (m["price_l"] != m["price_r"]).mean() > 0.5


def test_right_has_missing_fields_left_is_complete(synth: SyntheticCatalogs) -> None:
    for col in ("brand", "description", "price"):
        assert (synth.left[col] != "").all()
        assert 0.05 < (synth.right[col] == "").mean() < 0.5, col
    assert pd.to_numeric(synth.left["price"]).gt(0).all()
    right_prices = synth.right.loc[synth.right["price"] != "", "price"]
    assert pd.to_numeric(right_prices).gt(0).all()


def test_right_uses_abbreviations_and_unit_spellings() -> None:
    right = " ".join(generate_catalogs(3000, seed=0, keep_products=False).right["title"])
    for token in ("Blk", "GB", '"', "w/", "TB"):
        assert token in right, token
    assert re.search(r"\d+GB\b", right)  # unit glued to the number


def test_chinese_right_catalog() -> None:
    s = generate_catalogs(500, seed=0, language="zh", keep_products=False)
    assert s.right["title"].str.contains(CJK).mean() > 0.5
    assert not s.left["title"].str.contains(CJK).any()
    en = generate_catalogs(500, seed=0, keep_products=False)
    assert not en.right["title"].str.contains(CJK).any()


# --- streaming -----------------------------------------------------------------------------


def test_chunks_have_globally_unique_ids_and_valid_gold() -> None:
    chunks = list(iter_catalog_chunks(3500, seed=4, chunk_size=1000))
    assert len(chunks) == 4
    left = pd.concat([c[0] for c in chunks])
    right = pd.concat([c[1] for c in chunks])
    gold = pd.concat([c[2] for c in chunks])
    assert left["id"].is_unique and right["id"].is_unique
    assert gold["left_id"].isin(left["id"]).all() and gold["right_id"].isin(right["id"]).all()
    assert gold["left_id"].is_unique and gold["right_id"].is_unique
    assert left["title"].nunique() == len(left)  # model numbers do not collide across chunks


def test_single_chunk_equals_generate_catalogs() -> None:
    [(left, right, gold)] = list(iter_catalog_chunks(800, seed=9))
    s = generate_catalogs(800, seed=9)
    assert left.equals(s.left) and right.equals(s.right) and gold.equals(s.gold)


# --- pairs ---------------------------------------------------------------------------------


def test_pairs_labels_agree_with_gold(
    synth: SyntheticCatalogs, pairs: dict[str, pd.DataFrame]
) -> None:
    gold = set(zip(synth.gold["left_id"], synth.gold["right_id"], strict=True))
    for frame in pairs.values():
        assert list(frame.columns) == ["ltable_id", "rtable_id", "label"]
        assert frame["ltable_id"].isin(synth.left["id"]).all()
        assert frame["rtable_id"].isin(synth.right["id"]).all()
        keys = zip(frame["ltable_id"], frame["rtable_id"], strict=True)
        assert frame["label"].tolist() == [int(key in gold) for key in keys]
        assert not frame.duplicated(["ltable_id", "rtable_id"]).any()
    assert sum(int(f["label"].sum()) for f in pairs.values()) == len(synth.gold)


def test_pairs_split_by_product(synth: SyntheticCatalogs, pairs: dict[str, pd.DataFrame]) -> None:
    product_of = synth.truth.set_index("left_id")["product_id"]
    family_of = synth.truth.set_index("left_id")["family_id"]
    seen_products: list[set[str]] = []
    seen_families: list[set[int]] = []
    for name in ("train", "valid", "test"):
        pos = pairs[name][pairs[name]["label"] == 1]
        seen_products.append(set(product_of[pos["ltable_id"]]))
        seen_families.append(set(family_of[pos["ltable_id"]]))
    assert len(seen_products[0]) > len(seen_products[1]) > 0
    for i in range(3):
        for j in range(i + 1, 3):
            assert not seen_products[i] & seen_products[j]
            assert not seen_families[i] & seen_families[j]


def test_negatives_are_hard(synth: SyntheticCatalogs, pairs: dict[str, pd.DataFrame]) -> None:
    by_left = synth.truth.set_index("left_id")
    by_right = synth.truth[synth.truth["right_id"] != ""].set_index("right_id")
    neg = pd.concat(pairs.values()).query("label == 0")
    assert len(neg) > 2 * len(synth.gold)
    anchor, other = by_left.loc[neg["ltable_id"]], by_right.loc[neg["rtable_id"]]
    same_family = anchor["family_id"].to_numpy() == other["family_id"].to_numpy()
    same_line = (anchor["brand"].to_numpy() == other["brand"].to_numpy()) & (
        anchor["line"].to_numpy() == other["line"].to_numpy()
    )
    same_category = anchor["category"].to_numpy() == other["category"].to_numpy()
    assert same_family.mean() > 0.05
    assert same_line.mean() > 0.3
    assert same_category.mean() > 0.95


def test_pairs_deterministic(synth: SyntheticCatalogs) -> None:
    a, b = generate_pairs(synth, seed=1), generate_pairs(synth, seed=1)
    assert all(a[k].equals(b[k]) for k in a)


# --- duplicates ----------------------------------------------------------------------------


def test_duplicates_clusters_consistent() -> None:
    catalog, clusters = generate_duplicates(1500, seed=2, dup_rate=0.4, max_copies=3)
    assert tuple(catalog.columns) == CATALOG_COLUMNS
    assert list(clusters.columns) == ["id", "cluster_id"]
    assert catalog["id"].is_unique
    assert catalog["id"].tolist() == clusters["id"].tolist()
    sizes = clusters.groupby("cluster_id").size()
    assert len(sizes) == 1500
    assert sizes.max() <= 3
    assert (sizes > 1).mean() == pytest.approx(0.4, abs=0.05)
    titles = catalog.set_index("id")["title"]
    multi = clusters[clusters["cluster_id"].isin(sizes[sizes > 1].index)]
    distinct = multi.groupby("cluster_id")["id"].agg(lambda ids: titles[ids].nunique() > 1)
    assert distinct.mean() > 0.9
    again = generate_duplicates(1500, seed=2, dup_rate=0.4, max_copies=3)
    assert catalog.equals(again[0]) and clusters.equals(again[1])


def test_duplicates_without_copies() -> None:
    catalog, clusters = generate_duplicates(200, seed=0, dup_rate=0.0)
    assert len(catalog) == 200 and clusters["cluster_id"].is_unique


# --- files ---------------------------------------------------------------------------------


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_write_catalogs_round_trip(tmp_path: Path) -> None:
    s = generate_catalogs(300, seed=0, language="zh")
    paths = write_catalogs(s, tmp_path / "out")
    assert set(paths) == {"left", "right", "gold"}
    for name, frame in (("left", s.left), ("right", s.right), ("gold", s.gold)):
        assert paths[name].name == f"{name}.csv"
        pd.testing.assert_frame_equal(_read(paths[name]), frame.astype(str), check_dtype=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "gold.csv",
        "left.csv",
        "right.csv",
    ]


def test_write_deepmatcher_round_trip(
    synth: SyntheticCatalogs, pairs: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    write_deepmatcher(synth, pairs, tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["tableA.csv", "tableB.csv", "test.csv", "train.csv", "valid.csv"]
    pd.testing.assert_frame_equal(_read(tmp_path / "tableA.csv"), synth.left, check_dtype=False)
    pd.testing.assert_frame_equal(_read(tmp_path / "tableB.csv"), synth.right, check_dtype=False)
    for name in ("train", "valid", "test"):
        text = (tmp_path / f"{name}.csv").read_text(encoding="utf-8")
        assert text.splitlines()[0] == "ltable_id,rtable_id,label"
        back = _read(tmp_path / f"{name}.csv")
        assert back["label"].astype(int).tolist() == pairs[name]["label"].tolist()


# --- settings, vocabulary and speed --------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [{"n_products": 0}, {"overlap": 1.5}, {"near_miss_rate": -0.1}, {"language": "fr"}],
)
def test_bad_settings_raise(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"n_products": 100, **kwargs}
    with pytest.raises(ProdmatchError):
        generate_catalogs(**args)  # type: ignore[arg-type]


def test_vocabulary_supports_distinct_siblings() -> None:
    for cat in vocab.CATEGORIES:
        names = {a.name: a for a in cat.attributes}
        for v in cat.varying:
            if v != "model":
                assert len(names[v].values) >= vocab.MAX_FAMILY_SIZE, (cat.name, v)
        assert len(cat.features) >= 3 and cat.brands and cat.nouns and cat.adjectives


def test_unit_variants_and_alternatives() -> None:
    assert "0.5 TB" in vocab.unit_variants("500 GB")
    assert "500GB" in vocab.unit_variants("500 GB")
    assert '15.6"' in vocab.unit_variants("15.6 inch")
    assert "1000 GB" in vocab.unit_variants("1 TB")
    assert vocab.alternatives("Black")[0] == "Black"
    assert "Blk" in vocab.alternatives("Black")
    assert "Headset" in vocab.alternatives("Headphones")
    assert vocab.alternatives("Black", "zh") == ("黑色",)


def test_generation_is_fast() -> None:
    # CPU time of this process, not wall time: other work on a shared machine must not fail it.
    start = time.process_time()
    s = generate_catalogs(20_000, seed=0)
    assert time.process_time() - start < 5.0
    assert len(s.truth) == 20_000


def test_multi_block_generation_reshuffles_right(monkeypatch: pytest.MonkeyPatch) -> None:
    import prodmatch.synth.generator as gen

    monkeypatch.setattr(gen, "DEFAULT_CHUNK_SIZE", 500)
    s = generate_catalogs(1800, seed=3)
    assert s.products is not None and len(s.products) == 1800
    assert s.right["id"].tolist() == sorted(s.right["id"])  # renumbered in row order
    assert s.gold["right_id"].isin(s.right["id"]).all() and s.gold["right_id"].is_unique
    listed = s.truth[(s.truth["left_id"] != "") & (s.truth["right_id"] != "")]
    assert set(zip(listed["left_id"], listed["right_id"], strict=True)) == set(
        zip(s.gold["left_id"], s.gold["right_id"], strict=True)
    )
    m = _matched(s)
    same_brand = m["brand_l"].str.lower().eq(m["brand_r"].str.lower())
    assert (m["brand_r"].eq("") | same_brand).all()  # renumbering kept every pair aligned
    # the right catalog is mixed across blocks: early right ids point at products of all blocks
    first = s.gold[s.gold["right_id"] < "R000200"]["left_id"].str[1:].astype(int)
    assert first.max() - first.min() > 900
