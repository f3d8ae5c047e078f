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


@pytest.fixture
def review_server(
    catalog_files: tuple[Path, Path], tiny_model: Path, tmp_path: Path
) -> Iterator[Server]:
    """Starts `prodmatch review` (as a user would) and returns (process, base URL); every
    process started is ended after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(labels: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
        port = _free_port()
        left, right = catalog_files
        command = [
            sys.executable, "-m", "prodmatch.cli", "review", str(left), str(right),
            "--labels", str(labels), "--model", str(tiny_model), "--port", str(port), *extra,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        log = (tmp_path / f"server-{port}.log").open("wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180  # imports torch: slow on a busy machine
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError((tmp_path / f"server-{port}.log").read_text())
            try:
                if httpx.get(url + "/api/state", timeout=1).status_code == 200:
                    return process, url
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("the review server did not start within 180 s")

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()
