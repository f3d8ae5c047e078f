from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prodmatch.encode import TextEncoder
from prodmatch.encode.onnx import OnnxEncoder, ensure_onnx, onnx_path

TEXTS = ["sony turntable pslx350h", "bose acoustimass speaker am53bk black", "x " * 40, ""]


@pytest.fixture(scope="module")
def reference(tiny_model: Path) -> np.ndarray:
    return TextEncoder(tiny_model, cache=False).encode(TEXTS, progress=False)


def test_fp32_graph_agrees_with_torch(
    tiny_model: Path, tmp_path: Path, reference: np.ndarray
) -> None:
    vectors = OnnxEncoder(tiny_model, "onnx", 128, cache_dir=tmp_path).encode(TEXTS)
    cosine = np.einsum("ij,ij->i", vectors, reference)
    assert cosine.min() > 0.9999


def test_int8_graph_loads_and_stays_close(
    tiny_model: Path, tmp_path: Path, reference: np.ndarray
) -> None:
    encoder = OnnxEncoder(tiny_model, "onnx-int8", 128, cache_dir=tmp_path)
    vectors = encoder.encode(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)
    assert np.einsum("ij,ij->i", vectors, reference).mean() > 0.95
    assert (
        onnx_path(tiny_model, "onnx-int8", tmp_path).stat().st_size
        < onnx_path(tiny_model, "onnx", tmp_path).stat().st_size
    )


def test_export_happens_once(tiny_model: Path, tmp_path: Path) -> None:
    first = ensure_onnx(tiny_model, "onnx", tmp_path)
    stamp = first.stat().st_mtime_ns
    assert ensure_onnx(tiny_model, "onnx", tmp_path).stat().st_mtime_ns == stamp


def test_text_encoder_engines_agree_and_cache_apart(
    tiny_model: Path, tmp_path: Path, reference: np.ndarray
) -> None:
    onnx = TextEncoder(tiny_model, engine="onnx", cache_dir=tmp_path, batch_size=2)
    vectors = onnx.encode(TEXTS, progress=False)
    assert np.einsum("ij,ij->i", vectors, reference).min() > 0.9999
    assert onnx.key != TextEncoder(tiny_model, cache=False).key
    assert onnx.key != TextEncoder(tiny_model, cache=False, engine="onnx-int8").key
    again = TextEncoder(tiny_model, engine="onnx", cache_dir=tmp_path)
    np.testing.assert_array_equal(again.encode(TEXTS, progress=False), vectors)
    assert again._onnx is None  # served from the cache


def test_parallel_streams_give_the_same_vectors_in_order(tiny_model: Path, tmp_path: Path) -> None:
    texts = [f"listing {i} " + "word " * (i % 7) for i in range(23)]
    one = OnnxEncoder(tiny_model, "onnx", 64, tmp_path, batch_size=4, streams=1).encode(texts)
    two = OnnxEncoder(tiny_model, "onnx", 64, tmp_path, batch_size=4, streams=2).encode(texts)
    np.testing.assert_allclose(two, one, atol=1e-6)
    alone = OnnxEncoder(tiny_model, "onnx", 64, tmp_path, batch_size=1, streams=1)
    np.testing.assert_allclose(alone.encode(texts[5:6])[0], one[5], atol=1e-5)


