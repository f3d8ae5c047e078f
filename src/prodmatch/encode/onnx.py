"""Fast CPU encoding: the encoder exported to ONNX and run by ONNX Runtime, fp32 or int8.

PyTorch stays the reference; the ONNX graphs are derived from the same weights and checked
against it. Measured on this project's 2-core machine (see BENCHMARKS.md), dynamically
quantised int8 with per-channel scales is several times faster than sentence-transformers
while keeping cosine agreement above 0.99; per-tensor int8 was too lossy (cosine 0.91).

Exported graphs are cached beside the embeddings, keyed by the model's fingerprint, so the
export (tens of seconds) happens once per model.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import threading
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from prodmatch.encode.cache import default_cache_dir
from prodmatch.encode.models import model_fingerprint, offline
from prodmatch.errors import ProdmatchError
from prodmatch.io import atomic_path

Engine = Literal["torch", "onnx", "onnx-int8"]
OUTPUT_NAME = "sentence_embedding"  # the name "embedding" broke ORT's optimiser here
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def onnx_path(model_dir: Path, engine: Engine, cache_dir: Path | None = None) -> Path:
    """Where the graph for `engine` lives: inside the model folder if it ships one, else in
    the cache."""
    name = "model_int8.onnx" if engine == "onnx-int8" else "model.onnx"
    shipped = model_dir / "onnx" / name
    if shipped.is_file():
        return shipped
    folder = (cache_dir or default_cache_dir()) / "onnx" / model_fingerprint(model_dir)
    return folder / name


def ensure_onnx(model_dir: Path, engine: Engine, cache_dir: Path | None = None) -> Path:
    """The ONNX graph for `engine`, exporting (and quantising) it first if needed."""
    target = onnx_path(model_dir, engine, cache_dir)
    if target.is_file():
        return target
    refused = target.with_suffix(".refused")
    if refused.is_file():
        raise ProdmatchError(refused.read_text(encoding="utf-8").strip())
    fp32 = onnx_path(model_dir, "onnx", cache_dir)
    if not fp32.is_file():
        export_onnx(model_dir, fp32)
    if engine == "onnx-int8":
        quantize_int8(fp32, target)
        agreement = graph_agreement(model_dir, fp32, target)
        if agreement < INT8_AGREEMENT:
            target.unlink()
            message = (
                f"{model_dir.name}: int8 quantisation breaks this model (cosine {agreement:.2f} "
                "to its float32 graph on sample titles); use --engine onnx or torch"
            )
            refused.write_text(message + "\n", encoding="utf-8")  # not quantised again
            raise ProdmatchError(message)
    return target


# An int8 graph whose vectors agree less than this (mean cosine) with its float32 graph is
# refused, not used. MiniLM's agrees at 0.99; all-mpnet-base-v2's came out at 0.03, unrelated
# vectors (bench/results/encode_speed.json).
INT8_AGREEMENT = 0.9
_PROBES = (
    "Sony Bravia KD-55X85J 55 inch 4K Ultra HD Smart LED TV",
    "Canon PIXMA PG-245 black ink cartridge",
    "Apple MacBook Air 13.3 M1 8GB 256GB space grey",
    "Bose QuietComfort 45 wireless noise cancelling headphones white",
    "Logitech MX Master 3 advanced wireless mouse",
    "Samsung 970 EVO Plus 1TB NVMe M.2 internal SSD MZ-V7S1T0BW",
)


def graph_agreement(model_dir: Path, first: Path, second: Path) -> float:
    """Mean cosine between two graphs' vectors of a few product titles."""
    import onnxruntime as ort
    from transformers import AutoTokenizer

    tokens = AutoTokenizer.from_pretrained(str(model_dir))(list(_PROBES), padding=True)
    vectors = []
    for graph in (first, second):
        session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}
        feed = {n: np.asarray(tokens[n], dtype=np.int64) for n in _INPUTS if n in names}
        if "token_type_ids" in names and "token_type_ids" not in feed:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        vectors.append(np.asarray(session.run([OUTPUT_NAME], feed)[0], dtype=np.float64))
    return float(np.einsum("ij,ij->i", *vectors).mean())


