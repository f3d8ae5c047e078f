"""Deduplication of merged catalogs: before (connected components at the linking threshold)
and after (average linkage; with and without the listings' source).

Run:
    .venv/bin/python bench/dedupe.py --out bench/results/dedupe.json
    .venv/bin/python bench/dedupe.py --choose --out bench/results/dedupe_choose.json
    .venv/bin/python bench/dedupe.py --choose-within-source \
        --out bench/results/dedupe_choose_within_source.json
    .venv/bin/python bench/dedupe.py --single-shop --out bench/results/dedupe_single_shop.json

The benchmark merges each pair of full tables (abt-buy-full, amazon-google-full) into one
catalog: ids prefixed by source ("abt:12"), a `source` column, the gold clusters joined from the
full tables' mapping. The gold is only read to *report*: every threshold is a library default.

`--choose` picks how dedup scores pairs (`prodmatch.dedup.DEDUP_WEIGHTS`, `HUBNESS_WEIGHT`)
and its threshold (`DEFAULT_DEDUP_THRESHOLDS`): the same merge of the listings of the
DeepMatcher abt-buy and amazon-google *train and valid* splits, gold = their labelled matches,
average linkage over a grid of signal mixes, hubness weights and thresholds; the best mean
pairwise F1 over the two wins. `chosen_plain` is the best threshold on the plain linking
score, which the registry joins listings on (`prodmatch.registry.matching`).
(Matches of those listings labelled only in the test split count as false there; that biases
the choice upwards a little and reads no test label.)

`--single-shop` dedupes each shop's full table alone (abt, buy, amazon, google), where true
duplicates are few and no gold exists: it counts the multi-listing clusters and the listings in
them, the check that a rule which wins on the merges does not merge a single shop's siblings.
`--without-agreement` runs any mode with the titles' shared identifiers ignored
(`prodmatch.dedup.identifier_agreements` answering no), to show what that evidence does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _results import commit, machine

from prodmatch import dedup
from prodmatch.data import catalog_from_frame, load_catalog, load_deepmatcher
from prodmatch.data.catalog import Catalog
from prodmatch.decide import connected_components
from prodmatch.decide.hac import agglomerative_clusters
from prodmatch.dedup import DedupeOptions, dedup_scores, dedupe_catalog
from prodmatch.evaluate.dedupe import dedupe_report, gold_labels, score_clusters
from prodmatch.io import atomic_write_text
from prodmatch.linker import Linker
from prodmatch.settings import MatchSettings

ROOT = Path(__file__).resolve().parents[1]
FULL = {
    "abt-buy": ("abt-buy-full", "abt.csv", "buy.csv", "|", "abt", "buy"),
    "amazon-google": ("amazon-google-full", "amazon.csv", "gp.csv", "#", "amazon", "google"),
}
GRID = [round(float(t), 2) for t in np.arange(0.45, 0.86, 0.05)]
WEIGHT_GRID = [(0.2, 0.1), (0.3, 0.2), (0.5, 0.1), (0.5, 0.2)]
HUBNESS_GRID = [0.0, 0.5]
WITHIN_SOURCE_GRID = [0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
NO_MERGE = 2.0  # above any dedup score: nothing within a source merged


def merged(
    frames: tuple[pd.DataFrame, pd.DataFrame], names: tuple[str, str], gold: pd.DataFrame
) -> tuple[Catalog, pd.DataFrame]:
    """One catalog from two (ids prefixed by source, a `source` column) and its gold pairs."""
    parts = []
    for frame, name in zip(frames, names, strict=True):
        part = frame.reset_index()
        part["id"] = name + ":" + part["id"].astype(str)
        part["source"] = name
        parts.append(part)
    catalog = catalog_from_frame(pd.concat(parts, ignore_index=True).fillna(""), name="merged")
    pairs = pd.DataFrame(
        {
            "left_id": names[0] + ":" + gold["left_id"].astype(str),
            "right_id": names[1] + ":" + gold["right_id"].astype(str),
        }
    )
    return catalog, pairs


def full_tables(datasets: Path, name: str) -> tuple[Catalog, pd.DataFrame]:
    folder, left, right, sep, a, b = FULL[name]
    base = datasets / folder
    cats = [load_catalog(base / f, sep=sep) for f in (left, right)]
    gt = pd.read_csv(base / "gt.csv", sep=sep, dtype=str).apply(lambda c: c.str.strip())
    gold = pd.DataFrame({"left_id": gt.iloc[:, 0], "right_id": gt.iloc[:, 1]})
    return merged((cats[0].records, cats[1].records), (a, b), gold)


def train_tables(datasets: Path, name: str) -> tuple[Catalog, pd.DataFrame]:
    """The listings of the train and valid pairs of a DeepMatcher folder, merged."""
    data = load_deepmatcher(datasets / name)
    labelled = pd.concat([data.train, data.valid], ignore_index=True)
    left = data.left.records.loc[sorted(set(labelled["left_id"]))]
    right = data.right.records.loc[sorted(set(labelled["right_id"]))]
    matches = labelled[labelled["label"] == 1]
    return merged((left, right), ("a", "b"), matches)


def text_settings(catalog: Catalog) -> MatchSettings:
    return MatchSettings(columns=[c for c in catalog.columns if c != "source"])


def before(linker: Linker, catalog: Catalog) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Dedupe as it was: connected components of the pairs above the linking threshold."""
    side, _ = linker.prepare(catalog)
    pairs = linker.candidates(side, side, exclude_self=True)
    accepted = pairs[pairs["score"] >= linker.settings.decision_threshold]
    return connected_components(len(catalog), accepted["left"], accepted["right"])