def test_a_first_export_and_quantisation_is_quiet(
    tiny_model: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A first --engine onnx-int8 run printed a torch tracing warning, an aten::index
    warning, onnxruntime's quantisation advice and a weights-loading bar: none of them."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ensure_onnx(tiny_model, "onnx-int8", tmp_path)
    shown = [f"{w.category.__name__}: {w.message}" for w in caught]
    assert not [w for w in shown if "TracerWarning" in w or "aten::index" in w], shown
    assert "Loading weights" not in capfd.readouterr().err
    assert not [r for r in caplog.records if "pre-processing" in r.getMessage()]
    assert onnx_path(tiny_model, "onnx-int8", tmp_path).is_file()


@pytest.mark.slow
def test_int8_graph_of_the_real_minilm_agrees_with_torch(tmp_path: Path) -> None:
    """The 0.99 mean cosine the README states for --engine onnx-int8, on the packaged
    all-MiniLM-L6-v2 and 300 listings serialised as matching serialises them."""
    from prodmatch.data import catalog_from_frame
    from prodmatch.encode import resolve_model_path
    from prodmatch.linker import Linker
    from prodmatch.synth import generate_catalogs

    world = generate_catalogs(200, seed=11)
    linker = Linker(progress=False)
    sides = [linker.side(catalog_from_frame(frame)) for frame in (world.left, world.right)]
    texts = [text for side in sides for text in side.texts][:300]
    assert len(texts) == 300 and len(set(texts)) > 250
    model = resolve_model_path()
    torch_vectors = TextEncoder(model, cache=False).encode(texts, progress=False)
    int8 = OnnxEncoder(model, "onnx-int8", 128, cache_dir=tmp_path).encode(texts)
    cosine = np.einsum("ij,ij->i", int8, torch_vectors)
    assert cosine.mean() >= 0.99, cosine.mean()
    assert cosine.min() >= 0.95, cosine.min()


def test_a_model_without_token_types_exports_too(tiny_model: Path, tmp_path: Path) -> None:
    """MPNet (the accurate preset's all-mpnet-base-v2) takes no token_type_ids: its graph has
    the other two inputs and agrees with torch."""
    import shutil

    import torch
    from transformers import BertConfig, MPNetConfig, MPNetModel

    folder = tmp_path / "tiny-mpnet"
    shutil.copytree(
        tiny_model, folder, ignore=shutil.ignore_patterns("*.safetensors", "config.json")
    )
    torch.manual_seed(0)
    shape = BertConfig.from_pretrained(tiny_model).to_dict()  # the tiny BERT's sizes
    sizes = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
    MPNetModel(MPNetConfig(**{k: shape[k] for k in sizes})).save_pretrained(folder)
    encoder = OnnxEncoder(folder, "onnx", 128, cache_dir=tmp_path)
    assert encoder.inputs == {"input_ids", "attention_mask"}
    reference = TextEncoder(folder, cache=False).encode(TEXTS, progress=False)
    assert np.einsum("ij,ij->i", encoder.encode(TEXTS), reference).min() > 0.9999


def test_an_int8_graph_that_disagrees_is_refused_once_and_for_all(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prodmatch.encode import onnx
    from prodmatch.errors import ProdmatchError

    fp32 = ensure_onnx(tiny_model, "onnx", tmp_path)
    assert onnx.graph_agreement(tiny_model, fp32, fp32) == pytest.approx(1.0)
    monkeypatch.setattr(onnx, "graph_agreement", lambda *_: 0.03)  # as all-mpnet-base-v2's
    with pytest.raises(ProdmatchError, match=r"int8 quantisation breaks this model \(cosine 0.03"):
        ensure_onnx(tiny_model, "onnx-int8", tmp_path)
    assert not onnx_path(tiny_model, "onnx-int8", tmp_path).exists()  # never used later

    def no_second_try(*_: object) -> None:
        raise AssertionError("quantised again")

    monkeypatch.setattr(onnx, "quantize_int8", no_second_try)
    with pytest.raises(ProdmatchError, match="use --engine onnx or torch"):
        TextEncoder(tiny_model, engine="onnx-int8", cache_dir=tmp_path).encode(
            TEXTS, progress=False
        )


def test_threads_encode_side_by_side(tiny_model: Path, tmp_path: Path) -> None:
    """The registry lets requests encode at once on the onnx engines (no turn-taking): the
    vectors are those of one caller at a time."""
    from concurrent.futures import ThreadPoolExecutor

    encoder = TextEncoder(tiny_model, engine="onnx", cache=False, cache_dir=tmp_path)
    assert encoder.thread_safe
    assert not TextEncoder(tiny_model, cache=False).thread_safe  # torch takes turns
    texts = [[f"listing {i} {j} " + "word " * (j % 5) for j in range(20)] for i in range(8)]
    alone = [encoder.encode(batch, progress=False) for batch in texts]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda batch: encoder.encode(batch, progress=False), texts))
    for one, other in zip(alone, together, strict=True):
        np.testing.assert_allclose(other, one, atol=1e-6)
