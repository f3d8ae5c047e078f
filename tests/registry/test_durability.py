"""Killed mid-stream, a real server loses no acknowledged write and half-writes nothing."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

import prodmatch  # noqa: E402
from prodmatch.registry.store import SQLITE_FILE  # noqa: E402
from prodmatch.registry.vectors import STATE_FILE  # noqa: E402

HERE = Path(__file__).parent
BATCH = 5
CLIENTS = 4


def start(folder: Path, port: int) -> subprocess.Popen[bytes]:
    src = Path(prodmatch.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(HERE)])}
    server = subprocess.Popen(
        [sys.executable, str(HERE / "registry_server.py"), str(folder), str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(server.stderr.read().decode() if server.stderr else "exited")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("the server did not become ready")


def writer(port: int, client: int, acknowledged: list[list[str]], sent: list[list[str]]) -> None:
    """Batches of new listings, one after another, until the server is gone."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        for batch in range(10_000):
            ids = [f"c{client}-b{batch}-{n}" for n in range(BATCH)]
            words = f"brand{client} model{batch} item"
            body = {
                "listings": [
                    {"platform": "shop", "id": i, "attributes": {"title": f"{words} {n}"}}
                    for n, i in enumerate(ids)
                ]
            }
            sent.append(ids)
            try:
                response = http.put("/listings", json=body)
            except httpx.HTTPError:
                return
            if response.status_code != 200:
                return
            acknowledged.append(ids)


def test_sigkill_mid_stream_loses_no_acknowledged_write(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    folder = tmp_path / "registry"
    server = start(folder, port)
    acknowledged: list[list[str]] = []
    sent: list[list[str]] = []
    threads = [
        threading.Thread(target=writer, args=(port, c, acknowledged, sent)) for c in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    while len(acknowledged) < 20:  # well into the stream
        time.sleep(0.05)
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=30)
    for thread in threads:
        thread.join(timeout=60)
    assert len(sent) > len(acknowledged) >= 20

    server = start(folder, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:

            def stored(listing_id: str) -> bool:
                return http.get(f"/listings/shop/{listing_id}").status_code == 200

            for ids in acknowledged:
                assert all(stored(i) for i in ids)
            for ids in sent:  # a batch is whole or absent, never half
                assert len({stored(i) for i in ids}) == 1
            health = http.get("/health").json()
            assert health["indexed"] == health["listings"] >= 20 * BATCH
            events = http.get("/events", params={"limit": 10_000}).json()["events"]
            joins = [e for e in events if e["kind"] == "join"]
            assert len(joins) == health["listings"]  # one join a listing, no orphan event
            assert {e["kind"] for e in events} <= {"join", "merge"}
    finally:
        server.send_signal(signal.SIGTERM)  # graceful: the index is saved on the way out
        # uvicorn finishes what is in flight, then ends with the signal it was sent
        assert server.wait(timeout=60) in (0, -signal.SIGTERM)
    state = json.loads((folder / STATE_FILE).read_text())
    with sqlite3.connect(folder / SQLITE_FILE) as db:
        assert state["vseq"] == int(
            db.execute("SELECT value FROM meta WHERE key = 'vseq'").fetchone()[0]
        )
