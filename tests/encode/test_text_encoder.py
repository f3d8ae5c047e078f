from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prodmatch.encode import EmbeddingCache, TextEncoder, resolve_model_path
from prodmatch.errors import ProdmatchError

TEXTS = ["sony turntable pslx350h", "bose speaker am53bk", "a much longer text " * 20, ""]


def test_vectors_are_normalised_and_deterministic(tiny_model: Path, tmp_path: Path) -> None:
    encoder = TextEncoder(tiny_model, cache=False)
    first = encoder.encode(TEXTS, progress=False)
    assert first.shape == (4, 32)
    assert first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(encoder.encode(TEXTS, progress=False), first, atol=1e-6)


def test_length_sorting_does_not_reorder_the_output(tiny_model: Path) -> None:
    encoder = TextEncoder(tiny_model, cache=False, batch_size=2)
    together = encoder.encode(TEXTS, progress=False)
    one_by_one = np.vstack([encoder.encode([t], progress=False) for t in TEXTS])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def test_second_run_reads_the_cache_without_loading_the_model(
    tiny_model: Path, tmp_path: Path
) -> None:
    first = TextEncoder(tiny_model, cache_dir=tmp_path).encode(TEXTS, progress=False)
    again = TextEncoder(tiny_model, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.encode(TEXTS, progress=False), first)
    assert again._model is None  # nothing needed encoding


def test_cache_returns_missing_positions(tmp_path: Path) -> None:
    cache = EmbeddingCache("k", tmp_path)
    cache.put_many(["a"], np.ones((1, 3), dtype=np.float32))
    vectors, missing = cache.get_many(["a", "b", "a"], 3)
    assert missing == [1]
    assert vectors[0].tolist() == [1.0, 1.0, 1.0]
    assert cache.dim == 3


def test_cache_serves_other_threads(tmp_path: Path) -> None:
    """A server opens its encoder in one thread and encodes in request threads."""
    from concurrent.futures import ThreadPoolExecutor

    cache = EmbeddingCache("m", tmp_path)
    cache.put_many(["a"], np.ones((1, 3), dtype=np.float32))
    with ThreadPoolExecutor(2) as pool:
        found = list(pool.map(lambda text: cache.get_many([text, "b"], 3), ["a", "a"]))
        pool.submit(cache.put_many, ["b"], np.zeros((1, 3), dtype=np.float32)).result()
    assert all(missing == [1] for _, missing in found)
    assert cache.get_many(["b"], 3)[1] == [] and cache.dim == 3


def test_cache_key_follows_the_weights(tiny_model: Path, tmp_path: Path) -> None:
    import shutil

    import torch
    from transformers import BertModel

    copy = tmp_path / "retrained"
    shutil.copytree(tiny_model, copy)
    model = BertModel.from_pretrained(copy)
    with torch.no_grad():
        model.embeddings.word_embeddings.weight.add_(1.0)
    model.save_pretrained(copy)
    assert TextEncoder(copy, cache=False).key != TextEncoder(tiny_model, cache=False).key


def test_unknown_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProdmatchError, match="neither a local folder"):
        resolve_model_path(tmp_path / "nope")


def test_default_model_resolves_offline() -> None:
    assert (resolve_model_path() / "config.json").is_file()


def test_progress_counts_characters_and_reaches_its_total(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bar's total is the characters to encode, each chunk advances it by its own, and
    long texts come in small chunks, so the first advance is not the whole long tail."""
    from contextlib import contextmanager

    from prodmatch.encode import encoder as encoder_module

    seen: dict[str, object] = {"advances": []}

    @contextmanager
    def recording_bar(description: str, total: int, **_: object):  # type: ignore[no-untyped-def]
        seen["description"], seen["total"] = description, total
        yield seen["advances"].append  # type: ignore[attr-defined]

    monkeypatch.setattr(encoder_module, "progress_bar", recording_bar)
    monkeypatch.setattr(encoder_module, "_CHUNK_CHARS", 100)
    texts = ["x" * 300, "y" * 250, "short one", "short two", "tiny"]
    encoder = TextEncoder(tiny_model, cache=False)
    vectors = encoder.encode(texts, progress=True, description="encoding shop")
    advances = seen["advances"]
    assert seen["description"] == "encoding shop (5 texts)"
    assert seen["total"] == sum(len(t) for t in texts) == sum(advances)  # type: ignore[arg-type]
    assert advances == [300, 250, 9 + 9 + 4]  # longest first, one long text a chunk
    reference = TextEncoder(tiny_model, cache=False).encode(texts, progress=False)
    np.testing.assert_allclose(vectors, reference, atol=1e-5)
