"""Product clusters from labelled training pairs, and batches that keep each cluster whole.

Contrastive training needs to know which listings show the same product. Labelled positive
pairs say so pairwise; their transitive closure (union-find) gives clusters, so that a product
listed twice on one platform and once on the other becomes one cluster of three.

Two rules keep this honest:

- Left and right ids live in separate namespaces ("L:" and "R:" keys): benchmark tables are
  often both numbered 0, 1, 2, ... and must not merge by accident.
- Only the training split is read. Joining listings through valid or test positives would
  leak their labels into training, and every score measured on them would be inflated.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from torch.utils.data import Sampler

from prodmatch.decide import connected_components
from prodmatch.errors import ProdmatchError

__all__ = [
    "LEFT_PREFIX",
    "PAIR_COLUMNS",
    "RIGHT_PREFIX",
    "ClusterBatchSampler",
    "Clusters",
    "PairBatches",
    "build_clusters",
    "check_pairs",
    "listing_key",
]

SideName = Literal["left", "right"]

LEFT_PREFIX = "L:"
RIGHT_PREFIX = "R:"
PAIR_COLUMNS = ("left_id", "right_id", "label")


def listing_key(side: SideName, listing_id: str) -> str:
    """The namespaced key of one listing: "L:<id>" or "R:<id>"."""
    return (LEFT_PREFIX if side == "left" else RIGHT_PREFIX) + str(listing_id)


def check_pairs(pairs: pd.DataFrame, name: str = "pairs") -> None:
    """Fail early, naming what is missing, on frames that are not labelled pairs."""
    missing = [c for c in PAIR_COLUMNS if c not in pairs.columns]
    if missing:
        hint = " (synthetic pairs: rename ltable_id/rtable_id)" if "ltable_id" in pairs else ""
        raise ProdmatchError(
            f"{name}: need columns {', '.join(PAIR_COLUMNS)}; missing {', '.join(missing)}{hint}"
        )
    bad = ~pairs["label"].isin([0, 1])
    if bad.any():
        raise ProdmatchError(
            f"{name}: labels must be 0 or 1, found {pairs['label'][bad].iloc[0]!r}"
        )


@dataclass(frozen=True, eq=False)
class Clusters:
    """A cluster label for every listing of the training split.

    ``keys`` are namespaced listing keys (see :func:`listing_key`), left listings first, each
    side in order of first appearance in the pairs; ``labels[i]`` is the cluster of
    ``keys[i]``, numbered by first appearance. Listings with no positive are singletons.
    """

    keys: list[str]
    labels: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) else 0

    @cached_property
    def _position(self) -> dict[str, int]:
        return {key: i for i, key in enumerate(self.keys)}

    def label(self, side: SideName, listing_id: str) -> int:
        """The cluster of one listing; KeyError if it is not in the training split."""
        return int(self.labels[self._position[listing_key(side, listing_id)]])

    def labels_of(self, side: SideName, ids: Sequence[str]) -> npt.NDArray[np.int64]:
        """Clusters of many listings of one side, in the order given."""
        try:
            return np.array([self.label(side, i) for i in ids], dtype=np.int64)
        except KeyError as error:
            raise ProdmatchError(
                f"{side} listing {error.args[0]!r} is not in the training split"
            ) from None

    def sides(self) -> tuple[list[SideName], list[str]]:
        """Each key split back into its side and its original id."""
        sides: list[SideName] = [
            "left" if k.startswith(LEFT_PREFIX) else "right" for k in self.keys
        ]
        return sides, [k[len(LEFT_PREFIX) :] for k in self.keys]


def build_clusters(train_pairs: pd.DataFrame) -> Clusters:
    """Clusters of the listings in ``train_pairs`` (columns left_id, right_id, label).

    Pass the training split only: whatever pairs are given decide the clusters. Every listing
    in them gets a label, also those that appear only in negative pairs (as singletons).
    """
    check_pairs(train_pairs, "train pairs")
    left = pd.unique(train_pairs["left_id"].astype(str))
    right = pd.unique(train_pairs["right_id"].astype(str))
    keys = [listing_key("left", i) for i in left] + [listing_key("right", i) for i in right]
    left_pos = pd.Index(left).get_indexer(pd.Index(train_pairs["left_id"].astype(str)))
    right_pos = pd.Index(right).get_indexer(pd.Index(train_pairs["right_id"].astype(str))) + len(
        left
    )
    positive = train_pairs["label"].to_numpy() == 1
    labels = connected_components(len(keys), left_pos[positive], right_pos[positive])
    return Clusters(keys=keys, labels=labels)


class ClusterBatchSampler(Sampler[list[int]]):
    """Batches of item positions in which every product cluster stays whole.

    SupCon learns only from positives that share a batch; random batches would split most
    clusters and leave nothing to pull together. Each epoch the clusters with two or more
    members are shuffled and packed whole, in turn, into batches of at most ``batch_size``;
    the room left over is filled with shuffled singletons, which then form batches of their
    own. Batch order is shuffled too. Every item appears exactly once per epoch.

    A cluster larger than ``batch_size`` cannot fit and is cut into consecutive parts.

    Each pass over the sampler is one epoch and the next pass reshuffles; epoch e always
    gives the same batches for the same seed (``set_epoch`` chooses it, as in PyTorch's
    DistributedSampler). Usable as ``DataLoader(dataset, batch_sampler=...)``.
    """

    def __init__(self, labels: npt.ArrayLike, batch_size: int, *, seed: int = 0) -> None:
        if batch_size < 2:
            raise ValueError(f"batch_size must be at least 2, got {batch_size}")
        self.labels = np.asarray(labels, dtype=np.int64)
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0
        order = np.argsort(self.labels, kind="stable")
        bounds = np.flatnonzero(np.diff(self.labels[order])) + 1
        self._clusters = np.split(order, bounds) if len(order) else []

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.batches(self.epoch)
        self.epoch += 1
        return iter(batches)

    def __len__(self) -> int:
        return len(self.batches(self.epoch))

    def batches(self, epoch: int) -> list[list[int]]:
        """The batches of one epoch, without moving the sampler to the next one."""
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self._clusters))
        groups = [self._clusters[i] for i in order if len(self._clusters[i]) > 1]
        singles = [int(self._clusters[i][0]) for i in order if len(self._clusters[i]) == 1]
        batches = self._pack(groups)
        for batch in batches:
            room = self.batch_size - len(batch)
            batch.extend(singles[:room])
            del singles[:room]
        size = self.batch_size
        batches.extend(singles[start : start + size] for start in range(0, len(singles), size))
        return [batches[i] for i in rng.permutation(len(batches))]

    def _pack(self, groups: list[npt.NDArray[np.int64]]) -> list[list[int]]:
        """Next-fit packing: a cluster goes into the open batch if it fits, else opens one."""
        batches: list[list[int]] = []
        current: list[int] = []
        for group in groups:
            for start in range(0, len(group), self.batch_size):
                part = group[start : start + self.batch_size].tolist()
                if len(current) + len(part) > self.batch_size:
                    batches.append(current)
                    current = []
                current.extend(part)
        if current:
            batches.append(current)
        return batches


@dataclass(frozen=True, eq=False)
class PairBatches:
    """Batches of positive pairs for InfoNCE, each with its anchors' labelled non-matches.

    ``positives`` and ``negatives`` are the label-1 and label-0 rows of the training pairs;
    ``labels`` (per positive) and ``negative_labels`` (per negative) are their clusters, which
    the loss uses to mask, rather than push apart, two listings of one product. Batches are a
    pure function of (seed, epoch), like :class:`ClusterBatchSampler`'s.
    """

    positives: pd.DataFrame
    negatives: pd.DataFrame
    labels: npt.NDArray[np.int64]
    negative_labels: npt.NDArray[np.int64]
    _anchor_code: npt.NDArray[np.int64]
    _negative_code: npt.NDArray[np.int64]
    _anchors: int

    @classmethod
    def build(cls, train: pd.DataFrame, clusters: Clusters) -> PairBatches:
        pos, neg = train[train["label"] == 1], train[train["label"] == 0]
        left_ids = pos["left_id"].astype(str)
        # Integer codes of the anchors' left ids, so a batch finds its negatives by indexing.
        anchor_ids = pd.Index(pd.unique(left_ids))
        return cls(
            positives=pos,
            negatives=neg,
            labels=clusters.labels_of("left", list(left_ids)),
            negative_labels=clusters.labels_of("right", list(neg["right_id"].astype(str))),
            _anchor_code=anchor_ids.get_indexer(pd.Index(left_ids)).astype(np.int64),
            _negative_code=anchor_ids.get_indexer(pd.Index(neg["left_id"].astype(str))).astype(
                np.int64
            ),
            _anchors=len(anchor_ids),
        )

    def batches(
        self, seed: int, epoch: int, batch_size: int
    ) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
        """(rows of positives, rows of negatives whose anchor is in the batch) per batch."""
        order = np.random.default_rng([seed, epoch]).permutation(len(self.positives))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            if len(batch) < 2:
                continue  # one pair has no in-batch negative
            in_batch = np.zeros(self._anchors + 1, dtype=bool)  # the extra slot is code -1
            in_batch[self._anchor_code[batch]] = True
            yield batch, np.flatnonzero(in_batch[self._negative_code])
