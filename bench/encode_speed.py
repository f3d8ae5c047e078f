"""Encoding throughput, agreement and peak memory of the text encoder, engine by engine.

    .venv/bin/python bench/encode_speed.py [--n 10000] [--engines plain,torch,onnx,onnx-int8]
    .venv/bin/python bench/encode_speed.py --preset accurate --n 1000   # all-mpnet-base-v2

Encodes the same synthetic listings (titles only with --titles, else all columns as matching
serialises them) with each engine, the cache off, after a warm-up: `plain` is
sentence-transformers' own `encode` (fp32, batch 64, padding as it pads), the reference the
others are measured against; `torch`, `onnx` and `onnx-int8` are prodmatch's engines
(length-sorted batches). Prints one JSON object per engine: products/s, speed-up over plain,
cosine agreement with plain (mean and min), and the process's peak RSS so far, and appends one
record (date, commit, command, machine with its load, every engine) to
bench/results/encode_speed.json. The cosines do not depend on the machine's load; the rates
do, and are an idle figure only when the record's machine was not shared.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from _results import RESULTS, append_record, start_record

from prodmatch.data import catalog_from_frame
from prodmatch.encode import TextEncoder
from prodmatch.encode.models import offline, resolve_model_path
from prodmatch.encode.presets import PRESETS, preset_model
from prodmatch.linker import Linker
from prodmatch.synth import generate_catalogs

Encode = Callable[[list[str]], npt.NDArray[np.float32]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument(
        "--model", default=None, help="A model name or folder (wins over --preset)."
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None)
    parser.add_argument("--engines", default="plain,torch,onnx,onnx-int8")
    parser.add_argument("--titles", action="store_true", help="Encode titles only.")
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    args.model = args.model or preset_model(args.preset)
    record = start_record()
    engines: list[dict[str, Any]] = []
    texts = _texts(args.n, args.titles)
    reference: npt.NDArray[np.float32] | None = None
    plain_rate = None
    for engine in args.engines.split(","):
        encode = _encoder(engine, args.model, args.max_seq_length)
        encode(texts[:64])  # load, export if needed, warm up
        start = time.perf_counter()
        vectors = encode(texts)
        seconds = time.perf_counter() - start
        rate = len(texts) / seconds
        if reference is None:
            reference, plain_rate = vectors, rate
        cosine = np.einsum("ij,ij->i", vectors, reference)
        engines.append(
            {
                "engine": engine,
                "products": len(texts),
                "seconds": round(seconds, 1),
                "products_per_second": round(rate, 1),
                "speedup_vs_first": round(rate / plain_rate, 2) if plain_rate else 1.0,
                "cosine_mean": round(float(cosine.mean()), 4),
                "cosine_min": round(float(cosine.min()), 4),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
        print(json.dumps(engines[-1]), flush=True)
    results = {
        "model": args.model,
        "preset": args.preset,
        "titles": args.titles,
        "max_seq_length": args.max_seq_length,
        "engines": engines,
    }
    append_record(args.out / "encode_speed.json", record, results)


def _texts(n: int, titles: bool) -> list[str]:
    world = generate_catalogs(n, seed=7, overlap=1.0)
    frame = world.left.head(n)
    if titles:
        return [str(t) for t in frame["title"]]
    return Linker(progress=False).side(catalog_from_frame(frame, name="synthetic")).texts


def _encoder(engine: str, model: str, max_seq_length: int) -> Encode:
    if engine == "plain":
        offline()
        from sentence_transformers import SentenceTransformer

        plain = SentenceTransformer(str(resolve_model_path(model)), device="cpu")
        plain.max_seq_length = max_seq_length

        def run(texts: list[str]) -> npt.NDArray[np.float32]:
            out = plain.encode(
                texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False
            )
            return np.asarray(out, dtype=np.float32)

        return run
    encoder = TextEncoder(
        model,
        cache=False,
        engine=engine,  # type: ignore[arg-type]
        max_seq_length=max_seq_length,
    )
    return lambda texts: encoder.encode(texts, progress=False)


if __name__ == "__main__":
    main()
