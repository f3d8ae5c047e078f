"""Load a product registry, then serve it on loopback to concurrent clients.

1. The encoder's own rate: listings a second, encoding alone (no cache), of the texts the
   registry encodes (each title as the registry serialises it, tag and all: "[title] ...").
   The rate of the bare titles is recorded beside it; records before December 4, session
   18, took that one as the raw rate, which the tag's three tokens make ~14% faster.
2. Ingest: synthetic listings upserted in batches through `Registry` (encode, FAISS search,
   scoring through the core, product assignment, a SQLite transaction each batch), as a
   rate and as a share of the raw encoding rate (measured before and after ingest, the
   mean). The products made are compared with the generator's truth over pairs of listings.
3. Serving: `prodmatch serve`'s app under uvicorn on 127.0.0.1, `--clients` threads for
   `--seconds`, half sending one-listing `POST /match`, half one-listing `PUT /listings`;
   throughput and p50/p99 latency per operation. The clients run in a process of their own,
   as real ones would: threads in the server's process took turns with it for Python's
   interpreter lock, and their JSON and HTTP work was counted as the server's latency
   (records before December 3 night, session 15, measured them that way).
Peak memory (RSS) of this process, which holds the registry, is reported too.

    python bench/registry_load.py --size 100000 --engine onnx-int8

Writes bench/results/registry_load.json (appends one record).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from _results import RESULTS, append_record, start_record

from prodmatch.encode import TextEncoder
from prodmatch.registry import NewListing, Registry, settle_garbage_collector
from prodmatch.settings import MatchSettings
from prodmatch.synth import generate_catalogs


def titles(size: int, seed: int) -> tuple[list[str], list[str]]:
    """About `size` synthetic listing titles from both platforms of generated catalogs (the
    left one's first), and each one's true product id."""
    synth = generate_catalogs(max(10, size // 2 + size // 8), seed=seed)
    truth = synth.truth
    found: list[str] = []
    products: list[str] = []
    for catalog, column in ((synth.left, "left_id"), (synth.right, "right_id")):
        product_of = dict(zip(truth[column], truth["product_id"], strict=True))
        found.extend(str(t) for t in catalog["title"])
        products.extend(str(product_of[i]) for i in catalog["id"])
    return found[:size], products[:size]


def catalogs_of(size: int, seed: int) -> list[str]:
    """The catalog ("left" or "right") each of `titles(size, seed)` comes from."""
    synth = generate_catalogs(max(10, size // 2 + size // 8), seed=seed)
    return (["left"] * len(synth.left) + ["right"] * len(synth.right))[:size]


def pair_accuracy(found: list[int], true: list[str]) -> dict[str, float]:
    """How the registry's products agree with the true ones, over pairs of listings: the
    share of pairs put together that belong together (precision), and of pairs that belong
    together that were put together (recall)."""

    def together(groups: Counter[Any]) -> int:
        return sum(n * (n - 1) // 2 for n in groups.values())

    both = together(Counter(zip(found, true, strict=True)))
    said, real = together(Counter(found)), together(Counter(true))
    precision, recall = both / max(said, 1), both / max(real, 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def encoding_rate(encoder: TextEncoder, sample: list[str]) -> float:
    encoder.encode(sample[:64], progress=False)  # load the model first
    started = time.perf_counter()
    encoder.encode(sample, progress=False)
    return len(sample) / (time.perf_counter() - started)


def ingest(registry: Registry, texts: list[str], batch: int) -> float:
    """Listings a second through `Registry.upsert_many` (what `prodmatch registry load`
    runs: the next batch is encoded while one is placed)."""
    started = time.perf_counter()
    batches = (
        [NewListing("shop", f"l{start + n}", {"title": t}) for n, t in enumerate(chunk)]
        for start in range(0, len(texts), batch)
        for chunk in [texts[start : start + batch]]
    )
    done = 0
    for results in registry.upsert_many(batches):
        done += len(results)
        if done % 10_000 < batch:  # a long run shows it is moving
            elapsed = time.perf_counter() - started
            print(f"{done} listings in {elapsed:.0f} s", file=sys.stderr, flush=True)
    return len(texts) / (time.perf_counter() - started)


def serve(registry: Registry) -> tuple[Any, int]:
    import uvicorn

    from prodmatch.registry.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(registry, auth_required=False), host="127.0.0.1", port=port, log_level="error"
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, port


def clients(
    port: int, n: int, seconds: float, texts: list[str]
) -> tuple[dict[str, list[float]], float]:
    """Each request's latency by operation, and the seconds the clients ran."""
    import httpx

    timings: dict[str, list[float]] = {"match": [], "upsert": []}
    stop = time.monotonic() + seconds

    def run(client: int) -> None:
        kind = "match" if client % 2 == 0 else "upsert"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            count = 0
            while time.monotonic() < stop:
                text = texts[(client * 7919 + count) % len(texts)]
                listing = {
                    "platform": "live",
                    "id": f"c{client}-{count}",
                    "attributes": {"title": text},
                }
                started = time.perf_counter()
                if kind == "match":
                    response = http.post("/match", json={"listings": [listing], "k": 10})
                else:
                    response = http.put("/listings", json={"listings": [listing]})
                response.raise_for_status()
                timings[kind].append(time.perf_counter() - started)
                count += 1

    threads = [threading.Thread(target=run, args=(c,)) for c in range(n)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings, time.perf_counter() - started


def clients_apart(
    port: int, n: int, seconds: float, texts: list[str]
) -> tuple[dict[str, list[float]], float]:
    """`clients` in a process of their own (started fresh: no copy of the registry)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(clients, (port, n, seconds, texts))


def summary(seconds: list[float], wall: float) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {
        "requests": len(ms),
        "per_s": round(len(ms) / wall, 2),
        "p50_ms": round(float(np.percentile(ms, 50)), 2) if len(ms) else 0.0,
        "p99_ms": round(float(np.percentile(ms, 99)), 2) if len(ms) else 0.0,
    }


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The run's options as recorded (where the record is written is not one)."""
    return {name: value for name, value in vars(args).items() if name != "out"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--engine", default="onnx-int8")
    parser.add_argument("--model", default=None)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--raw-sample", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    record = start_record()
    settings = MatchSettings(engine=args.engine, **({"model": args.model} if args.model else {}))
    encoder = TextEncoder(settings.model, engine=settings.engine, cache=False)
    texts, true = titles(args.size + args.raw_sample, args.seed)
    sample = texts[args.size :]
    with tempfile.TemporaryDirectory() as folder:
        registry = Registry(Path(folder), settings, encoder=encoder)
        encoded = [registry.scorer.texts({"title": title})[0] for title in sample]
        raw, raw_titles = encoding_rate(encoder, encoded), encoding_rate(encoder, sample)
        settle_garbage_collector()  # as `prodmatch registry load` and `serve` do
        ingest_rate = ingest(registry, texts[: args.size], args.batch)
        # again after: on a shared machine the load moves, and the share compares the two
        raw_after = encoding_rate(encoder, encoded)
        raw_titles_after = encoding_rate(encoder, sample)
        found = [registry.product_of("shop", f"l{n}") for n in range(args.size)]
        accuracy = pair_accuracy(found, true[: args.size])
        server, port = serve(registry)
        timings, wall = clients_apart(port, args.clients, args.seconds, texts[: args.size])
        server.should_exit = True
        counts = registry.counts()
        registry.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "settings": {**_options(args), "model": settings.model},
        "listings": counts["listings"],
        "products": counts["products"],
        "raw_encode_per_s": round((raw + raw_after) / 2, 1),
        "raw_encode_per_s_before_after": [round(raw, 1), round(raw_after, 1)],
        "raw_encode_titles_per_s": round((raw_titles + raw_titles_after) / 2, 1),
        "ingest_per_s": round(ingest_rate, 1),
        "ingest_share_of_raw": round(ingest_rate / ((raw + raw_after) / 2), 3),
        "ingest_share_of_raw_titles": round(ingest_rate / ((raw_titles + raw_titles_after) / 2), 3),
        "products_after_ingest_vs_truth": accuracy,  # pairs of the loaded listings
        "match": summary(timings["match"], wall),
        "upsert": summary(timings["upsert"], wall),
        "peak_rss_mb": round(peak_mb, 1),
        "load_average_end": round(os.getloadavg()[0], 2),  # the record has it at the start
    }
    print(result)
    append_record(args.out / "registry_load.json", record, result)


if __name__ == "__main__":
    main()