def run_full(datasets: Path, names: list[str]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name in names:
        catalog, gold_pairs = full_tables(datasets, name)
        gold = gold_labels(catalog.ids, pairs=gold_pairs)
        linker = Linker(text_settings(catalog), progress=False)
        clock = time.perf_counter()
        labels = before(linker, catalog)
        frame = pd.DataFrame({"product_id": catalog.ids, "cluster_id": labels})
        figures[f"{name}/before"] = _summary(dedupe_report(frame, catalog, gold), clock, {})
        runs = {
            "after": DedupeOptions(),
            "after --source-col source": DedupeOptions(source_column="source"),
            "after --source-col source --one-per-source": DedupeOptions(
                source_column="source", one_per_source=True
            ),
        }
        for label, options in runs.items():
            clock = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = dedupe_catalog(linker, catalog, options)
            report = dedupe_report(result.clusters, catalog, gold)
            summary = _summary(report, clock, result.thresholds)
            summary["warnings"] = [str(w.message) for w in caught]
            figures[f"{name}/{label}"] = summary
            print(name, label, json.dumps({k: summary[k] for k in ("f1", "largest_cluster")}))
    return figures


def choose(datasets: Path, names: list[str]) -> dict[str, Any]:
    """Pairwise F1 of average linkage on the train+valid merges for each dedup mix of the
    signals, hubness weight and threshold; the best mean F1 over the datasets wins. The
    plain linking score (today's weights, no correction) is scored too: the registry, which
    joins one listing at a time and knows no neighbourhood, clusters on it."""
    curves: dict[str, dict[str, float]] = {}
    for name in names:
        catalog, gold_pairs = train_tables(datasets, name)
        gold = gold_labels(catalog.ids, pairs=gold_pairs)
        linker = Linker(text_settings(catalog), progress=False)
        side, _ = linker.prepare(_without_source(catalog))
        pairs = linker.candidates(side, side, exclude_self=True)
        variants = {"plain": dedup_scores(side, pairs, "plain")}
        details = linker.attributes(side)  # the detail veto (`prodmatch.dedup.detail_conflicts`)
        for (dense, code), hubness in itertools.product(WEIGHT_GRID, HUBNESS_GRID):
            weights = {"dense_weight": dense, "code_weight": code}
            key = f"dense {dense} code {code} hubness {hubness}"
            variants[key] = dedup_scores(
                side, pairs, "hybrid", weights=weights, hubness=hubness, attributes=details
            )
        curve: dict[str, float] = {}
        for key, similarity in variants.items():
            for t in GRID:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    clusters = agglomerative_clusters(
                        len(catalog), pairs["left"], pairs["right"], similarity, t
                    )
                curve[f"{key} / {t}"] = round(score_clusters(clusters.labels, gold)[2], 4)
        curves[name] = curve
        print(name, max(curve.items(), key=lambda kv: kv[1]), flush=True)
    mean = {
        key: round(float(np.mean([curves[n][key] for n in names])), 4) for key in curves[names[0]]
    }
    plain = {key: value for key, value in mean.items() if key.startswith("plain")}
    return {
        "f1_by_scores_and_threshold": curves,
        "mean_f1": mean,
        "chosen": max(mean, key=lambda key: mean[key]),
        "chosen_plain": max(plain, key=lambda key: plain[key]),
    }


def choose_within_source(datasets: Path, names: list[str]) -> dict[str, Any]:
    """Pairwise F1 of `dedupe --source-col` on the train+valid merges for each threshold of
    the pairs within one source (`prodmatch.dedup.SOURCED_DEDUP_THRESHOLDS`); the best mean
    F1 among the thresholds that still merge within a source wins (a tie: the stricter).
    "no merge" (nothing within a source merged) is scored too, and not chosen: these merges
    label no pair within a shop except through transitive closure, so they cannot show what
    such merges find."""
    curves: dict[str, dict[str, float]] = {}
    for name in names:
        catalog, gold_pairs = train_tables(datasets, name)
        gold = gold_labels(catalog.ids, pairs=gold_pairs)
        linker = Linker(text_settings(catalog), progress=False)
        curve: dict[str, float] = {}
        for t in [*WITHIN_SOURCE_GRID, NO_MERGE]:
            options = DedupeOptions(source_column="source", threshold=t)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = dedupe_catalog(linker, catalog, options)
            labels = result.clusters.set_index("product_id").loc[catalog.ids, "cluster_id"]
            key = "no merge" if t == NO_MERGE else str(t)
            curve[key] = round(score_clusters(labels.to_numpy(), gold)[2], 4)
        curves[name] = curve
        print(name, curve, flush=True)
    mean = {
        key: round(float(np.mean([curves[n][key] for n in names])), 4) for key in curves[names[0]]
    }
    merging = {key: value for key, value in mean.items() if key != "no merge"}
    return {
        "f1_by_within_threshold": curves,
        "mean_f1": mean,
        # a tie goes to the stricter threshold: these merges cannot show what it gives up
        "chosen": max(merging, key=lambda key: (merging[key], float(key))),
    }


def single_shop(datasets: Path, names: list[str]) -> dict[str, Any]:
    """Each shop's table deduped alone with the defaults: clusters of more than one listing."""
    figures: dict[str, Any] = {}
    for name in names:
        folder, left, right, sep, *_ = FULL[name]
        for file in (left, right):
            catalog = load_catalog(datasets / folder / file, sep=sep)
            linker = Linker(text_settings(catalog), progress=False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = dedupe_catalog(linker, catalog, DedupeOptions())
            sizes = result.clusters.groupby("cluster_id").size()
            figures[f"{folder}/{file}"] = {
                "listings": len(catalog),
                "multi_listing_clusters": int((sizes > 1).sum()),
                "listings_in_them": int(sizes[sizes > 1].sum()),
                "largest_cluster": int(sizes.max()),
            }
            print(folder, file, figures[f"{folder}/{file}"], flush=True)
    return figures


def _no_agreements(codes: Any, left: Any, right: Any, **_: Any) -> np.ndarray[Any, Any]:
    return np.zeros(len(np.asarray(left)), dtype=bool)


def _without_source(catalog: Catalog) -> Catalog:
    return Catalog(catalog.name, catalog.records.drop(columns=["source"]), catalog.source)


def _summary(report: Any, clock: float, thresholds: dict[str, float]) -> dict[str, Any]:
    return {
        "precision": round(report.precision, 4),
        "recall": round(report.recall, 4),
        "f1": round(report.f1, 4),
        "bcubed_f1": round(report.bcubed_f1, 4),
        "clusters": report.clusters,
        "largest_cluster": report.largest_cluster,
        "cluster_sizes": report.cluster_sizes,
        "thresholds": thresholds,
        "seconds": round(time.perf_counter() - clock, 1),
    }


def provenance() -> dict[str, Any]:
    """Date, commit (`_results.commit`: results and Markdown being written are no code
    change), command and machine with its load."""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "command": " ".join(["python", "bench/dedupe.py", *sys.argv[1:]]),
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=Path("/work/shared/datasets"))
    parser.add_argument("--names", default="abt-buy,amazon-google")
    parser.add_argument("--choose", action="store_true", help="Choose the dedup threshold.")
    parser.add_argument(
        "--choose-within-source",
        action="store_true",
        help="Choose the threshold within one source under --source-col.",
    )
    parser.add_argument(
        "--single-shop", action="store_true", help="Dedupe each shop's table alone."
    )
    parser.add_argument(
        "--without-agreement",
        action="store_true",
        help="Ignore model numbers both titles name (to measure what they do).",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "dedupe.json")
    args = parser.parse_args()
    names = [n.strip() for n in args.names.split(",") if n.strip()]
    if args.without_agreement:
        dedup.identifier_agreements = _no_agreements
    if args.single_shop:
        figures = single_shop(args.datasets, names)
    elif args.choose_within_source:
        figures = choose_within_source(args.datasets, names)
    elif args.choose:
        figures = choose(args.datasets, names)
    else:
        figures = run_full(args.datasets, names)
    atomic_write_text(args.out, json.dumps({**provenance(), **figures}, indent=2) + "\n")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
