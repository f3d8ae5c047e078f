"""Review fixtures: two small catalog files, and the review server run as a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

LEFT_ROWS = [
    ("a1", "Sony Turntable PSLX350H belt drive", "149"),
    ("a2", "Bose Acoustimass 5 Series III speaker AM53BK", "399"),
    ("a3", "Samsung 55 inch 4K TV UN55TU8000", "499"),
    ("a4", "Canon PowerShot SX620 HS camera black", "279"),
    ("a5", "Garmin Nuvi 350 GPS navigator", "199"),
    ("a6", "Apple iPod nano 8GB silver MA477LL", "149"),
]
RIGHT_ROWS = [
    ("b1", "canon powershot sx620hs 20mp digital camera blk", "275"),
    ("b2", "samsung un55tu8000 55in crystal uhd smart tv", "499"),
    ("b3", "sony pslx350h stereo turntable", "150"),
    ("b4", "sony pslx250h turntable", "99"),
    ("b5", "garmin nuvi 350 gps", "189"),
    ("b6", "apple ipod nano 4gb silver ma426ll", "129"),
]


def _write(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["id,title,price", *(",".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def catalog_files(tmp_path: Path) -> tuple[Path, Path]:
    return _write(tmp_path / "left.csv", LEFT_ROWS), _write(tmp_path / "right.csv", RIGHT_ROWS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Server = Callable[..., tuple[subprocess.Popen[bytes], str]]


def _start(
    command: list[str], ready: str, log_path: Path, started: list[subprocess.Popen[bytes]]
) -> subprocess.Popen[bytes]:
    """Start a server process and wait until `ready` (a URL) answers 200."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        command, stdout=log_path.open("wb"), stderr=subprocess.STDOUT, env=env
    )
    started.append(process)
    deadline = time.monotonic() + 180  # imports torch: slow on a busy machine
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(log_path.read_text())
        try:
            if httpx.get(ready, timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"the server did not start within 180 s: {log_path.read_text()}")


@pytest.fixture
def started_servers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Server processes a test starts, ended after it."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def review_server(
    catalog_files: tuple[Path, Path],
    tiny_model: Path,
    tmp_path: Path,
    started_servers: list[subprocess.Popen[bytes]],
) -> Server:
    """Starts `prodmatch review` (as a user would) and returns (process, base URL)."""

    def start(labels: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
        port = _free_port()
        left, right = catalog_files
        command = [
            sys.executable, "-m", "prodmatch.cli", "review", str(left), str(right),
            "--labels", str(labels), "--model", str(tiny_model), "--port", str(port), *extra,
        ]  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        log = tmp_path / f"server-{port}.log"
        return _start(command, url + "/api/state", log, started_servers), url

    return start


@pytest.fixture
def registry_server(
    tiny_model: Path, tmp_path: Path, started_servers: list[subprocess.Popen[bytes]]
) -> tuple[str, str]:
    """`prodmatch serve` over a registry holding both catalogs (platforms `left` and
    `right`): its base URL and a write key."""
    from prodmatch.registry import NewListing, Registry
    from prodmatch.registry.auth import add_key
    from prodmatch.settings import MatchSettings

    folder = tmp_path / "registry"
    with Registry(folder, MatchSettings(model=str(tiny_model))) as registry:
        for platform, rows in (("left", LEFT_ROWS), ("right", RIGHT_ROWS)):
            registry.upsert([NewListing(platform, i, {"title": t, "price": p}) for i, t, p in rows])
        key = add_key(registry, "write")
    port = _free_port()
    command = [
        sys.executable, "-m", "prodmatch.cli", "serve", "--registry", str(folder),
        "--port", str(port),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _start(command, url + "/health", tmp_path / f"serve-{port}.log", started_servers)
    return url, key
