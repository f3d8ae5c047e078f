"""Cross-border benchmark: English-only MiniLM against the multilingual e5-small and USE.

For each model, on bilingual synthetic catalogs (a Chinese shop against an English one, built
by `prodmatch.synth.bilingual`, prices in yuan converted with the generator's rate table):
blocking recall@1 and @10 (the union of dense and lexical candidates, and dense alone: only the
encoder can cross scripts) and end-to-end F1 with the hybrid scorer, zero-shot and, with
--head, after `train --mode head` on another bilingual world (its own seed). The same zero-shot
figures with the model numbers taken out of the Chinese side ("nocode": the synthetic titles
share their model numbers, which n-grams match across scripts, so this variant shows what the
encoder alone carries). The same zero-shot
figures on a slice of abt-buy-full (the listings of its first --abt-pairs true pairs, names
only) show what a multilingual model costs on English. Encoding speed of each engine on a
fixed set of titles, half Chinese, half English.

F1 is at the hybrid scorer's default threshold (chosen for MiniLM on English synthetic data)
and, as `oracle_f1`, at the best threshold: the oracle is a ceiling for comparing encoders,
never a setting (nothing here chooses a default).

    .venv/bin/python bench/multilingual.py [--size 150] [--head] [--abt-pairs 200]

Appends one record to bench/results/multilingual.json. Slow (minutes on 2 cores):
tests/bench/test_bench_smoke.py runs it on a tiny model and a few listings.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from _results import append_record, start_record

from prodmatch.data import catalog_from_frame
from prodmatch.data.catalog import Catalog
from prodmatch.encode import TextEncoder
from prodmatch.evaluate.linkage import link_and_evaluate
from prodmatch.linker import Linker
from prodmatch.settings import MatchSettings
from prodmatch.synth import SyntheticCatalogs, generate_pairs
from prodmatch.synth.bilingual import BILINGUAL_RATES, generate_bilingual

ROOT = Path(__file__).resolve().parents[1]
MODELS = "all-MiniLM-L6-v2,e5-small,use-multilingual"
LANGUAGES = ("zh", "en")  # the Chinese shop on the left: its listings are the queries


def linkage(
    left: Catalog, right: Catalog, gold: pd.DataFrame, settings: MatchSettings
) -> dict[str, Any]:
    """Recall@10 (union, dense, sparse), F1 at the settings' threshold and the oracle F1."""
    report, _ = link_and_evaluate(left, right, gold, Linker(settings, progress=False))
    by = report.recall_at_k_by_retriever
    return {
        "recall@1": report.recall_at_k[1],
        "recall@10": report.recall_at_k[10],
        "dense_recall@1": by["dense"][1] if "dense" in by else None,
        "dense_recall@10": by["dense"][10] if "dense" in by else None,
        "sparse_recall@1": by["sparse"][1] if "sparse" in by else None,
        "sparse_recall@10": by["sparse"][10] if "sparse" in by else None,
        "precision": report.precision,
        "recall": report.recall,
        "f1": report.f1,
        "threshold": report.threshold,
        "oracle_f1": report.oracle_f1,
        "oracle_threshold": report.oracle_threshold,
        "left": len(left),
        "right": len(right),
        "true_matches": len(gold),
        "seconds": report.seconds,
    }


def world(size: int, seed: int, folder: Path) -> tuple[Catalog, Catalog, SyntheticCatalogs]:
    synth = generate_bilingual(size, seed=seed, languages=LANGUAGES)
    left = catalog_from_frame(synth.left, name="zh-shop", source=folder / "left.csv")
    right = catalog_from_frame(synth.right, name="en-shop", source=folder / "right.csv")
    return left, right, synth


# A model-number-like token: letters and digits mixed, four or more characters.
_CODE = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[a-z])[\w-]{4,}(?![\w-])", re.IGNORECASE)

_QUANTITY = re.compile(r"\d+(?:\.\d+)?(?:gb|tb|mb|mm|cm|hz|w|v|mah|in|g|kg|ml|l|mp|k)", re.I)


def without_codes(catalog: Catalog) -> Catalog:
    """`catalog` with model numbers taken out of every text column: what is left to cross
    scripts is the encoder alone (and units, brands in Latin)."""
    frame = catalog.records.reset_index()
    for column in ("title", "description"):
        if column in frame:
            frame[column] = [_CODE.sub(_drop_code, text) for text in frame[column]]
    return catalog_from_frame(frame, name=f"{catalog.name}-nocode", source=catalog.source)


def _drop_code(match: re.Match[str]) -> str:
    """'' for a model number, the token itself for a number with a unit ("32GB", "40W")."""
    return match.group(0) if _QUANTITY.fullmatch(match.group(0)) else ""


