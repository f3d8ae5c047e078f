"""Deduplicating one catalog: the linking core's candidates and scores, then clusters that do
not chain.

Without a source column every candidate pair of the catalog is scored and clustered by
average linkage at the dedup threshold (`prodmatch.decide.hac`): connected components over
the pairs above the linking threshold chain sibling products into clusters of hundreds.

A merged catalog usually knows each listing's platform (`source_column`). Then a listing's
nearest neighbour is no longer taken for its duplicate just because its own shop words its
siblings alike: pairs across two sources are the linking task and go through the linking core
(`Linker.candidates` between the two sources, and, with `one_per_source`, the same one-to-one
assignment `prodmatch match` makes), and pairs within a source are decided with the dedup
score and threshold.

Pairs within one catalog are clustered on their dedup score (`dedup_scores`): the signals
mixed for dedup and corrected for hubness (`prodmatch.decide.hubness`), so a family of
look-alike siblings from one shop does not outscore a true duplicate.

With `one_per_source` (each platform lists a product once) nothing within a source is merged,
and no cluster holds two listings of one source.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.decide import assign, connected_components
from prodmatch.decide.hac import (
    MAX_CLUSTER_SIZE,
    Clustering,
    Linkage,
    agglomerative_clusters,
    describe_clusters,
)
from prodmatch.decide.hubness import hubness_corrected
from prodmatch.errors import ProdmatchError
from prodmatch.score import DEFAULT_THRESHOLDS, score_pairs
from prodmatch.text.attributes import Attributes, set_agreement, title_column, unit_agreement
from prodmatch.text.normalize import extract_model_numbers

if TYPE_CHECKING:
    from prodmatch.linker import Linker, Side

# How the hybrid scorer scores pairs within one catalog, and its dedup threshold (average
# linkage over the hubness-corrected score, `prodmatch.decide.hubness`): the best mean pairwise
# F1 on catalogs merged from the listings of the *train and valid* splits of the DeepMatcher
# abt-buy and amazon-google folders (`python bench/dedupe.py --choose`), never on a test split
# or on the full tables the benchmark reports. Until the titles' shared identifiers were read
# (`AGREEMENT_SCORE`) a mix weighing the encoder and model numbers more (0.5, 0.2) won, since
# within one shop the n-grams of sibling products agree most; with them the linking mix wins
# (mean 0.605 against 0.585 for 0.5 / 0.2, record 2026-12-03), at the same threshold, 0.65.
# Other scorers have not been tuned for dedup: their plain score at their linking threshold.
DEDUP_WEIGHTS = {"dense_weight": 0.2, "code_weight": 0.1}
HUBNESS_NEIGHBOURS = 10
HUBNESS_WEIGHT = 0.5
DEFAULT_DEDUP_THRESHOLDS: dict[str, float] = {"hybrid": 0.65}
# With the source column, pairs within one source: a listing against its own shop's siblings,
# which that shop words alike, and a same-shop link also holds its cross-shop twin out of the
# cluster under average linkage. On the train+valid merges (`python bench/dedupe.py
# --choose-within-source`) pairwise F1 rose with this threshold from 0.70 to 0.90 (abt-buy
# 0.836 -> 0.853, amazon-google 0.538 -> 0.587), 0.90 and 0.95 tie, and no merge within a
# source at all is level (0.855, 0.585); those merges label no pair within a shop except
# through transitive closure, so they cannot show what within-shop merges find: the best
# threshold that still merges (a tie: the stricter), 0.95, keeps the near-identical relisting a
# shop makes of one product.
SOURCED_DEDUP_THRESHOLDS: dict[str, float] = {"hybrid": 0.95}
# The best average-linkage threshold of the plain linking score on the same merges ("chosen_plain"
# of `bench/dedupe.py --choose`): for paths that see one pair at a time and no neighbourhood
# (the registry joining a listing, Spark's dedupe).
PLAIN_DEDUP_THRESHOLDS: dict[str, float] = {"hybrid": 0.55}
# A model number found in at most this many listings of the catalog names one product; one
# found in more ("1080p", a series' base code) describes a feature. Chosen on the same
# train+valid merges as the threshold (2 against 3 and 5, by the first version of
# `bench/dedupe.py --choose`, under the linking weights of then, 0.3 and 0.2).
IDENTIFIER_LISTINGS = 2
# The score a pair with conflicting identifiers is clustered on: below any threshold.
CONFLICT_SCORE = -1.0
# The score a pair whose titles name one identifier is clustered on: above any threshold.
# Another shop words a twin unlike its own siblings, so the twin often scores below the
# siblings; the shared rare model number finds it. On the train+valid merges of
# `bench/dedupe.py` this raised abt-buy's pairwise F1 without a source column from 0.662 to
# 0.739 (amazon-google, whose titles seldom carry model numbers, 0.416 -> 0.414), left
# `--source-col` as it was, and on each shop's catalog alone (abt, buy, amazon, google) it
# added 0 to 7 multi-listing clusters to the 24-298 there were; 1.0 against a floor just
# above the threshold (0.731 / 0.416): the better mean.
AGREEMENT_SCORE = 1.0
CLUSTER_COLUMNS = ["cluster_id", "product_id", "representative_id", "cluster_size", "confidence"]


@dataclass
class DedupeOptions:
    """How to turn scored pairs into clusters.

    threshold: the dedup threshold for pairs within one catalog, or within one source (None:
    the scorer's `DEFAULT_DEDUP_THRESHOLDS`). cross_threshold: for pairs across sources
    (None: the linking threshold, calibrated on each two sources' candidates as `match`
    does, or fixed with the settings' `decision`). source_column: the
    column naming each listing's platform (never read as product text). one_per_source: each
    source lists a product at most once. method: the linkage. max_cluster_size: clusters
    past it are cut at stricter thresholds, with a warning (None: no cap).
    """

    threshold: float | None = None
    cross_threshold: float | None = None
    source_column: str | None = None
    one_per_source: bool = False
    method: Linkage = "average"
    max_cluster_size: int | None = MAX_CLUSTER_SIZE


@dataclass
class DedupeResult:
    """pairs: every scored candidate pair (left < right) with `decision` (both listings ended
    in one cluster) and, with a source column, `kind` (within or across sources). clusters: one
    row per listing (CLUSTER_COLUMNS, then the catalog's own columns), grouped by cluster,
    representative first. thresholds: those used, by name; reasons: where each threshold
    across sources came from (given, calibrated or fixed, as `Cut.source`)."""

    pairs: pd.DataFrame
    clusters: pd.DataFrame
    thresholds: dict[str, float] = field(default_factory=dict)
    split: int = 0
    reasons: dict[str, str] = field(default_factory=dict)


def dedupe_catalog(linker: Linker, catalog: Catalog, options: DedupeOptions) -> DedupeResult:
    """Score the catalog's candidate pairs with `linker` and cluster them under `options`."""
    settings = linker.settings
    column = options.source_column
    within = (
        options.threshold
        if options.threshold is not None
        else dedup_threshold(settings.scorer, sourced=column is not None)
    )
    thresholds = {"within": within}
    reasons: dict[str, str] = {}
    text_catalog = catalog if column is None else _without(catalog, column)
    side, _ = linker.prepare(text_catalog)
    if column is None:
        if options.one_per_source:
            raise ProdmatchError("--one-per-source needs the source column: pass --source-col")
        pairs = _within_pairs(linker, side, np.arange(len(catalog)))
        if side.image_paths is not None:  # pairs sharing a photo are scored too
            pairs = linker.with_same_photo(side, pairs)
        pairs["dedup_score"] = dedup_scores(
            side, pairs, settings.scorer, attributes=linker.attributes(side)
        )
        clustering = agglomerative_clusters(
            len(catalog),
            pairs["left"],
            pairs["right"],
            pairs["dedup_score"],
            within,
            method=options.method,
            max_cluster_size=options.max_cluster_size,
        )
    else:
        sources = _sources(catalog, column)
        pairs, clustering, across, reasons = _by_source(linker, side, sources, within, options)
        thresholds.update(across)
        if side.image_paths is not None:  # flagged, not clustered on
            pairs = linker.with_same_photo(side, pairs)
            same = sources[pairs["left"].to_numpy()] == sources[pairs["right"].to_numpy()]
            pairs["kind"] = np.where(same, "within", "across")
    labels = clustering.labels
    pairs["decision"] = labels[pairs["left"].to_numpy()] == labels[pairs["right"].to_numpy()]
    clusters = cluster_table(catalog, clustering)
    from prodmatch.linker import with_ids

    pairs = with_ids(pairs.drop(columns=["left_id", "right_id"], errors="ignore"), side, side)
    return DedupeResult(pairs, clusters, thresholds, clustering.split, reasons)


def dedup_threshold(scorer: str, *, sourced: bool) -> float:
    """The default threshold for pairs within one catalog (`sourced`: within one source of
    a catalog whose sources are known); scorers not tuned for dedup use their linking one."""
    tuned = SOURCED_DEDUP_THRESHOLDS if sourced else DEFAULT_DEDUP_THRESHOLDS
    return tuned.get(scorer, DEFAULT_THRESHOLDS[scorer])


def cluster_table(catalog: Catalog, clustering: Clustering) -> pd.DataFrame:
    """One row per listing: its cluster, the cluster's representative, size and the listing's
    confidence, then the listing's own columns; grouped by cluster, representative first."""
    ids = np.asarray(catalog.ids, dtype=object)
    labels = clustering.labels
    frame = pd.DataFrame(
        {
            "cluster_id": labels,
            "product_id": ids,
            "representative_id": ids[clustering.representative],
            "cluster_size": np.bincount(labels)[labels],
            "confidence": np.round(clustering.confidence, 4),
        }
    )
    records = catalog.records.reset_index(drop=True)
    extra = records[[c for c in records.columns if c not in CLUSTER_COLUMNS]]
    frame = pd.concat([frame, extra], axis=1)
    not_first = (frame["product_id"] != frame["representative_id"]).astype(int)
    order = np.lexsort((np.arange(len(frame)), not_first.to_numpy(), labels))
    return frame.iloc[order].reset_index(drop=True)


def _without(catalog: Catalog, column: str) -> Catalog:
    """The catalog minus its source column: a platform's name is no product description."""
    if column not in catalog.columns:
        where = catalog.source or catalog.name
        raise ProdmatchError(
            f"{where}: no source column '{column}'; columns are {', '.join(catalog.columns)}"
        )
    return Catalog(catalog.name, catalog.records.drop(columns=[column]), catalog.source)


def _sources(catalog: Catalog, column: str) -> npt.NDArray[np.object_]:
    values = catalog.records[column].astype(str).str.strip().to_numpy(dtype=object)
    empty = np.flatnonzero(values == "")
    if len(empty):
        where = catalog.source or catalog.name
        raise ProdmatchError(
            f"{where}, id '{catalog.ids[empty[0]]}', column '{column}': no source given "
            f"({len(empty)} listing(s) without one)"
        )
    return values


def _subside(side: Side, positions: npt.NDArray[np.int64]) -> Side:
    """The listings at `positions` of a prepared side, with their vectors: sources are
    matched against each other without encoding anything twice."""

    def pick(values: npt.NDArray[np.generic] | None) -> npt.NDArray[np.generic] | None:
        return None if values is None else values[positions]

    ids = [side.catalog.ids[p] for p in positions]
    return replace(
        side,
        catalog=side.catalog.select(ids),
        texts=[side.texts[p] for p in positions],
        plain=[side.plain[p] for p in positions],
        codes=[side.codes[p] for p in positions],
        vectors=pick(side.vectors),  # type: ignore[arg-type]
        tfidf=None if side.tfidf is None else side.tfidf[positions],
        image_vectors=pick(side.image_vectors),  # type: ignore[arg-type]
        has_image=pick(side.has_image),  # type: ignore[arg-type]
        image_paths=None if side.image_paths is None else [side.image_paths[p] for p in positions],
    )


def _within_pairs(linker: Linker, side: Side, positions: npt.NDArray[np.int64]) -> pd.DataFrame:
    """Scored candidate pairs among the listings at `positions` (left < right), positions
    given in the whole catalog."""
    sub = side if len(positions) == len(side.texts) else _subside(side, positions)
    if len(positions) < 2:
        return _globalise(_empty_pairs(linker, sub), positions, positions)
    pairs = linker.candidates(sub, sub, exclude_self=True)
    pairs = _globalise(pairs, positions, positions)
    return pairs[pairs["left"] < pairs["right"]].reset_index(drop=True)


def _empty_pairs(linker: Linker, side: Side) -> pd.DataFrame:
    empty = np.zeros(0, dtype=np.int64)
    frame = linker.features(side, side, empty, empty)
    return frame.assign(score=np.zeros(0), rank=empty)


def _globalise(
    pairs: pd.DataFrame, left_pos: npt.NDArray[np.int64], right_pos: npt.NDArray[np.int64]
) -> pd.DataFrame:
    """Positions in a part of the catalog turned into positions in the whole catalog."""
    pairs = pairs.copy()
    pairs["left"] = left_pos[pairs["left"].to_numpy(dtype=np.int64)]
    pairs["right"] = right_pos[pairs["right"].to_numpy(dtype=np.int64)]
    return pairs.drop(columns=["left_id", "right_id"], errors="ignore")


def _by_source(
    linker: Linker,
    side: Side,
    sources: npt.NDArray[np.object_],
    within: float,
    options: DedupeOptions,
) -> tuple[pd.DataFrame, Clustering, dict[str, float], dict[str, str]]:
    """Pairs within each source and across each two sources, the clusters they form, and
    the threshold of each two sources ("across", or "across A|B" past two sources) with
    where it came from (`Cut.source`).

    Pairs across two sources are a linking task, so they are decided as `match` decides:
    at the given cross threshold, else at the linking threshold calibrated on that source
    pair's candidates (`Linker.cut`; fixed with `--decision fixed`). Without
    `one_per_source` a listing may have several duplicates on another source, but each of
    them then has it as its best candidate there: a cross pair links only where it is the
    best of one of its two listings (one-to-one relaxed to best-of-either-side); any other
    cross pair counts as no link in the linkage. On the train+valid merges of
    `bench/dedupe.py` this raised pairwise F1 with `--source-col` from 0.791 to 0.816
    (abt-buy) and from 0.385 to 0.506 (amazon-google)."""
    names = sorted(set(sources.tolist()))
    groups = {name: np.flatnonzero(sources == name).astype(np.int64) for name in names}
    parts: list[pd.DataFrame] = []
    across: dict[str, float] = {}
    reasons: dict[str, str] = {}
    if not options.one_per_source:
        for name in names:
            parts.append(_within_pairs(linker, side, groups[name]).assign(kind="within"))
    for a, b in itertools.combinations(names, 2):
        left, right = _subside(side, groups[a]), _subside(side, groups[b])
        pairs = linker.candidates(left, right)
        cut = linker.cut(pairs, options.cross_threshold, left_rows=len(groups[a]))
        name = "across" if len(names) == 2 else f"across {a}|{b}"
        across[name], reasons[name] = cut.threshold, cut.source
        pairs["cross"] = cut.threshold
        if options.one_per_source:  # what each branch below reads, and only that
            pairs["accepted"] = assign(pairs, cut.threshold, "one-to-one").to_numpy()
        else:
            flipped = pairs.rename(columns={"left": "right", "right": "left"})
            pairs["best"] = (
                assign(pairs, cut.threshold, "best").to_numpy()
                | assign(flipped, cut.threshold, "best").to_numpy()
            )
        parts.append(_globalise(pairs, groups[a], groups[b]).assign(kind="across"))
    n = len(sources)
    if not parts:  # one source, listing each product once: nothing to merge
        pairs = _within_pairs(linker, side, np.zeros(0, dtype=np.int64)).assign(kind="within")
        labels = np.arange(n, dtype=np.int64)
        return pairs, Clustering(labels, labels.copy(), np.full(n, np.nan)), across, reasons
    pairs = pd.concat(parts, ignore_index=True)
    flip = (pairs["left"] > pairs["right"]).to_numpy()
    for first, second in (("left", "right"),):
        a, b = pairs[first].to_numpy(), pairs[second].to_numpy()
        pairs[first], pairs[second] = np.where(flip, b, a), np.where(flip, a, b)
    if options.one_per_source:
        labels = _one_per_source(n, pairs[pairs["accepted"].fillna(False).astype(bool)], sources)
        representative, confidence = describe_clusters(
            labels, pairs["left"], pairs["right"], pairs["score"]
        )
        clustering = Clustering(labels, representative, confidence)
    else:
        # One linkage over both kinds of pair: each pair's margin over its own threshold.
        # Identifier conflicts veto pairs within a source only (see `identifier_conflicts`).
        is_within = (pairs["kind"] == "within").to_numpy()
        score = pairs["score"].to_numpy(dtype=np.float64).copy()
        score[is_within] = dedup_scores(
            side, pairs[is_within], linker.settings.scorer, attributes=linker.attributes(side)
        )
        pairs["dedup_score"] = score
        cross = pairs["cross"].to_numpy(dtype=np.float64)
        missing = -min(within, *across.values())
        margin = score - np.where(is_within, within, cross)
        # a pair across sources links only where it is one listing's best there (see above)
        linked = is_within | pairs["best"].to_numpy(dtype=bool)
        margin = np.where(linked, margin, np.minimum(margin, missing))
        clustering = agglomerative_clusters(
            n,
            pairs["left"],
            pairs["right"],
            margin,
            0.0,
            method=options.method,
            missing=missing,
            max_cluster_size=options.max_cluster_size,
        )
        representative, confidence = describe_clusters(
            clustering.labels, pairs["left"], pairs["right"], pairs["score"]
        )
        clustering = replace(clustering, representative=representative, confidence=confidence)
    pairs = pairs.drop(columns=["accepted", "cross", "best"], errors="ignore")
    pairs = pairs.reset_index(drop=True)
    return pairs, clustering, across, reasons


def rare_identifiers(
    codes: Sequence[frozenset[str]], *, max_listings: int = IDENTIFIER_LISTINGS
) -> list[frozenset[str]]:
    """Each listing's model numbers found in at most `max_listings` listings of the catalog:
    those name one product; one found in more ("1080p", a series' base code) describes a
    feature."""
    counts: dict[str, int] = {}
    for found in codes:
        for code in found:
            counts[code] = counts.get(code, 0) + 1
    return [frozenset(c for c in found if counts[c] <= max_listings) for found in codes]


def identifier_conflicts(
    codes: Sequence[frozenset[str]],
    left: npt.ArrayLike,
    right: npt.ArrayLike,
    *,
    max_listings: int = IDENTIFIER_LISTINGS,
) -> npt.NDArray[np.bool_]:
    """Whether both listings of each pair carry an identifying model number
    (`rare_identifiers`) and they share none.

    A shop words its sibling products alike ("... plasma hdtv th50pz80u" and "... th50pz85u")
    and the hybrid score's code agreement is fooled by shared feature codes ("1080p"); two
    different identifiers are the evidence that tells siblings apart. Linking across sources
    keeps the plain score: there one side often omits or reformats the code.
    """
    ids = rare_identifiers(codes, max_listings=max_listings)
    return _pairwise(identifiers_disagree, ids, left, right)


def identifiers_disagree(x: frozenset[str], y: frozenset[str]) -> bool:
    """Whether two listings' identifying model numbers name two products
    (`identifier_conflicts` for one pair): both have some and they share none."""
    return bool(x) and bool(y) and x.isdisjoint(y)


def identifier_agreements(
    codes: Sequence[frozenset[str]],
    left: npt.ArrayLike,
    right: npt.ArrayLike,
    *,
    max_listings: int = IDENTIFIER_LISTINGS,
) -> npt.NDArray[np.bool_]:
    """Whether the two listings of each pair share an identifying model number
    (`rare_identifiers`): the evidence, symmetric to `identifier_conflicts`, that finds a
    twin which another shop words differently from its own siblings."""
    ids = rare_identifiers(codes, max_listings=max_listings)
    return _pairwise(lambda x, y: not x.isdisjoint(y), ids, left, right)


def _pairwise(
    test: Callable[[frozenset[str], frozenset[str]], bool],
    sets: Sequence[frozenset[str]],
    left: npt.ArrayLike,
    right: npt.ArrayLike,
) -> npt.NDArray[np.bool_]:
    a, b = np.asarray(left).tolist(), np.asarray(right).tolist()
    found = (test(sets[x], sets[y]) for x, y in zip(a, b, strict=True))
    return np.fromiter(found, dtype=bool, count=len(a))


def title_identifiers(side: Side) -> list[frozenset[str]] | None:
    """Each listing's model numbers read from its title alone (None: no title column).

    Siblings from one shop often share a spec token of the description ("optical150x",
    "rear1") that the codes over all the text take for a shared identifier; a title names
    the product itself."""
    column = title_column(list(side.catalog.columns)) if side.catalog.columns else None
    if column is None:
        return None
    titles = side.catalog.records[column].astype(str).tolist()
    return [frozenset(extract_model_numbers(title)) for title in titles]


def detail_conflicts(
    side: Side,
    attributes: Sequence[Attributes],
    left: npt.ArrayLike,
    right: npt.ArrayLike,
) -> npt.NDArray[np.bool_]:
    """Whether the titles of each pair name two products by a detail the scores blur.

    Siblings from one shop share their wording, so `identifier_conflicts` over the titles'
    model numbers (`title_identifiers`) tells them apart: "hdrsr11" against "hdrsr12". The
    title's numbers with units mostly disagreeing ("46in" against "40in"), and years, edition
    words or platforms that both titles name without one in common, are the same evidence.
    A detail one title leaves out is none. On the train+valid merges of `bench/dedupe.py`
    this veto raised pairwise F1 at every threshold of the grid on both datasets.
    """
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    codes = title_identifiers(side)
    found = np.zeros(len(left), dtype=bool)
    if codes is not None:
        found |= identifier_conflicts(codes, left, right)
    for n, (a, b) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
        found[n] |= details_disagree(attributes[a], attributes[b])
    return found


def details_disagree(x: Attributes, y: Attributes) -> bool:
    """Whether two listings' details name two products (`detail_conflicts` for one pair):
    numbers with units mostly disagreeing, or years, edition words or platforms both name
    without one in common."""
    return (
        unit_agreement(x.quantities, y.quantities) < 0
        or set_agreement(x.years, y.years) < 0
        or set_agreement(x.editions, y.editions) < 0
        or set_agreement(x.platforms, y.platforms) < 0
    )


def dedup_scores(
    side: Side,
    pairs: pd.DataFrame,
    scorer: str,
    *,
    weights: dict[str, float] | None = None,
    hubness: float = HUBNESS_WEIGHT,
    attributes: Sequence[Attributes] | None = None,
) -> npt.NDArray[np.float64]:
    """The scores pairs within one catalog are clustered on: for the hybrid scorer its dedup
    mix of the signals (`weights`, default `DEDUP_WEIGHTS`), corrected for hubness over these
    pairs (`hubness` = 0: not); pairs of conflicting identifiers below any threshold. With
    the listings' `attributes` the titles are read too: conflicting details
    (`detail_conflicts`) below any threshold, and otherwise, for the hybrid scorer, a model
    number both titles name (`identifier_agreements`) at `AGREEMENT_SCORE`."""
    score = pairs["score"].to_numpy(dtype=np.float64)
    if scorer == "hybrid" and len(pairs):
        mix = weights or DEDUP_WEIGHTS
        score = score_pairs(
            pairs, "hybrid", dense_weight=mix["dense_weight"], code_weight=mix["code_weight"]
        )
        if hubness:
            score = hubness_corrected(
                len(side.texts),
                pairs["left"],
                pairs["right"],
                score,
                k=HUBNESS_NEIGHBOURS,
                weight=hubness,
            )
    left, right = pairs["left"], pairs["right"]
    conflict = identifier_conflicts(side.codes, left, right)
    if attributes is not None:
        conflict |= detail_conflicts(side, attributes, left, right)
        codes = title_identifiers(side)
        if scorer == "hybrid" and codes is not None:  # the scorer that reads model numbers
            score = np.where(identifier_agreements(codes, left, right), AGREEMENT_SCORE, score)
    return np.where(conflict, CONFLICT_SCORE, score)


def _one_per_source(
    n: int, accepted: pd.DataFrame, sources: npt.NDArray[np.object_]
) -> npt.NDArray[np.int64]:
    """Clusters from the one-to-one matches of every two sources, best score first, never
    joining two groups that both hold a listing of one source (with two sources this is just
    the one-to-one matching; with more it stops A1-B1-C1-A2 chains)."""
    ordered = accepted.sort_values("score", ascending=False, kind="stable")
    parent = list(range(n))
    held: list[set[object]] = [{s} for s in sources.tolist()]

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    left, right = [], []
    for a, b in zip(ordered["left"].tolist(), ordered["right"].tolist(), strict=True):
        root_a, root_b = find(int(a)), find(int(b))
        if root_a == root_b or held[root_a] & held[root_b]:
            continue
        parent[root_b] = root_a
        held[root_a] |= held[root_b]
        left.append(a)
        right.append(b)
    return connected_components(n, left, right)
