"""Cached lower layers: run the frozen bottom of the encoder once per listing, not per step.

With ``--freeze-layers L`` the embeddings and the lower L transformer layers never change, so
their output for a listing is the same at every epoch. Computing it once and keeping the token
states (a catalog holds a few thousand listings of at most a few dozen tokens: tens to
hundreds of MB) makes every later step run only the top layers, the pooling and the head, and
the backward pass stops at the cache as it stopped at the frozen layers before.

How it runs the top alone without re-implementing the architecture: for the length of a call,
the transformer's embedding module is replaced by one that returns the given states and its
layer list by the top layers; the model's own forward then builds the attention mask (and
MPNet its relative position bias) from the shapes and runs as usual. This works for encoders
whose forward is ``embeddings -> encoder.layer[...]`` (BERT and MiniLM, RoBERTa, MPNet).

The cache holds the **un-augmented text of each listing**, computed in eval mode: the lower
layers add no dropout (the top layers still do in training). A text it does not hold, such
as an augmented view of ``--loss selfsup``, which changes each epoch, has its lower states
computed at the step, in the same way, and not stored: a cache of the unaugmented text could
not stand for it, and storing views that never come back would only fill memory. So
selfsup with frozen layers trains the same model with or without the cache, just without the
saving; the supervised losses read listings as they are and get the full saving.

Storage is one float32 matrix of all token states (rows of listing i at offsets[i] ..
offsets[i + 1]), in memory, or a numpy memory-mapped file in the run's folder when it would
take more than ``memory_limit`` bytes. Rows are filled the first time a listing is asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from prodmatch.errors import ProdmatchError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["CACHE_FILE", "LayerCache", "freeze_lower_layers", "transformer_of"]

CACHE_FILE = "layer-cache.npy"
_CHUNK = 64  # listings per forward pass while filling


def transformer_of(model: SentenceTransformer) -> Any:
    """The Hugging Face model inside a sentence-transformers model, checked to have the
    ``embeddings`` + ``encoder.layer`` layout that freezing and caching rely on."""
    transformer = model[0].auto_model
    if not (hasattr(transformer, "embeddings") and hasattr(transformer, "encoder")):
        raise ProdmatchError(
            f"--freeze-layers needs a BERT-like encoder (embeddings, then encoder layers); "
            f"{type(transformer).__name__} is not one"
        )
    return transformer


def freeze_lower_layers(model: SentenceTransformer, layers: int) -> None:
    """Stop gradients at the embeddings and the lower `layers` transformer layers."""
    transformer = transformer_of(model)
    total = len(transformer.encoder.layer)
    if not 0 <= layers <= total:
        raise ProdmatchError(f"--freeze-layers must be 0 to {total} for this model, got {layers}")
    for parameter in transformer.embeddings.parameters():
        parameter.requires_grad = False
    for layer in transformer.encoder.layer[:layers]:
        for parameter in layer.parameters():
            parameter.requires_grad = False


class _GivenStates(nn.Module):
    """Stands in for the embedding module: returns the states it was given."""

    def __init__(self, states: Tensor) -> None:
        super().__init__()
        self.states = states

    def forward(self, *args: Any, **kwargs: Any) -> Tensor:
        return self.states


@contextmanager
def _swapped(transformer: Any, layers: nn.ModuleList, states: Tensor | None) -> Iterator[None]:
    """Run `transformer` with only `layers`, starting from `states` (instead of its
    embeddings) when given; restored whatever happens."""
    kept_layers, kept_embeddings = transformer.encoder.layer, transformer.embeddings
    transformer.encoder.layer = layers
    if states is not None:
        transformer.embeddings = _GivenStates(states)
    try:
        yield
    finally:
        transformer.encoder.layer = kept_layers
        transformer.embeddings = kept_embeddings


class LayerCache:
    """Token states after the embeddings and the lower `layers` layers, for each of `texts`.

    ``embed(model, texts)`` gives sentence embeddings equal (to float rounding) to
    ``model(model.preprocess(texts))["sentence_embedding"]`` in eval mode, running only the
    top layers of `model`, which may be the trained model or a momentum copy of it (their
    frozen layers are the same). ``computed`` counts the listings whose states were stored.
    """

    def __init__(
        self,
        model: SentenceTransformer,
        layers: int,
        texts: Sequence[str],
        folder: Path | None = None,
        memory_limit: int = 1 << 30,
    ) -> None:
        transformer = transformer_of(model)
        if not 1 <= layers <= len(transformer.encoder.layer):
            raise ProdmatchError(
                f"a layer cache needs 1 to {len(transformer.encoder.layer)} layers, got {layers}"
            )
        self.model = model
        self.layers = layers
        self.index = {text: i for i, text in enumerate(dict.fromkeys(texts))}
        self.tokens = self._tokenize(list(self.index))
        lengths = np.array([len(t["input_ids"]) for t in self.tokens], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])
        shape = (int(self.offsets[-1]), int(transformer.config.hidden_size))
        self.states: np.ndarray[Any, np.dtype[np.float32]]
        if folder is not None and shape[0] * shape[1] * 4 > memory_limit:
            folder.mkdir(parents=True, exist_ok=True)
            self.states = np.lib.format.open_memmap(
                folder / CACHE_FILE, mode="w+", dtype=np.float32, shape=shape
            )
        else:
            self.states = np.empty(shape, dtype=np.float32)
        self.filled = np.zeros(len(self.index), dtype=bool)
        self.computed = 0

    @property
    def on_disk(self) -> bool:
        return isinstance(self.states, np.memmap)

    def embed(self, model: SentenceTransformer, texts: Sequence[str]) -> Tensor:
        """Sentence embeddings of `texts` by `model`'s top layers on the cached states."""
        known = [self.index.get(text) for text in texts]
        self._fill(sorted({i for i in known if i is not None and not self.filled[i]}))
        fresh = [text for text, i in zip(texts, known, strict=True) if i is None]
        fresh_tokens = self._tokenize(fresh)
        fresh_states = iter(self._lower_states(fresh_tokens)) if fresh else iter(())
        fresh_iter = iter(fresh_tokens)
        tokens: list[dict[str, Tensor]] = []
        states: list[Tensor] = []
        for i in known:
            if i is None:
                tokens.append(next(fresh_iter))
                states.append(next(fresh_states))
            else:
                tokens.append(self.tokens[i])
                rows = self.states[self.offsets[i] : self.offsets[i + 1]]
                states.append(torch.from_numpy(np.array(rows)))
        features = self._pad(tokens)
        padded = torch.zeros(len(states), features["input_ids"].shape[1], states[0].shape[1])
        for row, state in enumerate(states):
            padded[row, : len(state)] = state
        transformer = transformer_of(model)
        with _swapped(transformer, transformer.encoder.layer[self.layers :], padded):
            out: Tensor = model(features)["sentence_embedding"]
        return out

    # -- filling -------------------------------------------------------------------------------

    def _fill(self, missing: list[int]) -> None:
        """Compute and store the states of the listings `missing`, in length-sorted chunks
        (padding to the longest of similar lengths wastes least)."""
        missing.sort(key=lambda i: len(self.tokens[i]["input_ids"]))
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            for i, state in zip(
                chunk, self._lower_states([self.tokens[i] for i in chunk]), strict=True
            ):
                self.states[self.offsets[i] : self.offsets[i + 1]] = state.numpy()
                self.filled[i] = True
            self.computed += len(chunk)

    def _lower_states(self, tokens: list[dict[str, Tensor]]) -> list[Tensor]:
        """Each listing's token states after the lower layers (eval mode, no gradient)."""
        transformer = transformer_of(self.model)
        lower = [transformer.embeddings, *transformer.encoder.layer[: self.layers]]
        modes = [module.training for module in lower]
        features = self._pad(tokens)
        inputs = {k: v for k, v in features.items() if isinstance(v, Tensor)}
        try:
            for module in lower:
                module.eval()
            with (
                torch.no_grad(),
                _swapped(transformer, transformer.encoder.layer[: self.layers], None),
            ):
                hidden: Tensor = transformer(**inputs).last_hidden_state
        finally:
            for module, mode in zip(lower, modes, strict=True):
                module.train(mode)
        return [hidden[row, : len(t["input_ids"])].clone() for row, t in enumerate(tokens)]

    # -- tokens --------------------------------------------------------------------------------

    def _tokenize(self, texts: list[str]) -> list[dict[str, Tensor]]:
        """Each text's tokenizer outputs, unpadded: what ``model.preprocess`` gives it."""
        out: list[dict[str, Tensor]] = []
        for start in range(0, len(texts), 256):
            features = self.model.preprocess(texts[start : start + 256])
            mask = features["attention_mask"].bool()
            for row in range(len(mask)):
                out.append(
                    {
                        k: v[row][mask[row]]
                        for k, v in features.items()
                        if isinstance(v, Tensor) and v.ndim == 2
                    }
                )
        return out

    def _pad(self, tokens: list[dict[str, Tensor]]) -> dict[str, Any]:
        """Right-padded batch features, as ``model.preprocess`` would give for these texts."""
        width = max(len(t["input_ids"]) for t in tokens)
        pad_id = self.model.tokenizer.pad_token_id or 0
        features: dict[str, Any] = {"modality": "text"}
        for key in tokens[0]:
            fill = pad_id if key == "input_ids" else 0
            batch = torch.full((len(tokens), width), fill, dtype=tokens[0][key].dtype)
            for row, t in enumerate(tokens):
                batch[row, : len(t[key])] = t[key]
            features[key] = batch
        return features