def abt_slice(datasets: Path, pairs: int) -> tuple[Catalog, Catalog, pd.DataFrame] | None:
    """The names of abt-buy-full's listings in its first `pairs` true pairs."""
    folder = datasets / "abt-buy-full"
    if not folder.is_dir():
        return None

    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(folder / name, sep="|", dtype=str, keep_default_na=False)

    gold = read("gt.csv").head(pairs)
    gold.columns = ["left_id", "right_id"]
    abt, buy = read("abt.csv"), read("buy.csv")
    abt = abt[abt["id"].isin(gold["left_id"])][["id", "name"]]
    buy = buy[buy["id"].isin(gold["right_id"])][["id", "name"]]
    return (
        catalog_from_frame(abt, name="abt", source=folder / "abt.csv"),
        catalog_from_frame(buy, name="buy", source=folder / "buy.csv"),
        gold,
    )


def encoding_speed(model: str, titles: list[str]) -> dict[str, float]:
    """Titles a second, model loaded and warmed up first, nothing cached."""
    encoder = TextEncoder(model, cache=False)
    encoder.encode(titles[:8], progress=False)
    start = time.perf_counter()
    encoder.encode(titles, progress=False)
    seconds = time.perf_counter() - start
    return {
        "titles": len(titles),
        "seconds": round(seconds, 2),
        "titles_per_s": len(titles) / seconds,
    }


def head_trained(
    model: str, size: int, seed: int, tmp: Path, test: tuple[Catalog, Catalog, pd.DataFrame]
) -> dict[str, Any]:
    """Train a head-mode matcher on another bilingual world, then link the test world."""
    from prodmatch.matcher import matcher_settings
    from prodmatch.train.api import train_matcher

    left, right, synth = world(size, seed + 1000, tmp / f"train-{seed}")
    pairs = generate_pairs(synth, seed=seed)
    names = {"ltable_id": "left_id", "rtable_id": "right_id"}
    train, valid = (pairs[s].rename(columns=names) for s in ("train", "valid"))
    folder = tmp / f"matcher-{model.replace('/', '_')}"
    settings = MatchSettings(model=model, exchange_rates=str(tmp / "rates.json"))
    train_matcher(left, right, train, valid, folder, mode="head", settings=settings, progress=False)
    trained = matcher_settings(folder)
    return linkage(*test, trained)


def abt_pairs(model: str, datasets: Path, tmp: Path) -> dict[str, Any]:
    """Pair F1 on the abt-buy DeepMatcher test split (threshold chosen on valid, as
    `evaluate pairs` does), zero-shot and after `train --mode head` on its train/valid pairs:
    what each encoder gives on English once trained."""
    from _head import head_report

    from prodmatch.data.pairs import load_deepmatcher
    from prodmatch.evaluate import evaluate_pairs

    data = load_deepmatcher(datasets / "abt-buy")
    settings = MatchSettings(model=model)
    zero = evaluate_pairs(data, Linker(settings, progress=False))
    head = head_report(data, tmp / f"abt-{model.replace('/', '_')}", settings)
    return {
        "zero_shot": {"f1": zero.f1, "precision": zero.precision, "recall": zero.recall},
        "head": {"f1": head.f1, "precision": head.precision, "recall": head.recall},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--size", type=int, default=150, help="Products per bilingual world.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--head", action="store_true", help="Also train a head per model.")
    parser.add_argument("--abt-pairs", type=int, default=200)
    parser.add_argument("--speed-titles", type=int, default=100)
    parser.add_argument(
        "--abt-head", action="store_true", help="Also abt-buy pair F1, zero-shot and head."
    )
    parser.add_argument(
        "--speed-only", action="store_true", help="Only the encoding speeds (for an idle run)."
    )
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    record = start_record()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "rates.json").write_text(json.dumps(BILINGUAL_RATES), encoding="utf-8")
        left, right, synth = world(args.size, args.seed, tmp / "test")
        test = (left, right, synth.gold)
        half = args.speed_titles // 2
        titles = [*synth.left["title"][:half], *synth.right["title"][:half]]
        wanted = args.abt_pairs and not args.speed_only
        abt = abt_slice(args.datasets, args.abt_pairs) if wanted else None
        for model in args.models.split(","):
            print(f"-- {model}", flush=True)
            settings = MatchSettings(model=model, exchange_rates=str(tmp / "rates.json"))
            row: dict[str, Any] = {"speed": encoding_speed(model, titles)}
            if args.abt_head:
                row["abt-buy pairs"] = abt_pairs(model, args.datasets, tmp)
            if args.speed_only:
                results[model] = row
                print(json.dumps(row), flush=True)
                continue
            row["bilingual/zero_shot"] = linkage(*test, settings)
            row["bilingual-nocode/zero_shot"] = linkage(
                without_codes(left), right, synth.gold, settings
            )
            if args.head:
                row["bilingual/head"] = head_trained(model, args.size, args.seed, tmp, test)
            if abt is not None:
                row["abt-buy/zero_shot"] = linkage(*abt, MatchSettings(model=model))
            results[model] = row
            print(json.dumps(row, indent=1), flush=True)
    config = {"size": args.size, "seed": args.seed, "languages": list(LANGUAGES)}
    config["speed_only"] = args.speed_only
    config["abt_head"] = args.abt_head
    append_record(args.out / "multilingual.json", record, {"config": config, **results})


if __name__ == "__main__":
    main()