def export_onnx(model_dir: Path, target: Path) -> Path:
    """Export transformer + pooling + normalisation as one graph with dynamic batch and length.

    The legacy exporter with eager attention gives a graph whose attention ONNX Runtime fuses.
    """
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    offline()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # "Loading weights"
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    # MPNet (the accurate preset) has no token types: its graph takes the other two inputs
    inputs = [n for n in _INPUTS if n in inspect.signature(model.forward).parameters]
    wrapper = _pooled_module(model, _pooling(model_dir), inputs)
    sample = {name: torch.ones(2, 8, dtype=torch.long) for name in inputs}
    target.parent.mkdir(parents=True, exist_ok=True)
    axes = {name: {0: "batch", 1: "sequence"} for name in inputs}
    with atomic_path(target) as tmp, torch.inference_mode(), warnings.catch_warnings():
        # Both are about inputs this graph never gets: the padding branch is traced for
        # dynamic shapes (and checked against torch in the tests), no index is negative.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)  # type: ignore[attr-defined]
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
        torch.onnx.export(
            wrapper,
            tuple(sample[n] for n in inputs),
            str(tmp),
            input_names=inputs,
            output_names=[OUTPUT_NAME],
            dynamic_axes={**axes, OUTPUT_NAME: {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    return target


def quantize_int8(source: Path, target: Path) -> Path:
    """Dynamic int8 quantisation with per-channel weight scales (per-tensor was too lossy)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with atomic_path(target) as tmp, _without_log(_PREPROCESS_ADVICE):
        quantize_dynamic(
            str(source),
            str(tmp),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    return target


# onnxruntime logs this advice on the root logger at every quantisation. The graph is
# quantised as exported; its agreement with torch is what is checked (tests, BENCHMARKS.md).
_PREPROCESS_ADVICE = "Please consider to run pre-processing before quantization"


@contextmanager
def _without_log(prefix: str) -> Iterator[None]:
    """Drop root-logger records starting with `prefix` while the block runs (no others)."""

    def keep(record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith(prefix)

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


class OnnxEncoder:
    """Runs an exported graph on one stream per core.

    A chunk is tokenised once, sorted by token count and cut into batches padded only to their
    own longest text; the batches then run on a pool of single-threaded streams sharing one
    session. Measured here on 2 cores with int8, two single-threaded streams encode ~1,000
    titles/s against ~760 for one stream on two threads: a small transformer leaves much of an
    intra-op thread pool waiting at each of its many small operators.
    """

    def __init__(
        self,
        model_dir: Path,
        engine: Engine,
        max_seq_length: int,
        cache_dir: Path | None = None,
        *,
        batch_size: int = 64,
        streams: int | None = None,
    ) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        offline()
        path = ensure_onnx(model_dir, engine, cache_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        self.pad_id = int(self.tokenizer.pad_token_id or 0)
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.streams = streams or os.cpu_count() or 1
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.dim = int(self.session.get_outputs()[0].shape[-1])
        self._pool = ThreadPoolExecutor(self.streams) if self.streams > 1 else None
        # ONNX Runtime runs a session from several threads at once. A fast tokenizer whose
        # truncation settings change under another thread fails ("Already borrowed"); ours
        # never change, but tokenizing is cheap, so it takes turns anyway
        self._tokenizing = threading.Lock()

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Normalised vectors for `texts`, in their order; callable from several threads."""
        with self._tokenizing:
            ids = self.tokenizer(
                list(texts), truncation=True, max_length=self.max_seq_length, padding=False
            )["input_ids"]
        lengths = np.fromiter((len(row) for row in ids), dtype=np.int64, count=len(ids))
        order = np.argsort(lengths, kind="stable")
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

        def run(batch: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
            return self._run([ids[i] for i in batch])

        parts = list(self._pool.map(run, batches)) if self._pool else [run(b) for b in batches]
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for batch, vectors in zip(batches, parts, strict=True):
            out[batch] = vectors
        return out

    def _run(self, rows: list[list[int]]) -> npt.NDArray[np.float32]:
        """One batch, padded to its longest row."""
        width = max((len(row) for row in rows), default=0)
        input_ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros_like(input_ids)
        for n, row in enumerate(rows):
            input_ids[n, : len(row)] = row
            mask[n, : len(row)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        out = self.session.run([OUTPUT_NAME], feed)[0]
        return np.asarray(out, dtype=np.float32)


def _pooling(model_dir: Path) -> str:
    """The pooling the sentence-transformers folder declares (mean when it declares none)."""
    config = model_dir / "1_Pooling" / "config.json"
    if not config.is_file():
        return "mean"
    settings = json.loads(config.read_text(encoding="utf-8"))
    if settings.get("pooling_mode_cls_token"):
        return "cls"
    if settings.get("pooling_mode_mean_tokens", True):
        return "mean"
    raise ProdmatchError(f"{config}: only mean or CLS pooling can be exported to ONNX")


def _pooled_module(model: Any, pooling: str, inputs: list[str]) -> Any:
    """The transformer with pooling and normalisation, taking `inputs` in their order."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: Any) -> Any:
            named = dict(zip(inputs, tensors, strict=True))
            attention_mask = named["attention_mask"]
            hidden = self.model(**named).last_hidden_state
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    return Pooled()
