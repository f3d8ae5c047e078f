"""Validation on products training never saw, as matching meets them.

A threshold, a best epoch or a blend chosen on validation pairs of products the classifier
was trained on holds for those products, not for new ones: DeepMatcher's valid.csv shares a
listing with train.csv in over 95% of its pairs (abt-buy, amazon-google), and a matcher
chosen on such pairs lost most of its precision on a benchmark whose test is half new
products. Real catalogs are mostly new products, so training chooses on unseen ones by
default (``--valid-split unseen``):

- a *product* is a cluster of listings joined by labelled matches (union-find over the
  training and validation matches; left and right ids kept apart, as in
  :mod:`prodmatch.train.clusters`);
- a validation pair is *seen* when either of its listings' products has a listing in the
  training pairs (a listing trained on only as a non-match counts: its text was learned);
- given validation pairs on unseen products are kept; when they hold fewer than `fraction`
  of all matches, whole products are moved out of training until they do, grown as one
  region along the pairs that join products (the product with most pairs into the region
  next, seeded ties), so that few pairs join the region to training. Such joining pairs
  would carry a held-out listing into training: training pairs among them are dropped, and
  validation pairs among them are seen ones;
- the seen validation pairs are not chosen on; their F1 is reported beside the unseen F1.

``--valid-split given`` keeps the given pairs (or, with none given, holds out a share by the
left listing's cluster, :func:`prodmatch.train.split.split_validation`) and still reports
seen and unseen F1 on their two parts.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.decide import connected_components
from prodmatch.errors import ProdmatchError
from prodmatch.train.clusters import check_pairs, listing_key

__all__ = [
    "VALID_SPLITS",
    "UnseenSplit",
    "ValidSplit",
    "product_clusters",
    "seen_pairs",
    "split_unseen",
]

ValidSplit = Literal["unseen", "given"]
VALID_SPLITS: tuple[ValidSplit, ...] = ("unseen", "given")


@dataclass(frozen=True)
class UnseenSplit:
    """How the unseen-product validation pairs were found, as ``prodmatch.json`` keeps it."""

    fraction: float
    seed: int
    given_unseen_pairs: int  # given validation pairs already on unseen products
    moved_pairs: int  # training pairs moved to validation with their products
    dropped_pairs: int  # training pairs joining a held-out product to a training one
    train_pairs: int
    train_matches: int
    valid_pairs: int
    valid_matches: int
    seen_pairs: int  # given validation pairs on seen products: reported, not chosen on
    seen_matches: int

    def message(self) -> str:
        moved = (
            f", {self.moved_pairs} of them moved out of training with their products"
            f" ({self.dropped_pairs} training pairs joining them to training products dropped)"
            if self.moved_pairs
            else ""
        )
        return (
            f"validating on unseen products: {self.valid_pairs} pairs ({self.valid_matches} "
            f"matches){moved}, seed {self.seed}; training on {self.train_pairs} pairs "
            f"({self.train_matches} matches); {self.seen_pairs} given validation pairs on "
            "products seen in training are reported only (--valid-split given chooses on them)"
        )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def product_clusters(*frames: pd.DataFrame) -> tuple[pd.Index, npt.NDArray[np.int64]]:
    """(listing keys, product of each key): connected components of the matches of all
    `frames`, every listing of their pairs included (one without a match is its own)."""
    left = pd.concat([f["left_id"].astype(str) for f in frames])
    right = pd.concat([f["right_id"].astype(str) for f in frames])
    keys = pd.Index(
        pd.unique(
            np.concatenate(
                [
                    [listing_key("left", i) for i in left],
                    [listing_key("right", i) for i in right],
                ]
            )
        )
    )
    positive = pd.concat([f["label"] for f in frames]).to_numpy() == 1
    a, b = _positions(keys, left, right)
    return keys, connected_components(len(keys), a[positive], b[positive])


def _positions(
    keys: pd.Index, left: pd.Series, right: pd.Series
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    a = keys.get_indexer(pd.Index([listing_key("left", i) for i in left]))
    b = keys.get_indexer(pd.Index([listing_key("right", i) for i in right]))
    return a.astype(np.int64), b.astype(np.int64)


def seen_pairs(train: pd.DataFrame, valid: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Which `valid` pairs are on a product seen in training: either listing's product
    (matches of both frames joined) has a listing in the `train` pairs."""
    keys, product = product_clusters(train, valid)
    trained = np.zeros(int(product.max()) + 1 if len(product) else 0, dtype=bool)
    a, b = _positions(keys, train["left_id"].astype(str), train["right_id"].astype(str))
    trained[product[a]] = True
    trained[product[b]] = True
    a, b = _positions(keys, valid["left_id"].astype(str), valid["right_id"].astype(str))
    return np.asarray(trained[product[a]] | trained[product[b]], dtype=bool)


