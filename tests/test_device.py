"""Device selection: auto takes CUDA only when torch sees it, cuda without it is one line, and
the CPU path (the tested one) is what it was."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from prodmatch.device import autocast, mixed_precision, resolve_device
from prodmatch.errors import ProdmatchError


def _cuda(monkeypatch: pytest.MonkeyPatch, available: bool, bf16: bool = True) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *_, **__: bf16)


def test_auto_is_the_cpu_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    _cuda(monkeypatch, False)
    assert resolve_device("auto") == "cpu"
    assert resolve_device("cpu") == "cpu"


def test_cuda_without_cuda_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _cuda(monkeypatch, False)
    with pytest.raises(ProdmatchError, match="device cuda was asked for, but torch sees no CUDA"):
        resolve_device("cuda")
    with pytest.raises(ProdmatchError, match="device must be auto, cpu or cuda; got 'tpu'"):
        resolve_device("tpu")


def test_auto_and_cuda_take_a_gpu_torch_sees(monkeypatch: pytest.MonkeyPatch) -> None:
    _cuda(monkeypatch, True)
    assert resolve_device("auto") == resolve_device("cuda") == "cuda"
    assert resolve_device("cpu") == "cpu"  # asked for, kept


def test_mixed_precision_only_on_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    _cuda(monkeypatch, True, bf16=True)
    assert mixed_precision("cpu") is None and mixed_precision("cpu", training=True) is None
    assert mixed_precision("cuda", training=True) == torch.bfloat16
    _cuda(monkeypatch, True, bf16=False)
    assert mixed_precision("cuda") == torch.float16
    assert mixed_precision("cuda", training=True) is None  # fp16 training would need scaling


def test_autocast_changes_nothing_on_the_cpu() -> None:
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    with autocast("cpu", training=True):
        inside = a @ b
    assert inside.dtype == torch.float32 and torch.equal(inside, a @ b)


def test_the_cpu_encoder_keeps_its_cache_key_and_a_gpu_one_caches_apart(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prodmatch.encode.encoder import TextEncoder

    _cuda(monkeypatch, False)
    default = TextEncoder(tiny_model, cache=False)
    cpu = TextEncoder(tiny_model, cache=False, device="cpu")
    assert default.device == cpu.device == "cpu" and default.key == cpu.key
    assert default.key.endswith("-128")  # the key vectors were cached under before devices
    _cuda(monkeypatch, True)
    gpu = TextEncoder(tiny_model, cache=False)  # not loaded: no GPU is touched
    assert gpu.device == "cuda" and gpu.key == f"{cpu.key}-cuda-bfloat16"
    onnx = TextEncoder(tiny_model, cache=False, engine="onnx-int8", device="cuda")
    assert onnx.device == "cpu"  # the onnx engines stay on the CPU


def test_the_cross_encoder_stays_on_the_cpu_and_scores_as_before(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prodmatch.rerank.cross_encoder import CrossEncoder

    _cuda(monkeypatch, False)
    torch.manual_seed(0)
    model = CrossEncoder.from_encoder(tiny_model, 32)
    before = model.logits(["red kettle"], ["kettle red"])
    assert model.on("auto").device == "cpu"
    assert model.logits(["red kettle"], ["kettle red"]).tolist() == before.tolist()
    with pytest.raises(ProdmatchError, match="no CUDA"):
        model.on("cuda")
