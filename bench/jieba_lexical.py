"""Does Chinese word segmentation (jieba) help lexical retrieval, or do character n-grams do?

prodmatch's lexical side is TF-IDF over character 3-5-grams within words, which needs no
spaces. jieba would cut Chinese runs into words first, so n-grams stop at word boundaries.
This measures lexical-only retrieval and the tfidf scorer on bilingual synthetic catalogs
(Chinese shop left, English right) with and without segmenting the Chinese side, and the
same with the model numbers taken out of the Chinese side (then only units and Latin brands
are left to match lexically).

    pip install jieba && .venv/bin/python bench/jieba_lexical.py [--size 600] [--seeds 1,2,3]

Appends one record to bench/results/jieba_lexical.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from _results import append_record, start_record
from multilingual import without_codes

from prodmatch.data import catalog_from_frame
from prodmatch.data.catalog import Catalog
from prodmatch.evaluate.linkage import evaluate_linkage
from prodmatch.linker import Linker
from prodmatch.settings import MatchSettings
from prodmatch.synth.bilingual import generate_bilingual

ROOT = Path(__file__).resolve().parents[1]


def segmented(catalog: Catalog) -> Catalog:
    """`catalog` with its Chinese text cut into words by jieba (spaces between them)."""
    import jieba

    frame = catalog.records.reset_index()
    for column in ("title", "description", "brand"):
        if column in frame:
            frame[column] = [" ".join(jieba.cut(str(text))) for text in frame[column]]
    return catalog_from_frame(frame, name=f"{catalog.name}-jieba", source=catalog.source)


def lexical(left: Catalog, right: Catalog, gold: Any) -> dict[str, float]:
    settings = MatchSettings(scorer="tfidf", retrieval="sparse")
    report = evaluate_linkage(left, right, gold, Linker(settings, progress=False))
    return {
        "recall@1": report.recall_at_k[1],
        "recall@10": report.recall_at_k[10],
        "f1": report.f1,
        "oracle_f1": report.oracle_f1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=600)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    record = start_record()
    results: dict[str, Any] = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        synth = generate_bilingual(args.size, seed=seed, languages=("zh", "en"))
        left = catalog_from_frame(synth.left, name="zh")
        right = catalog_from_frame(synth.right, name="en")
        for variant, chinese in (("with-codes", left), ("nocode", without_codes(left))):
            for how, side in (("char-ngrams", chinese), ("jieba", segmented(chinese))):
                key = f"seed{seed}/{variant}/{how}"
                results[key] = lexical(side, right, synth.gold)
                print(key, results[key], flush=True)
    append_record(args.out / "jieba_lexical.json", record, {"size": args.size, **results})


if __name__ == "__main__":
    main()
