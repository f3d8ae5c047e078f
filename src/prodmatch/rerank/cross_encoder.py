"""A cross-encoder: one transformer reads both listings of a pair together.

A bi-encoder (the matcher's encoder) turns each listing into a vector on its own, so two
listings that differ only in "2007" against "2008" or "mac" against "win" can land close
together. A cross-encoder attends across the two texts token by token, the way Ditto does,
and sees such differences; the price is one forward pass per *pair*, so prodmatch runs it only
on the candidates that retrieval and the pair classifier left in doubt (see
:mod:`prodmatch.rerank.reranker`).

The model is a transformer (any BERT-like folder, by default the matcher's fine-tuned
encoder) with a linear layer over the mean of its token states, giving a match logit. Saved as
a folder: the transformer and tokenizer as Hugging Face writes them (safetensors), the linear
layer in ``head.safetensors`` and the settings in ``cross.json``. No pickle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn

from prodmatch.device import autocast, resolve_device
from prodmatch.encode.models import offline
from prodmatch.errors import ProdmatchError, first_line
from prodmatch.progress import progress_bar

__all__ = ["CROSS_FILE", "CrossEncoder"]

CROSS_FILE = "cross.json"
CROSS_FORMAT = "prodmatch-cross-encoder/1"
HEAD_FILE = "head.safetensors"


class CrossEncoder(nn.Module):
    """Match logit of a pair of texts read together; ``max_seq_length`` tokens for the pair."""

    def __init__(self, transformer: Any, tokenizer: Any, max_seq_length: int = 128) -> None:
        super().__init__()
        self.transformer = transformer
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.out = nn.Linear(int(transformer.config.hidden_size), 1)

    @property
    def device(self) -> str:
        """Where the weights are: "cpu" or "cuda"."""
        return str(self.out.weight.device.type)

    def on(self, device: str) -> CrossEncoder:
        """This model moved to `device` (auto, cpu, cuda; `prodmatch.device`)."""
        self.to(resolve_device(device))
        return self

    @classmethod
    def from_encoder(
        cls, path: str | Path, max_seq_length: int = 128, *, safetensors_only: bool = False
    ) -> CrossEncoder:
        """A fresh cross-encoder on the transformer of an encoder folder (the output layer new)."""
        transformer, tokenizer = _load_transformer(Path(path), safetensors_only)
        return cls(transformer, tokenizer, max_seq_length)

    @classmethod
    def load(cls, folder: str | Path) -> CrossEncoder:
        """Read a folder written by :meth:`save` (safetensors only); any problem is one line."""
        from prodmatch.io import load_weights, read_format_json

        folder = Path(folder)
        config = read_format_json(folder / CROSS_FILE, CROSS_FORMAT, "cross-encoder")
        try:
            length = int(config["max_seq_length"])
        except (KeyError, TypeError, ValueError) as error:
            raise ProdmatchError(f"{folder / CROSS_FILE}: bad max_seq_length: {error}") from None
        model = cls.from_encoder(folder, length, safetensors_only=True)
        load_weights(model.out, folder / HEAD_FILE, "cross-encoder")
        model.eval()
        return model

    def save(self, folder: str | Path) -> Path:
        """Write the folder (the caller makes the whole matcher folder appear atomically)."""
        from prodmatch.io import save_weights

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.transformer.save_pretrained(str(folder), safe_serialization=True)
        self.tokenizer.save_pretrained(str(folder))
        save_weights(self.out, folder / HEAD_FILE)
        config = {"format": CROSS_FORMAT, "max_seq_length": self.max_seq_length}
        (folder / CROSS_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return folder

    def tokenize(self, left: Sequence[str], right: Sequence[str]) -> dict[str, Tensor]:
        """Both texts as one sequence; the longer is cut first when the pair is too long."""
        batch: dict[str, Tensor] = self.tokenizer(
            list(left),
            list(right),
            truncation="longest_first",
            max_length=self.max_seq_length,
            padding=True,
            return_tensors="pt",
        )
        return batch

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        batch = {name: value.to(self.out.weight.device) for name, value in batch.items()}
        states = self.transformer(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        logits: Tensor = self.out(pooled).squeeze(-1)
        return logits

    def logits(
        self,
        left: Sequence[str],
        right: Sequence[str],
        *,
        batch_size: int = 64,
        progress: bool = False,
    ) -> npt.NDArray[np.float64]:
        """Match logits of the pairs (left[i], right[i]), batched by length for speed."""
        if len(left) != len(right):
            raise ValueError("left and right must have the same length")
        order = np.argsort([len(a) + len(b) for a, b in zip(left, right, strict=True)])
        out = np.empty(len(left), dtype=np.float64)
        was_training = self.training
        self.eval()
        with (
            torch.inference_mode(),
            autocast(self.device),
            progress_bar(
                "cross-encoding pairs", len(left), unit="pairs", enabled=progress
            ) as advance,
        ):
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                batch = self.tokenize([left[i] for i in rows], [right[i] for i in rows])
                out[rows] = self(batch).double().cpu().numpy()
                advance(len(rows))
        self.train(was_training)
        return out


def _load_transformer(path: Path, safetensors_only: bool = False) -> tuple[Any, Any]:
    """The Hugging Face transformer and tokenizer in `path` (a sentence-transformers folder
    keeps them at its top level); `safetensors_only` refuses pickled weights (a matcher's)."""
    offline()
    from safetensors import SafetensorError
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        transformer = AutoModel.from_pretrained(
            str(path), use_safetensors=True if safetensors_only else None
        )
    except (OSError, ValueError, RuntimeError, SafetensorError) as error:
        weights = path / "model.safetensors"  # the file a damaged-header error is about
        where = weights if isinstance(error, SafetensorError) and weights.is_file() else path
        raise ProdmatchError(
            f"{where}: cannot load a transformer from this folder: {first_line(error)}"
        ) from None
    return transformer, tokenizer
