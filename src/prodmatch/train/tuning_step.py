"""The loss of one fine-tuning batch when a layer cache or a negative queue is on.

Without either (the default), :mod:`prodmatch.train.fine_tune` computes its loss as it always
has. With ``freeze_layers`` the listings' lower layers come from a
:class:`~prodmatch.train.layer_cache.LayerCache`; with ``queue_size`` a momentum copy of the
encoder and projection embeds each batch a second time, the batch is contrasted with the
queue of earlier such embeddings, and then joins it (MoCo's order: update the copy, embed the
keys, compute the loss against the queue as it was, enqueue). The momentum copy and the queue
are modules, saved in every checkpoint, so a resumed run continues with the same ones; the
layer cache is rebuilt after a restart (it is a pure function of the frozen weights).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from prodmatch.matcher.head import ProjectionHead
from prodmatch.train.layer_cache import LayerCache
from prodmatch.train.losses import info_nce_loss, info_nce_queue_loss, supcon_queue_loss
from prodmatch.train.queue import EmbeddingQueue, momentum_copy, momentum_update

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from prodmatch.train.fine_tune import Batch, FineTuneConfig

__all__ = ["TuningStep"]


class TuningStep:
    """``loss(batch)`` for the run's model and projection, with the cache and queue that
    `config` asks for; `texts` are the listings the cache holds, `folder` the run's folder
    (for a cache too large for memory)."""

    def __init__(
        self,
        model: SentenceTransformer,
        projection: ProjectionHead,
        config: FineTuneConfig,
        texts: Sequence[str],
        folder: Path,
    ) -> None:
        self.model, self.projection, self.config = model, projection, config
        self.cache = (
            LayerCache(model, config.freeze_layers, texts, folder) if config.freeze_layers else None
        )
        self.queue: EmbeddingQueue | None = None
        if config.queue_size:
            self.key_model = momentum_copy(model)
            self.key_projection = momentum_copy(projection)
            self.queue = EmbeddingQueue(config.queue_size, projection.out_dim)

    def modules(self) -> dict[str, nn.Module]:
        """What a checkpoint must hold besides the encoder and projection."""
        if self.queue is None:
            return {}
        return {
            "key_encoder": self.key_model,
            "key_projection": self.key_projection,
            "queue": self.queue,
        }

    def embed(
        self, model: SentenceTransformer, projection: nn.Module, texts: Sequence[str]
    ) -> Tensor:
        """`projection` of `model`'s embeddings (the trained pair or the momentum copy)."""
        if self.cache is not None:
            sentence = self.cache.embed(model, texts)
        else:
            sentence = model(model.preprocess(list(texts)))["sentence_embedding"]
        out: Tensor = projection(sentence)
        return out

    def loss(self, batch: Batch) -> Tensor:
        anchors = self.embed(self.model, self.projection, batch.texts)
        if batch.labels is None:  # selfsup: no clusters, so no queue (the config refuses one)
            assert batch.positives is not None
            positives = self.embed(self.model, self.projection, batch.positives)
            return info_nce_loss(anchors, positives, temperature=self.config.temperature)
        labels = torch.tensor(batch.labels)
        keys, key_labels = self._keys(batch, labels)
        queue, queue_labels = self._queued(anchors)
        if self.config.loss == "supcon":
            loss = supcon_queue_loss(
                anchors, labels, queue, queue_labels, temperature=self.config.temperature
            )
        else:
            assert batch.positives is not None
            negatives = batch.negatives
            loss = info_nce_queue_loss(
                anchors,
                self.embed(self.model, self.projection, batch.positives),
                labels,
                queue,
                queue_labels,
                temperature=self.config.temperature,
                hard_negatives=self.embed(self.model, self.projection, negatives)
                if negatives
                else None,
                negative_labels=torch.tensor(batch.negative_labels)
                if batch.negative_labels
                else None,
            )
        if self.queue is not None and keys is not None:
            self.queue.push(keys, key_labels)
        return loss

    def _keys(self, batch: Batch, labels: Tensor) -> tuple[Tensor | None, Tensor]:
        """The momentum copy, moved one step towards the trained weights, embeds the batch's
        listings (both sides of each pair for InfoNCE) for the queue."""
        if self.queue is None:
            return None, labels
        momentum_update(self.key_model, self.model, self.config.momentum)
        momentum_update(self.key_projection, self.projection, self.config.momentum)
        texts = list(batch.texts) + list(batch.positives or [])
        with torch.no_grad():
            keys = self.embed(self.key_model, self.key_projection, texts)
        return keys, labels.repeat(len(texts) // len(batch.texts))

    def _queued(self, like: Tensor) -> tuple[Tensor, Tensor]:
        """The queue's contents, or an empty one (the loss is then exactly the batch's)."""
        if self.queue is None:
            return like.new_zeros(0, like.shape[1]), torch.zeros(0, dtype=torch.long)
        return self.queue.contents()
