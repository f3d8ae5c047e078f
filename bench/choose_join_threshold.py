"""Choose the registry's join threshold (`REGISTRY_JOIN_THRESHOLDS`) on generated catalogs.

    cd bench && PYTHONPATH=../src ../.venv/bin/python choose_join_threshold.py \\
        --size 3000 --seeds 1,2 --engine onnx-int8

The join threshold is the average linkage a new listing needs to join a product. It was
chosen under TF-IDF fitted per scoring call; the registry now scores under its own lexical
statistics (`prodmatch.registry.lexical`), which score the same pair differently, so it is
chosen again here. For each seed, synthetic listings (`prodmatch.synth`, the left catalog
first, then the right one, as `registry_load.py` loads them) are upserted in batches of 500
into a fresh registry per threshold, and the products made are compared with the generator's
truth over pairs of listings (precision, recall, F1 as in `registry_load.py`). The rule, fixed
before looking: the threshold with the best mean product-pair F1 over the seeds (ties: the
higher). Seeds differ from the load benchmark's (0), so the benchmark does not grade the
choice on what it was chosen on. No public dataset is read. `--k` compares each listing with
fewer or more candidates than the settings' 20 (what a cheaper placing would cost in joins).
`--platforms two` loads each listing on its catalog's platform (left, right) instead of all
on one, as a user loading two shops' exports would: pairs within a platform are then a
shop's siblings, and only those are read for conflicts (`PairScorer.conflicts`).

Appends a record (date, commit, command, machine, figures, the choice) to
bench/results/join_threshold.json.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from _results import RESULTS, append_record, start_record
from registry_load import catalogs_of, pair_accuracy, titles

from prodmatch.encode import TextEncoder
from prodmatch.registry import NewListing, Registry
from prodmatch.settings import MatchSettings


class MemoEncoder:
    """The encoder with every text's vector kept in memory: each threshold re-reads the
    same listings, and only the registry's decisions differ between runs."""

    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder
        self.key = encoder.key
        self.kept: dict[str, npt.NDArray[np.float32]] = {}

    def encode(self, texts: list[str], progress: bool = False, **_: Any) -> npt.NDArray[np.float32]:
        todo = [text for text in dict.fromkeys(texts) if text not in self.kept]
        if todo:
            self.kept.update(zip(todo, self.encoder.encode(todo, progress=False), strict=True))
        return np.stack([self.kept[text] for text in texts])


def products_made(
    settings: MatchSettings,
    encoder: MemoEncoder,
    texts: list[str],
    threshold: float,
    batch: int,
    k: int | None = None,
    platforms: list[str] | None = None,
) -> list[int]:
    """Each listing's product after loading `texts` under `threshold`, each listing
    compared with its `k` closest (None: the settings' k), each on its platform in
    `platforms` (None: all on one)."""
    on = platforms or ["shop"] * len(texts)
    with tempfile.TemporaryDirectory() as folder:
        registry = Registry(Path(folder), settings, encoder=encoder, k=k)  # type: ignore[arg-type]
        registry.scorer.join_threshold = threshold
        for start in range(0, len(texts), batch):
            chunk = texts[start : start + batch]
            registry.upsert(
                [
                    NewListing(on[start + n], f"l{start + n}", {"title": t})
                    for n, t in enumerate(chunk)
                ]
            )
        found = [registry.product_of(on[n], f"l{n}") for n in range(len(texts))]
        registry.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=3000)
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--thresholds", default="0.55,0.6,0.65,0.7,0.75,0.8,0.85,0.9")
    parser.add_argument("--engine", default="onnx-int8")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--k", type=int, default=None, help="candidates a listing is compared with")
    parser.add_argument("--model", default=None)
    parser.add_argument(
        "--platforms",
        choices=["one", "two"],
        default="one",
        help="load every listing on one platform, or each on its catalog's (left, right)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    record = start_record()
    settings = MatchSettings(engine=args.engine, **({"model": args.model} if args.model else {}))
    encoder = MemoEncoder(TextEncoder(settings.model, engine=settings.engine))
    thresholds = [float(t) for t in args.thresholds.split(",")]
    runs: list[dict[str, Any]] = []
    for seed in (int(s) for s in args.seeds.split(",")):
        texts, true = titles(args.size, seed)
        platforms = catalogs_of(args.size, seed) if args.platforms == "two" else None
        for threshold in thresholds:
            found = products_made(
                settings, encoder, texts, threshold, args.batch, args.k, platforms
            )
            accuracy = pair_accuracy(found, true)
            run = {
                "seed": seed,
                "threshold": threshold,
                **accuracy,
                "products": len(set(found)),
                "true_products": len(set(true)),
            }
            print(run, flush=True)
            runs.append(run)
    mean_f1 = {
        t: round(float(np.mean([r["f1"] for r in runs if r["threshold"] == t])), 4)
        for t in thresholds
    }
    chosen = max(thresholds, key=lambda t: (mean_f1[t], t))
    result = {
        "settings": {
            **{name: value for name, value in vars(args).items() if name != "out"},
            "model": settings.model,
            "scorer": settings.scorer,
        },
        "runs": runs,
        "mean_f1": {str(t): f for t, f in mean_f1.items()},
        "chosen": chosen,
        "rule": "best mean product-pair F1 over the seeds; ties: the higher threshold",
    }
    print({"mean_f1": result["mean_f1"], "chosen": chosen})
    append_record(args.out / "join_threshold.json", record, result)


if __name__ == "__main__":
    main()
