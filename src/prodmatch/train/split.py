"""Validation pairs when none are given, and pairs given twice.

A classifier's threshold and every "best epoch" are chosen on validation pairs; without them
``train`` used to train no classifier and still report success. :func:`split_validation`
holds out a share of the training pairs instead:

- by product cluster where it can: the clusters come from the labelled matches (union-find,
  as :func:`prodmatch.train.clusters.build_clusters`), each pair belongs to its left
  listing's cluster, and whole clusters go to one side, so the validation products are
  products training never saw as a match (a scored guess on them is a guess on new products,
  as at match time); non-matches of clusters with no match fill up the validation share;
- stratified by label: about `fraction` of the matches and of the non-matches each;
- seeded: the same pairs and seed give the same split.

With a single product cluster (or only two matches in all) whole clusters cannot be split and
the pairs are split at random within each label instead.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.errors import ProdmatchError
from prodmatch.train.clusters import build_clusters, check_pairs
from prodmatch.train.unseen import ValidSplit, seen_pairs, split_unseen

if TYPE_CHECKING:
    from prodmatch.data.catalog import Catalog

__all__ = [
    "VALID_FRACTION",
    "ValidationSplit",
    "overlapping_pairs",
    "split_validation",
    "validation_line",
    "validation_pairs",
]

VALID_FRACTION = 0.2  # the usual 80/20; DeepMatcher's splits hold out 20% (3:1:1)


@dataclass(frozen=True)
class ValidationSplit:
    """The split's description, as ``prodmatch.json`` records it and the log says it."""

    fraction: float
    seed: int
    by: str  # "product cluster" or "pair"
    train_pairs: int
    train_matches: int
    valid_pairs: int
    valid_matches: int

    def message(self) -> str:
        unseen = " (validation products unseen in training)" if self.by == "product cluster" else ""
        return (
            f"no validation pairs given: held out {self.valid_pairs} of the "
            f"{self.train_pairs + self.valid_pairs} training pairs ({self.valid_matches} "
            f"matches) by {self.by}{unseen}, seed {self.seed}; training on the other "
            f"{self.train_pairs} ({self.train_matches} matches). Pass validation pairs "
            "(--valid) to choose them"
        )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def split_validation(
    pairs: pd.DataFrame, *, fraction: float = VALID_FRACTION, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, ValidationSplit]:
    """(train, valid, description): about `fraction` of `pairs` held out for validation,
    both kept in the given order (the order decides the training batches)."""
    check_pairs(pairs, "training pairs")
    if not 0.0 < fraction < 1.0:
        raise ProdmatchError(f"the validation share must be in (0, 1), got {fraction}")
    labels = pairs["label"].to_numpy(dtype=np.int64)
    matches = int(labels.sum())
    if matches < 2:
        raise ProdmatchError(
            f"the training pairs hold {matches} match(es): too few to hold validation pairs "
            "out of them; pass validation pairs (--valid)"
        )
    rng = np.random.default_rng([seed, 11])
    groups = _groups(pairs)
    by_cluster = len(np.unique(groups[labels == 1])) >= 2
    held = (
        _by_cluster(groups, labels, fraction, rng)
        if by_cluster
        else _by_pair(labels, fraction, rng)
    )
    train, valid = pairs[~held], pairs[held]
    split = ValidationSplit(
        fraction=fraction,
        seed=seed,
        by="product cluster" if by_cluster else "pair",
        train_pairs=len(train),
        train_matches=int(train["label"].sum()),
        valid_pairs=len(valid),
        valid_matches=int(valid["label"].sum()),
    )
    return train, valid, split


def _groups(pairs: pd.DataFrame) -> npt.NDArray[np.int64]:
    """Each pair's product cluster: that of its left listing (a match's two listings share it)."""
    clusters = build_clusters(pairs)
    return clusters.labels_of("left", list(pairs["left_id"].astype(str)))


def _by_cluster(
    groups: npt.NDArray[np.int64],
    labels: npt.NDArray[np.int64],
    fraction: float,
    rng: np.random.Generator,
) -> npt.NDArray[np.bool_]:
    """Whole clusters held out: clusters with matches until their share of the matches is
    reached (one such cluster always stays in training), then clusters of non-matches only
    until the non-matches' share is."""
    held = np.zeros(len(labels), dtype=bool)
    with_match = np.unique(groups[labels == 1])
    want = max(1, math.ceil(fraction * len(np.flatnonzero(labels == 1))))
    for group in rng.permutation(with_match)[: len(with_match) - 1]:
        if labels[held].sum() >= want:
            break
        held |= groups == group
    negatives_wanted = round(fraction * int((labels == 0).sum()))
    without_match = np.setdiff1d(np.unique(groups), with_match)
    for group in rng.permutation(without_match):
        if int((held & (labels == 0)).sum()) >= negatives_wanted:
            break
        held |= groups == group
    return held


