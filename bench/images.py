"""Images benchmark: does a product photo help where the text is not enough, and what it costs.

    .venv/bin/python bench/images.py [--size 600] [--seed 0] [--model all-MiniLM-L6-v2]

On synthetic multimodal catalogs (`prodmatch.synth.pictures.generate_multimodal`: a photo per
listing, 10% missing), made so that photos matter: by default every product has near-miss
siblings (--near-miss-rate 1.0) and every right listing of a coloured product loses its
colour words (--colour-drop-rate 1.0), so only the photo tells a black phone from its white
sibling. Trains two head-mode matchers with the same seed, text only and text + image
(fusion head, photo signals), and reports for each:

- pair F1 on the test split (threshold chosen on valid), and on its photo-only slice: the
  test matches whose right title lost its colour, and the test non-matches that are the same
  model in another colour (only the photo can tell those apart);
- end-to-end linkage F1 (retrieval, learned scores, one-to-one, the matcher's threshold) on
  the test products only, and on the whole catalogs (whose training products flatter both).

Before that it measures image encoding alone: EfficientNet-Lite0 images/s with the cache off,
after a warm-up, on 1 thread and on all cores, and the process's peak RSS. Everything runs in a
private embedding cache (a temporary folder unless --cache-dir), so no run reuses another's
vectors. Writes bench/results/images.json (with the run's date, commit, command and machine,
whose load says whether the rates are those of a busy machine) and prints a Markdown table.

Slow (minutes): not part of the test suite; tests/bench/test_bench_smoke.py runs it tiny.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from _results import start_record

from prodmatch.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=600, help="Products in the synthetic world.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--near-miss-rate", type=float, default=1.0)
    parser.add_argument("--colour-drop-rate", type=float, default=1.0)
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="The text encoder.")
    parser.add_argument("--throughput-images", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=None, help="Torch threads (all cores).")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    record = start_record()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PRODMATCH_CACHE_DIR"] = str(args.cache_dir or Path(tmp) / "cache")
        results = run(args, Path(tmp))
    args.out.mkdir(parents=True, exist_ok=True)
    record["machine"]["load_average_end"] = round(os.getloadavg()[0], 2)
    atomic_write_text(args.out / "images.json", json.dumps({**record, **results}, indent=2) + "\n")
    print(markdown(results))


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from prodmatch.synth import generate_pairs, write_deepmatcher
    from prodmatch.synth.pictures import generate_multimodal

    clock = time.perf_counter()
    world = generate_multimodal(
        args.size,
        args.seed,
        work / "data",
        near_miss_rate=args.near_miss_rate,
        colour_drop_rate=args.colour_drop_rate,
    )
    synth = replace(world.synth, left=world.left, right=world.right)
    pairs = generate_pairs(synth, seed=args.seed)
    write_deepmatcher(synth, pairs, work / "data")
    _say(f"generated {len(world.left)} + {len(world.right)} listings with photos")
    photos = sorted((work / "data" / "images").rglob("*.*"))
    results: dict[str, Any] = {
        "data": {
            "products": args.size,
            "seed": args.seed,
            "left_listings": len(world.left),
            "right_listings": len(world.right),
            "photos": len(photos),
            "near_miss_rate": args.near_miss_rate,
            "colour_drop_rate": args.colour_drop_rate,
            "colour_dropped": len(world.colour_dropped),
            "pairs": {split: len(frame) for split, frame in pairs.items()},
            "generate_seconds": round(time.perf_counter() - clock, 1),
        },
        "throughput": throughput(photos[: args.throughput_images], args.threads),
        "model": args.model,
    }
    for name, column in (("text", None), ("text+image", "image")):
        results[name] = matcher_run(args, work, world, column)
    results["peak_rss_mb"] = _peak_rss_mb()
    return results


def throughput(photos: list[Path], most: int | None) -> dict[str, Any]:
    """Images/s of the image encoder alone (cache off, after a warm-up) on one thread and on
    ``most`` (all cores), and peak RSS."""
    from prodmatch.images.encoder import ImageEncoder, available_cores

    before = _peak_rss_mb()
    rates: dict[str, float] = {}
    for threads in sorted({1, most or available_cores()}):
        encoder = ImageEncoder(cache=False, threads=threads)
        encoder.encode_files(photos[:8], progress=False)  # load the network, warm up
        start = time.perf_counter()
        _, ok = encoder.encode_files(photos, progress=False)
        rates[f"threads_{threads}"] = round(len(photos) / (time.perf_counter() - start), 2)
        assert ok.all()
        _say(f"image encoding on {threads} thread(s): {rates[f'threads_{threads}']} images/s")
    return {
        "images": len(photos),
        "images_per_second": rates,
        "peak_rss_mb_before": round(before, 1),
        "peak_rss_mb_after": round(_peak_rss_mb(), 1),
    }


def matcher_run(
    args: argparse.Namespace, work: Path, world: Any, column: str | None
) -> dict[str, Any]:
    """Train one head-mode matcher and measure it on pairs and end to end."""
    from _head import train_head_matcher

    from prodmatch.data import load_deepmatcher
    from prodmatch.matcher import matcher_settings
    from prodmatch.settings import MatchSettings
    from prodmatch.train.fine_tune import FineTuneConfig
    from prodmatch.train.head_trainer import HeadTrainingConfig

    data = load_deepmatcher(work / "data")
    folder = work / f"matcher-{column or 'text'}"
    clock = time.perf_counter()
    report = train_head_matcher(
        data,
        folder,
        settings=MatchSettings(model=args.model, image_column=column),
        fine_tune_config=FineTuneConfig(seed=args.seed),
        head_config=HeadTrainingConfig(seed=args.seed),
    )
    train_seconds = time.perf_counter() - clock
    _say(f"trained {folder.name} in {train_seconds:.0f} s")
    settings = matcher_settings(folder)
    out = {
        "train_seconds": round(train_seconds, 1),
        "valid_f1": report.metrics["head"]["f1"],
        "fusion": {k: v for k, v in report.metrics.get("fusion", {}).items() if k != "history"},
        **pair_figures(data, settings, photo_only(data.test, world)),
        **linkage_figures(data, world, settings, work),
    }
    _say(f"{folder.name}: pair F1 {out['pairs']['f1']:.3f}, linkage F1 {out['linkage']['f1']:.3f}")
    return out


def photo_only(test: pd.DataFrame, world: Any) -> pd.DataFrame:
    """The test pairs only a photo can decide: matches whose right title lost its colour,
    and non-matches of the same model in another colour."""
    truth = world.synth.truth
    product = {p.product_id: p for p in world.synth.products}
    left = dict(zip(truth["left_id"], truth["product_id"], strict=True))
    right = dict(zip(truth["right_id"], truth["product_id"], strict=True))
    dropped = set(world.colour_dropped)

    def decided_by_photo(left_id: str, right_id: str, label: int) -> bool:
        a, b = product[left[left_id]], product[right[right_id]]
        if label == 1:
            return right_id in dropped
        colours = a.attributes.get("colour"), b.attributes.get("colour")
        return a.model == b.model and colours[0] != colours[1] and right_id in dropped

    keep = [
        decided_by_photo(str(a), str(b), int(y))
        for a, b, y in zip(test["left_id"], test["right_id"], test["label"], strict=True)
    ]
    return test[keep]


def pair_figures(data: Any, settings: Any, photo_pairs: pd.DataFrame) -> dict[str, Any]:
    """Test pair P/R/F1, overall and on the photo-only slice (threshold chosen on valid)."""
    from prodmatch.data.pairs import PairDataset
    from prodmatch.evaluate import evaluate_pairs
    from prodmatch.linker import Linker

    linker = Linker(settings, progress=False)
    subset = PairDataset(data.left, data.right, data.train, data.valid, photo_pairs)
    figures: dict[str, dict[str, float] | None] = {"pairs": _prf(evaluate_pairs(data, linker))}
    has_match = (photo_pairs["label"] == 1).any()
    figures["pairs_photo_only"] = (
        {
            **_prf(evaluate_pairs(subset, linker)),
            "pairs": len(photo_pairs),
            "matches": int((photo_pairs["label"] == 1).sum()),
        }
        if has_match
        else None
    )
    return figures


def linkage_figures(data: Any, world: Any, settings: Any, work: Path) -> dict[str, Any]:
    """End to end on the test products' listings, and on the whole catalogs."""
    from prodmatch.data import load_catalog
    from prodmatch.evaluate import evaluate_linkage
    from prodmatch.linker import Linker

    gold = world.gold.astype(str)
    left_ids = list(dict.fromkeys(data.test["left_id"]))
    right_ids = list(dict.fromkeys(data.test["right_id"]))
    test_gold = gold[gold["left_id"].isin(left_ids) & gold["right_id"].isin(right_ids)]
    left, right = data.left.select(left_ids), data.right.select(right_ids)
    test = evaluate_linkage(left, right, test_gold, Linker(settings, progress=False))
    whole = evaluate_linkage(
        load_catalog(work / "data" / "left.csv"),
        load_catalog(work / "data" / "right.csv"),
        gold,
        Linker(settings, progress=False),
    )
    return {
        "linkage": {**_prf(test), "left": len(left), "right": len(right), "gold": len(test_gold)},
        "linkage_whole": {**_prf(whole), "gold": len(gold)},
    }


