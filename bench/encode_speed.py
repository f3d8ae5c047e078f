"""Encoding throughput and peak memory of the default encoder on synthetic listings.

    .venv/bin/python bench/encode_speed.py [--n 5000] [--model all-MiniLM-L6-v2]

Serialises listings exactly as matching does (all columns, tagged), encodes them with the
cache off, and prints products/s and the process's peak RSS as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import torch

from prodmatch.data import catalog_from_frame
from prodmatch.encode import TextEncoder
from prodmatch.linker import Linker
from prodmatch.synth import generate_catalogs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    world = generate_catalogs(args.n, seed=7, overlap=1.0)
    catalog = catalog_from_frame(world.left.head(args.n), name="synthetic")
    side = Linker(progress=False).side(catalog)
    encoder = TextEncoder(args.model, cache=False, batch_size=args.batch_size)
    encoder.encode(side.texts[:64], progress=False)  # load and warm up
    start = time.perf_counter()
    encoder.encode(side.texts, progress=True)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "products": len(side.texts),
                "seconds": round(seconds, 2),
                "products_per_second": round(len(side.texts) / seconds, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "threads": torch.get_num_threads(),
                "mean_chars": round(sum(map(len, side.texts)) / len(side.texts)),
            }
        )
    )


if __name__ == "__main__":
    main()