def split_unseen(
    train: pd.DataFrame, valid: pd.DataFrame | None, *, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, UnseenSplit]:
    """(train, unseen validation, seen validation, description); see the module docstring.

    Each frame keeps the given order (training's order decides its batches); the unseen
    validation pairs are the given ones first, then those moved out of training.
    """
    check_pairs(train, "training pairs")
    if not 0.0 < fraction < 1.0:
        raise ProdmatchError(f"the validation share must be in (0, 1), got {fraction}")
    given = train.iloc[:0] if valid is None else valid
    check_pairs(given, "validation pairs")
    keys, product = product_clusters(train, given)
    count = int(product.max()) + 1 if len(product) else 0
    ta, tb = _positions(keys, train["left_id"].astype(str), train["right_id"].astype(str))
    va, vb = _positions(keys, given["left_id"].astype(str), given["right_id"].astype(str))
    held = np.ones(count, dtype=bool)  # products with no training listing are unseen already
    held[product[ta]] = False
    held[product[tb]] = False
    matches = int(train["label"].sum() + given["label"].sum())
    want = max(1, math.ceil(fraction * matches))
    given_unseen = held[product[va]] & held[product[vb]]
    if int(given["label"].to_numpy()[given_unseen].sum()) < want:
        _grow(
            held,
            product[np.r_[ta, va]],
            product[np.r_[tb, vb]],
            _labels(train, given),
            want,
            np.random.default_rng([seed, 12]),
        )
    in_train = held[product[ta]] | held[product[tb]]
    moved = held[product[ta]] & held[product[tb]]
    unseen = held[product[va]] & held[product[vb]]
    kept, seen = train[~in_train], given[~unseen]
    chosen = pd.concat([given[unseen], train[moved]])
    if not (kept["label"] == 1).any() or not (chosen["label"] == 1).any():
        raise ProdmatchError(
            f"the pairs hold {matches} match(es) over too few products to keep unseen ones "
            "for validation and train on the others; pass --valid-split given"
        )
    split = UnseenSplit(
        fraction=fraction,
        seed=seed,
        given_unseen_pairs=int(unseen.sum()),
        moved_pairs=int(moved.sum()),
        dropped_pairs=int((in_train & ~moved).sum()),
        train_pairs=len(kept),
        train_matches=int(kept["label"].sum()),
        valid_pairs=len(chosen),
        valid_matches=int(chosen["label"].sum()),
        seen_pairs=len(seen),
        seen_matches=int(seen["label"].sum()),
    )
    return kept, chosen, seen, split


def _labels(train: pd.DataFrame, given: pd.DataFrame) -> npt.NDArray[np.int64]:
    both = [train["label"].to_numpy(np.int64), given["label"].to_numpy(np.int64)]
    return np.concatenate(both).astype(np.int64)


def _grow(
    held: npt.NDArray[np.bool_],
    a: npt.NDArray[np.int64],
    b: npt.NDArray[np.int64],
    labels: npt.NDArray[np.int64],
    want: int,
    rng: np.random.Generator,
) -> None:
    """Hold out products (in place) until the held ones have `want` matches inside them.

    The next product is the one with the most pairs into the held region (ties in a seeded
    random order); with none joined to it, a random product starts a new region. One
    product with matches always stays in training.
    """
    count = len(held)
    inside = np.bincount(a[(labels == 1) & (a == b)], minlength=count)  # matches per product
    links: list[list[int]] = [[] for _ in range(count)]
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        if x != y:
            links[x].append(y)
            links[y].append(x)
    tie = rng.permutation(count)
    joined = np.zeros(count, dtype=np.int64)  # pairs from each product into the held ones
    for given in np.flatnonzero(held).tolist():
        for other in links[given]:
            if not held[other]:
                joined[other] += 1
    frontier = [(-int(joined[p]), int(tie[p]), int(p)) for p in np.flatnonzero(joined)]
    heapq.heapify(frontier)

    def hold(product: int) -> None:
        held[product] = True
        for other in links[product]:
            if not held[other]:
                joined[other] += 1
                heapq.heappush(frontier, (-int(joined[other]), int(tie[other]), other))

    starts = iter(rng.permutation(count).tolist())
    left_in_training = int(inside[~held].sum())
    got = int(inside[held].sum())
    while got < want:
        while frontier and held[frontier[0][2]]:
            heapq.heappop(frontier)
        if frontier:
            product = heapq.heappop(frontier)[2]
        else:
            product = next((int(p) for p in starts if not held[p]), -1)
            if product < 0:
                return
        if inside[product] and left_in_training - inside[product] <= 0:
            continue  # the last training product with matches stays
        hold(product)
        got += int(inside[product])
        left_in_training -= int(inside[product])