def _by_pair(
    labels: npt.NDArray[np.int64], fraction: float, rng: np.random.Generator
) -> npt.NDArray[np.bool_]:
    """Random pairs held out within each label; at least one match on each side."""
    held = np.zeros(len(labels), dtype=bool)
    for label in (1, 0):
        rows = np.flatnonzero(labels == label)
        count = round(fraction * len(rows))
        if label == 1:
            count = min(max(1, count), len(rows) - 1)
        held[rng.permutation(rows)[:count]] = True
    return held


def overlapping_pairs(
    train: pd.DataFrame, valid: pd.DataFrame, *, either_orientation: bool = False
) -> int:
    """How many validation pairs are also training pairs. With `either_orientation` (a
    catalog matched against itself, where (a, b) and (b, a) are one pair) swapped ids count
    as the same pair; between two catalogs they do not, since both often number their
    listings 0, 1, 2, ... and (3, 5) is then another pair than (5, 3)."""
    left, right = train["left_id"].astype(str), train["right_id"].astype(str)
    seen = set(zip(left, right, strict=True))
    if either_orientation:
        seen |= set(zip(right, left, strict=True))
    given = zip(valid["left_id"].astype(str), valid["right_id"].astype(str), strict=True)
    return sum(pair in seen for pair in given)


def validation_pairs(
    left: Catalog,
    right: Catalog,
    train: pd.DataFrame | None,
    valid: pd.DataFrame | None,
    seed: int,
    hold_out: float | None = VALID_FRACTION,
    valid_split: ValidSplit = "unseen",
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, dict[str, pd.DataFrame], dict[str, Any]]:
    """(train, valid, the validation pairs on seen and unseen products, description).

    With `valid_split` "unseen" (and labelled matches to train on), the validation pairs are
    those on products training never saw, held out of the training pairs where the given
    ones are too few (:func:`prodmatch.train.unseen.split_unseen`); the given pairs on seen
    products are only reported. With "given": the pairs given (with a warning for any that
    are training pairs too), or, with none given, a seeded share of the training pairs held
    out by product cluster (see :mod:`prodmatch.train.split`); either is said in a warning
    line. `hold_out` is the share held out; None holds none out (training then runs without
    validation when none is given, and on the given pairs as they are)."""
    labelled = train is not None and bool((train["label"] == 1).any())
    if labelled and valid_split == "unseen" and hold_out is not None:
        assert train is not None
        train, chosen, seen, unseen = split_unseen(train, valid, fraction=hold_out, seed=seed)
        warnings.warn(unseen.message(), UserWarning, stacklevel=3)
        parts = {"seen": seen, "unseen": chosen}
        return train, chosen, parts, {"source": "unseen products", **unseen.to_dict()}
    if valid is not None:
        if train is None:
            return train, valid, {}, {"source": "given"}
        same = left is right or (left.source is not None and left.source == right.source)
        shared = overlapping_pairs(train, valid, either_orientation=same)
        if shared:
            warnings.warn(
                f"{shared} of the {len(valid)} validation pairs are training pairs too; "
                "validation scores (the threshold, the best epoch) are optimistic on them",
                UserWarning,
                stacklevel=3,
            )
        return train, valid, _parts(train, valid), {"source": "given"}
    if hold_out is None or train is None or not labelled:
        return train, valid, {}, {"source": "none"}
    train, valid, split = split_validation(train, fraction=hold_out, seed=seed)
    warnings.warn(split.message(), UserWarning, stacklevel=3)
    info = {"source": "split off the training pairs", **split.to_dict()}
    return train, valid, _parts(train, valid), info


def _parts(train: pd.DataFrame, valid: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The validation pairs on products seen in training, and on the others."""
    seen = seen_pairs(train, valid)
    return {"seen": valid[seen], "unseen": valid[~seen]}


def validation_line(validation: dict[str, Any]) -> list[str]:
    """The model card's line on the validation pairs chosen on (none for pairs given as
    they are)."""
    if validation.get("source") == "unseen products":
        moved = validation["moved_pairs"]
        return [
            "",
            f"Chosen on {validation['valid_pairs']} validation pairs ({validation['valid_matches']}"
            f" matches) of products unseen in training ({moved} of them moved out of the "
            f"training pairs with their products, seed {validation['seed']}); the "
            f"{validation['seen_pairs']} given validation pairs on seen products are reported "
            "only.",
        ]
    if "by" not in validation:
        return []
    return [
        "",
        f"No validation pairs were given: {validation['valid_pairs']} of the training pairs "
        f"({validation['valid_matches']} matches) were held out by {validation['by']}, seed "
        f"{validation['seed']}.",
    ]
