"""The contrastive steps of the small heads (projection, fusion), written once.

Both heads train on frozen inputs with the same two supervised losses; they differ only in
what a listing is (a vector, or a row of text and photo vectors) and how the head turns it
into an embedding (with photos hidden at random for the fusion head). So a builder takes:

- ``handles_of(side, ids)``: a tensor with one entry per listing (its vector, or its row);
- ``embed_for(head, epoch)``: the function from a batch of those entries to embeddings for
  one epoch (set up once per epoch, e.g. its photo-dropout generator).

and returns the steps of an epoch: the loss of each batch, given the head and the epoch.
Batches are a pure function of (seed, epoch), as everywhere in training.

- SupCon: cluster-whole batches of listings from both catalogs (training clusters only);
  a batch without a positive pair has nothing to learn from and is skipped.
- InfoNCE: batches of positive pairs against the batch; each anchor's labelled non-matches
  are hard negatives, and pairs or negatives of one cluster are masked, not pushed apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import pandas as pd
import torch
from torch import Tensor

from prodmatch.train.clusters import ClusterBatchSampler, Clusters, PairBatches, SideName
from prodmatch.train.losses import info_nce_loss, supcon_loss

__all__ = ["EmbedFor", "HandlesOf", "Steps", "infonce_steps", "supcon_steps"]

M = TypeVar("M")
Steps = Callable[[M, int], Iterator[Tensor]]
EmbedFor = Callable[[M, int], Callable[[Tensor], Tensor]]
HandlesOf = Callable[[SideName, list[str]], Tensor]


def supcon_steps(
    clusters: Clusters,
    handles_of: HandlesOf,
    embed_for: EmbedFor[M],
    *,
    batch_size: int,
    seed: int,
    temperature: float,
) -> Steps[M]:
    """SupCon over cluster-whole batches of the clustered listings (left ones first)."""
    sides, ids = clusters.sides()
    n_left = sides.count("left")  # keys hold all left listings first
    parts = [("left", ids[:n_left]), ("right", ids[n_left:])]
    handles = torch.cat([handles_of(side, part) for side, part in parts if part])  # type: ignore[arg-type]
    labels = torch.as_tensor(clusters.labels)
    sampler = ClusterBatchSampler(clusters.labels, batch_size, seed=seed)

    def steps(head: M, epoch: int) -> Iterator[Tensor]:
        embed = embed_for(head, epoch)
        for batch in sampler.batches(epoch):
            index = torch.as_tensor(batch)
            batch_labels = labels[index]
            if len(torch.unique(batch_labels)) == len(batch):
                continue  # no positive pair in this batch: nothing to learn
            yield supcon_loss(embed(handles[index]), batch_labels, temperature=temperature)

    return steps


def infonce_steps(
    clusters: Clusters,
    train: pd.DataFrame,
    handles_of: HandlesOf,
    embed_for: EmbedFor[M],
    *,
    batch_size: int,
    seed: int,
    temperature: float,
) -> Steps[M]:
    """InfoNCE over batches of the training positives, with their anchors' hard negatives."""
    plan = PairBatches.build(train, clusters)
    anchors = handles_of("left", list(plan.positives["left_id"].astype(str)))
    positives = handles_of("right", list(plan.positives["right_id"].astype(str)))
    negatives = handles_of("right", list(plan.negatives["right_id"].astype(str)))
    labels = torch.as_tensor(plan.labels)
    negative_labels = torch.as_tensor(plan.negative_labels)

    def steps(head: M, epoch: int) -> Iterator[Tensor]:
        embed = embed_for(head, epoch)
        for batch, hard_rows in plan.batches(seed, epoch, batch_size):
            index, hard = torch.as_tensor(batch), torch.as_tensor(hard_rows)
            yield info_nce_loss(
                embed(anchors[index]),
                embed(positives[index]),
                temperature=temperature,
                hard_negatives=embed(negatives[hard]) if len(hard) else None,
                labels=labels[index],
                negative_labels=negative_labels[hard] if len(hard) else None,
            )

    return steps