def _prf(report: Any) -> dict[str, float]:
    return {
        "precision": round(report.precision, 4),
        "recall": round(report.recall, 4),
        "f1": round(report.f1, 4),
    }


def markdown(results: dict[str, Any]) -> str:
    """The F1 table and the throughput line, as pasted into BENCHMARKS.md."""

    def f1(entry: dict[str, Any] | None) -> str:
        return f"{entry['f1']:.3f}" if entry else "-"

    lines = [
        "| matcher | pair F1 (test) | pair F1, photo-only slice | linkage F1 (test "
        "products) | linkage F1 (whole catalogs) | train time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("text", "text+image"):
        r = results[name]
        lines.append(
            f"| {name} | {f1(r['pairs'])} | {f1(r['pairs_photo_only'])} | "
            f"{f1(r['linkage'])} | {f1(r['linkage_whole'])} | {r['train_seconds']:.0f} |"
        )
    t = results["throughput"]
    rates = ", ".join(
        f"{v:.1f} images/s on {k.split('_')[1]} thread(s)"
        for k, v in t["images_per_second"].items()
    )
    lines += [
        "",
        f"Image encoding (EfficientNet-Lite0, {t['images']} photos, cache off): {rates}; "
        f"peak RSS {t['peak_rss_mb_after']:.0f} MB after encoding "
        f"({t['peak_rss_mb_before']:.0f} MB before), {results['peak_rss_mb']:.0f} MB for "
        "the whole run.",
    ]
    return "\n".join(lines)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _say(message: str) -> None:
    print(message, flush=True)


if __name__ == "__main__":
    main()
