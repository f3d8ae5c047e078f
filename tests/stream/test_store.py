from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from prodmatch.stream import SideStore


def _chunk(start: int, n: int) -> tuple[pd.DataFrame, np.ndarray, sp.csr_matrix]:
    frame = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(start, start + n)],
            "plain": [f"item {i}" for i in range(start, start + n)],
            "codes": ["" for _ in range(n)],
        }
    )
    vectors = np.random.default_rng(start).normal(size=(n, 8)).astype(np.float32)
    return frame, vectors, sp.csr_matrix(vectors > 1.0, dtype=np.float32)


def test_chunks_read_back_by_row(tmp_path: Path) -> None:
    store = SideStore(tmp_path)
    chunks = [_chunk(0, 5), _chunk(5, 3)]
    for frame, vectors, tfidf in chunks:
        store.append(frame, vectors, tfidf)
    store.finish()
    reopened = SideStore(tmp_path)
    assert reopened.progress.complete and reopened.progress.rows == 8
    expected = np.vstack([c[1] for c in chunks]).astype(np.float16)
    np.testing.assert_array_equal(reopened.vectors(), expected)
    assert reopened.column("id") == [f"p{i}" for i in range(8)]
    assert list(reopened.chunk_rows()) == [(0, 0, 5), (1, 5, 8)]
    assert (reopened.all_tfidf() != sp.vstack([c[2] for c in chunks])).nnz == 0
    blocks = list(reopened.iter_vectors(3))
    assert [len(b) for b in blocks] == [3, 3, 2] and blocks[0].dtype == np.float32


def test_vectors_a_killed_run_wrote_past_its_last_chunk_are_cut_off(tmp_path: Path) -> None:
    store = SideStore(tmp_path)
    store.append(*_chunk(0, 4))
    with store.vector_path.open("ab") as handle:  # a chunk half written, never counted
        handle.write(b"\x01" * 40)
    resumed = SideStore(tmp_path)
    assert resumed.progress.chunks == 1
    frame, vectors, tfidf = _chunk(4, 2)
    resumed.append(frame, vectors, tfidf)
    assert resumed.vector_path.stat().st_size == 6 * 8 * 2
    np.testing.assert_array_equal(resumed.vectors()[4:], vectors.astype(np.float16))
