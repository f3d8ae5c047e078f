from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prodmatch.errors import ProdmatchError
from prodmatch.retrieve import DenseIndex
from prodmatch.retrieve.dense import (
    TARGET_RECALL,
    exact_top_k,
    index_recall,
    probes_for,
    train_size,
)


def _clustered(n: int, dim: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(1, n // 20), dim))
    points = centres[rng.integers(0, len(centres), n)] + 0.3 * rng.normal(size=(n, dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return _clustered(12_000), _clustered(400, seed=1)


def test_exact_top_k_over_chunks_equals_flat_search(data: tuple[np.ndarray, np.ndarray]) -> None:
    indexed, queries = data
    chunks = (indexed[i : i + 5000] for i in range(0, len(indexed), 5000))
    scores, idx = exact_top_k(queries, chunks, 10)
    flat_scores, flat_idx = DenseIndex(indexed, "flat").search(queries, 10)
    np.testing.assert_array_equal(idx, flat_idx)
    np.testing.assert_allclose(scores, flat_scores, rtol=1e-5)


@pytest.mark.parametrize("kind", ["ivf", "ivfpq"])
def test_calibrated_ivf_reaches_the_target_recall(
    data: tuple[np.ndarray, np.ndarray], kind: str
) -> None:
    indexed, queries = data
    exact = exact_top_k(queries, [indexed], 10)[1]
    index = DenseIndex.from_chunks(
        (indexed[i : i + 3000] for i in range(0, len(indexed), 3000)),
        size=len(indexed),
        dim=indexed.shape[1],
        kind=kind,  # type: ignore[arg-type]
        train=indexed[:: max(1, len(indexed) // train_size(kind, len(indexed)))],  # type: ignore[arg-type]
        lookup=lambda rows: indexed[rows],
    )
    assert index.nprobe == 16
    reached = index.calibrate(queries[:200], exact[:200], 10)
    assert reached >= TARGET_RECALL
    held = index_recall(index.search(queries[200:], 10)[1], exact[200:])
    assert held > 0.97


def test_a_saved_index_reopens_with_the_same_answers(
    data: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    indexed, queries = data
    index = DenseIndex(indexed, "ivf")
    index.nprobe = 3
    before = index.search(queries, 5)
    index.save(tmp_path / "right.faiss")
    reopened = DenseIndex.load(tmp_path / "right.faiss")
    assert (reopened.kind, reopened.size, reopened.nprobe) == ("ivf", len(indexed), 3)
    after = reopened.search(queries, 5)
    np.testing.assert_array_equal(after[1], before[1])
    np.testing.assert_array_equal(after[0], before[0])


def test_a_damaged_index_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.faiss").write_bytes(b"not faiss")
    (tmp_path / "x.faiss.json").write_text('{"format": "prodmatch-index/1", "kind": "ivf"}')
    with pytest.raises(ProdmatchError, match="cannot open the saved index"):
        DenseIndex.load(tmp_path / "x.faiss")


def test_auto_is_exact_for_small_and_ivf_for_large_catalogs() -> None:
    from prodmatch.retrieve.dense import choose_kind

    assert choose_kind("auto", 1000) == "flat"
    assert choose_kind("auto", 1_000_000) == "ivf"
    assert train_size("auto", 1000) == 0
    assert 0 < train_size("auto", 1_000_000) <= 1_000_000


def test_an_index_counts_as_saved_only_once_its_sidecar_is_written(
    data: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    path = tmp_path / "right.faiss"
    assert not DenseIndex.saved(path)
    DenseIndex(data[0][:500], "flat").save(path)
    assert DenseIndex.saved(path)
    (tmp_path / "right.faiss.json").unlink()  # killed between the two writes
    assert not DenseIndex.saved(path)


def test_an_in_memory_ivf_calibrates_on_the_queries_not_its_own_vectors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Linking two catalogs, nprobe is tuned with the other side's vectors, as in the
    streamed path: indexed vectors as queries find themselves and overstate recall."""
    from prodmatch.retrieve import retrieve_candidates

    indexed, queries = _clustered(4000), _clustered(300, seed=2)
    tuned_with: list[np.ndarray] = []
    calibrate = DenseIndex.calibrate

    def spy(self: DenseIndex, sample: np.ndarray, exact: np.ndarray, k: int) -> float:
        tuned_with.append(sample.copy())
        return calibrate(self, sample, exact, k)

    monkeypatch.setattr(DenseIndex, "calibrate", spy)
    index = DenseIndex(indexed, "ivf", queries=queries, k=10)
    exact = exact_top_k(queries, [indexed], 10)[1]
    assert index_recall(index.search(queries, 10)[1], exact) >= TARGET_RECALL
    retrieve_candidates(queries, indexed, None, None, k=5, index_kind="ivf")
    assert len(tuned_with) == 3  # the index above, then each direction
    indexed_rows = {row.tobytes() for row in indexed}
    for sample, searched in zip(tuned_with, [queries, queries, indexed], strict=True):
        in_index = indexed_rows if searched is queries else {r.tobytes() for r in queries}
        assert not any(row.tobytes() in in_index for row in sample)
        assert {row.tobytes() for row in sample} <= {row.tobytes() for row in searched}


def test_probes_double_from_the_first_until_the_target_and_stop_at_every_cell() -> None:
    asked: list[int] = []

    def recall_at(probes: int) -> float:
        asked.append(probes)
        return {8: 0.9, 16: 0.95, 32: 0.995}.get(probes, 0.5)

    assert probes_for(recall_at, 100) == (32, 0.995)
    assert asked == [8, 16, 32]  # the last call is with the number returned
    asked.clear()
    assert probes_for(recall_at, 20) == (20, 0.5)  # never reached: every cell, the last asked
    assert asked == [8, 16, 20]
