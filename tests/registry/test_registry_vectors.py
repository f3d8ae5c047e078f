"""The registry's FAISS index: exact while small, approximate (IVF) once large, the same
cache of the database either way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from registry_fakes import EXPECTED_EVENTS, event_log, item, run_script

from prodmatch.registry import vectors
from prodmatch.registry.vectors import VectorIndex, cells_for
from prodmatch.retrieve.dense import n_lists


def _unit(rows: int, dim: int, seed: int) -> np.ndarray:
    found = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return found / np.linalg.norm(found, axis=1, keepdims=True)


@pytest.fixture
def small_approximate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Approximate from 100 vectors on, over 4 cells: every cell probed (FIRST_PROBES is 8),
    so the approximate index must find exactly what the exact one finds."""
    monkeypatch.setattr(vectors, "APPROXIMATE_FROM", 100)
    monkeypatch.setattr(vectors, "MAX_CELLS", 4)


def test_cells_are_prodmatch_matchs_from_the_threshold_up_to_the_cap() -> None:
    assert cells_for(vectors.APPROXIMATE_FROM - 1) == 0
    assert cells_for(vectors.APPROXIMATE_FROM) == n_lists(vectors.APPROXIMATE_FROM) > 0
    assert cells_for(10_000_000) == vectors.MAX_CELLS


def test_a_large_index_turns_approximate_and_finds_what_the_exact_one_finds(
    small_approximate: None, tmp_path: Path
) -> None:
    dim, pks = 16, np.arange(1, 301, dtype=np.int64)
    exact = VectorIndex(dim)
    exact.put(pks, _unit(300, dim, 0))
    assert exact.outgrown() and exact.cells == 0
    approximate = VectorIndex.built(dim, *exact.snapshot(), vseq=7)
    assert approximate.cells == 4 and approximate.vseq == 7 and not approximate.outgrown()
    queries = _unit(20, dim, 1)
    assert np.array_equal(approximate.search(queries, 5)[1], exact.search(queries, 5)[1])
    for index in (exact, approximate):  # removing, replacing and reading back
        index.remove([3, 4])
        index.put(np.array([5]), np.eye(dim, dtype=np.float32)[:1])
    assert sorted(approximate.pks().tolist()) == sorted(exact.pks().tolist())
    assert 3 not in approximate.pks().tolist() and len(approximate) == 298
    assert approximate.vectors([5, 9]).tolist() == exact.vectors([5, 9]).tolist()
    assert np.array_equal(approximate.search(queries, 5)[1], exact.search(queries, 5)[1])
    approximate.save(tmp_path)
    loaded = VectorIndex._load(tmp_path, dim)
    assert loaded is not None and loaded.cells == 4 and loaded.vseq == 7
    assert np.array_equal(loaded.search(queries, 5)[1], exact.search(queries, 5)[1])
    loaded.remove([5])  # the pk table came back with it
    assert loaded.vectors([9]).tolist() == exact.vectors([9]).tolist()


def test_a_growing_registry_swaps_in_an_approximate_index_and_keeps_its_products(
    open_registry: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Past the threshold mid-script the index is rebuilt approximate; with every cell
    probed, the script's events are the hand-written ones, and a reopened registry loads
    the approximate index from its file."""
    monkeypatch.setattr(vectors, "APPROXIMATE_FROM", 3)
    monkeypatch.setattr(vectors, "MAX_CELLS", 2)
    folder = tmp_path / "registry"
    registry = open_registry(folder)
    run_script(registry)
    assert event_log(registry.events()) == EXPECTED_EVENTS
    assert registry.index.cells == 1  # a handful of listings train one cell
    assert sorted(registry.index.pks().tolist()) == sorted(registry.store.recent_pks(100))
    registry.close()
    reopened = open_registry(folder)
    assert reopened.index.cells == 1
    found = reopened.match([item("x", "q", "nikon coolpix p100 black")], k=1)[0]
    assert (found[0]["platform"], found[0]["id"]) == ("amazon", "a2")


def test_faiss_runs_on_one_thread_and_the_callers_setting_is_restored(
    small_approximate: None,
) -> None:
    """Searches and changes run on `FAISS_THREADS`: two OpenMP threads on a busy 2-core
    machine made adding one vector 5-30 times slower."""
    import faiss

    index = VectorIndex.built(8, np.arange(1, 201, dtype=np.int64), _unit(200, 8, 0), 1, 5)
    seen: list[int] = []
    real = index.index

    class Spy:
        def __getattr__(self, name: str) -> Any:
            found = getattr(real, name)
            if not callable(found):
                return found

            def call(*args: Any) -> Any:
                seen.append(faiss.omp_get_max_threads())
                return found(*args)

            return call

    index.index = Spy()
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(2)
    try:
        index.add(np.array([500], dtype=np.int64), _unit(1, 8, 1))
        index.search(_unit(1, 8, 2), 3)
        index.vectors([500])
        index.remove([500])
        assert faiss.omp_get_max_threads() == 2
    finally:
        faiss.omp_set_num_threads(before)
    assert seen == [vectors.FAISS_THREADS] * 4
    assert vectors.FAISS_THREADS == 1
    assert real.ntotal == 200
