"""Registry fixtures: registries over temporary folders with a small deterministic encoder."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from registry_fakes import WordEncoder

from prodmatch.registry import Registry


@pytest.fixture
def open_registry(tmp_path: Path) -> Any:
    """A function opening a registry over a folder (default: one per test) with the test encoder."""
    opened: list[Registry] = []

    def make(folder: Path | None = None, database: str | None = None) -> Registry:
        registry = Registry(
            folder or tmp_path / "registry",
            database=database,
            encoder=WordEncoder(),  # type: ignore[arg-type]
        )
        opened.append(registry)
        return registry

    yield make
    for registry in opened:
        with contextlib.suppress(Exception):
            registry.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 for this test session: its base URL.

    Started with the Debian package's initdb and pg_ctl (`.ci/run` installs `postgresql`),
    as the `postgres` user when running as root (PostgreSQL refuses root); skipped only when
    the server binaries are absent.
    """
    binaries = _postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="prodmatch-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL as")
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = folder / "data"

    def run(*command: str) -> None:
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "prodmatch", "-N")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = str(folder / "server.log")
    run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start")
    try:
        yield f"postgresql://prodmatch@127.0.0.1:{port}"
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database on the session's server."""
    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found is not None and shutil.which("initdb") is not None:
        return Path(os.path.realpath(found)).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
