"""The layer cache on tiny BERT and MPNet models: the same embeddings as the full forward
pass, no gradient below the cache, each listing's lower layers run once."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from prodmatch.errors import ProdmatchError
from prodmatch.train.layer_cache import CACHE_FILE, LayerCache, freeze_lower_layers

TEXTS = [
    "apple iphone 12 64gb black",
    "sony bravia 55 inch 4k tv kd-55x80j",
    "a much longer listing title with many more words in it and a model number xz-300 "
    "that makes it the longest of the batch by far",
    "canon pixma mg3620",
]


def _tiny(folder: Path, source: Path, kind: str) -> Any:
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, MPNetConfig, MPNetModel

    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(source / name, folder / name)
    torch.manual_seed(0)
    sizes = {"hidden_size": 32, "num_hidden_layers": 3, "num_attention_heads": 2}
    if kind == "bert":
        BertModel(BertConfig(vocab_size=30522, intermediate_size=64, **sizes)).save_pretrained(
            folder
        )
    else:
        MPNetModel(MPNetConfig(vocab_size=30527, intermediate_size=64, **sizes)).save_pretrained(
            folder
        )
    return SentenceTransformer(str(folder), device="cpu")


@pytest.fixture(scope="module", params=["bert", "mpnet"])
def model(request: pytest.FixtureRequest, tiny_model: Path, tmp_path_factory: Any) -> Any:
    """A 3-layer, 32-wide encoder of each layout the cache supports."""
    return _tiny(tmp_path_factory.mktemp(request.param), tiny_model, request.param)


def _full(model: Any, texts: list[str]) -> torch.Tensor:
    out: torch.Tensor = model(model.preprocess(texts))["sentence_embedding"]
    return out


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_cached_and_full_forward_passes_agree(model: Any, layers: int) -> None:
    model.eval()
    cache = LayerCache(model, layers, TEXTS)
    with torch.no_grad():
        full = _full(model, TEXTS)
        cached = cache.embed(model, TEXTS)
        # another order and batch: padding to another width changes nothing
        reordered = cache.embed(model, [TEXTS[3], TEXTS[0]])
    assert torch.allclose(cached, full, atol=1e-5)
    assert torch.allclose(reordered, full[[3, 0]], atol=1e-5)
    assert not torch.allclose(full[0], full[1], atol=1e-3)  # the texts do differ


def test_each_listing_runs_the_lower_layers_once(model: Any) -> None:
    model.eval()
    cache = LayerCache(model, 2, TEXTS)
    rows = []
    lowest = model[0].auto_model.encoder.layer[0]
    handle = lowest.register_forward_pre_hook(
        lambda _m, args, kwargs: rows.append(len(args[0] if args else kwargs["hidden_states"])),
        with_kwargs=True,
    )
    try:
        with torch.no_grad():
            for _epoch in range(3):
                cache.embed(model, TEXTS[:2])
                cache.embed(model, TEXTS)
    finally:
        handle.remove()
    assert cache.computed == len(TEXTS) and cache.filled.all()
    assert sum(rows) == len(TEXTS)  # 2 listings, then the 2 others, then nothing


def test_a_text_outside_the_cache_is_computed_and_not_stored(model: Any) -> None:
    model.eval()
    cache = LayerCache(model, 2, TEXTS[:2])
    view = "iphone 12 black apple"  # e.g. an augmented view
    with torch.no_grad():
        got = cache.embed(model, [TEXTS[0], view])
        full = _full(model, [TEXTS[0], view])
    assert torch.allclose(got, full, atol=1e-5)
    assert cache.computed == 1 and view not in cache.index


def test_frozen_layers_get_no_gradient_and_the_top_does(model: Any) -> None:
    freeze_lower_layers(model, 2)
    model.train()
    try:
        cache = LayerCache(model, 2, TEXTS)
        model.zero_grad()
        cache.embed(model, TEXTS).pow(2).sum().backward()
        transformer = model[0].auto_model
        below = [*transformer.embeddings.parameters(), *transformer.encoder.layer[:2].parameters()]
        assert all(p.grad is None for p in below)
        assert all(p.grad is not None for p in transformer.encoder.layer[2].parameters())
        assert any(p.grad.abs().sum() > 0 for p in transformer.encoder.layer[2].parameters())
        # the swap is undone: the model is whole again
        assert len(transformer.encoder.layer) == 3
        assert type(transformer.embeddings).__name__.endswith("Embeddings")
    finally:
        for p in model.parameters():
            p.requires_grad = True
            p.grad = None


def test_a_large_cache_goes_to_a_memory_mapped_file(model: Any, tmp_path: Path) -> None:
    model.eval()
    cache = LayerCache(model, 1, TEXTS, folder=tmp_path, memory_limit=0)
    assert cache.on_disk and (tmp_path / CACHE_FILE).is_file()
    with torch.no_grad():
        assert torch.allclose(cache.embed(model, TEXTS), _full(model, TEXTS), atol=1e-5)
    assert not LayerCache(model, 1, TEXTS, folder=tmp_path).on_disk  # small: in memory


def test_layer_counts_out_of_range_are_refused(model: Any) -> None:
    with pytest.raises(ProdmatchError, match="1 to 3"):
        LayerCache(model, 4, TEXTS)
    with pytest.raises(ProdmatchError, match="0 to 3"):
        freeze_lower_layers(model, 5)
