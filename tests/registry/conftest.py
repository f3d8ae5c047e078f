"""Registry fixtures: registries over temporary folders with a small deterministic encoder."""

from __future__ import annotations

import contextlib
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
