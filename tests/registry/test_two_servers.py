"""Two `prodmatch serve` processes on one PostgreSQL database, written to at once: each sees
the other's listings, products and events, its index catches up with the other's writes, and
the event feed read while they write is ordered and has no gaps."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("psycopg")
pytest.importorskip("uvicorn")

CLIENTS = 2  # writer threads per server
BATCHES = 5
BATCH = 3


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def two_servers(tiny_model: Path, postgres_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two `prodmatch serve --database` processes (folders of their own, one database),
    started together; their base URLs."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    started: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    for n in range(2):
        port, log = _port(), tmp_path / f"serve-{n}.log"
        command = [
            sys.executable, "-m", "prodmatch.cli", "serve", "--registry", str(tmp_path / f"r{n}"),
            "--model", str(tiny_model), "--database", postgres_url, "--no-auth",
            "--port", str(port),
        ]  # fmt: skip
        process = subprocess.Popen(
            command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
        )
        started.append((process, f"http://127.0.0.1:{port}", log))
    try:
        deadline = time.monotonic() + 180  # each imports torch: slow on a busy machine
        for process, url, log in started:
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log.read_text())
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
        yield [url for _, url, _ in started]
    finally:
        for process, _, _ in started:
            process.terminate()
        for process, _, _ in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _listing(platform: str, listing_id: str, title: str) -> dict[str, Any]:
    return {"platform": platform, "id": listing_id, "attributes": {"title": title}}


def _writer(url: str, client: str, written: list[str], errors: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=60) as http:
        for batch in range(BATCHES):
            ids = [f"{client}-{batch}-{n}" for n in range(BATCH)]
            body = {
                "listings": [
                    _listing("shop", i, f"brand{client} model{batch}x{n} widget")
                    for n, i in enumerate(ids)
                ]
            }
            response = http.put("/listings", json=body)
            if response.status_code != 200:
                errors.append(response.text)
                return
            written.extend(ids)


def _follow(url: str, stop: threading.Event, seen: list[dict[str, Any]]) -> None:
    """An inventory-sync job: reads the feed from its cursor while the writes go on."""
    cursor = 0
    with httpx.Client(base_url=url, timeout=60) as http:
        while True:
            done = stop.is_set()
            reply = http.get("/events", params={"after": cursor}).json()
            seen.extend(reply["events"])
            cursor = reply["cursor"]
            if done:
                return
            time.sleep(0.05)


def test_two_servers_see_each_others_writes(two_servers: list[str]) -> None:
    one, two = (httpx.Client(base_url=url, timeout=60) for url in two_servers)
    canon = "canon powershot sd990 digital camera silver"
    assert one.put("/listings", json={"listings": [_listing("amazon", "a1", canon)]}).is_success
    # written through one, found by the other's index at once (it catches up before a search)
    found = two.post("/match", json={"listings": [_listing("x", "q", canon)]}).json()
    assert (found["matches"][0][0]["platform"], found["matches"][0][0]["id"]) == ("amazon", "a1")
    assert two.get("/listings/amazon/a1").json()["attributes"]["title"] == canon

    stop, followed = threading.Event(), []
    follower = threading.Thread(target=_follow, args=(two_servers[1], stop, followed))
    follower.start()
    written: list[str] = []
    errors: list[str] = []
    writers = [
        threading.Thread(target=_writer, args=(url, f"s{n}c{c}", written, errors))
        for n, url in enumerate(two_servers)
        for c in range(CLIENTS)
    ]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    follower.join()
    assert errors == []
    assert len(written) == 2 * CLIENTS * BATCHES * BATCH

    # each server sees every listing in the same product
    for listing_id in written:
        products = {
            http.get(f"/listings/shop/{listing_id}/product").json()["id"] for http in (one, two)
        }
        assert len(products) == 1, listing_id
    # one feed, the same from both, numbered without gaps; the follower read all of it, in order
    feeds = [http.get("/events", params={"limit": 10_000}).json()["events"] for http in (one, two)]
    assert feeds[0] == feeds[1]
    seqs = [event["seq"] for event in feeds[0]]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert followed == feeds[0]
    joined = {e["listing"] for e in feeds[0] if e["kind"] == "join" and e["platform"] == "shop"}
    assert joined == set(written)

    # both indexes agree with the database once they have searched
    for http in (one, two):
        http.post("/match", json={"listings": [_listing("x", "q", "brand widget")]})
        assert http.get("/health").json()["indexed"] == len(written) + 1
    # a deletion through one leaves the other's index too
    assert two.delete("/listings/amazon/a1").is_success
    found = one.post("/match", json={"listings": [_listing("x", "q", canon)], "k": 50}).json()
    assert ("amazon", "a1") not in {(c["platform"], c["id"]) for c in found["matches"][0]}
    assert one.get("/listings/amazon/a1").status_code == 404
