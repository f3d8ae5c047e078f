"""Products: which listings belong together, changed only through recorded events.

A listing joins the product of its best-scoring partner at or above the threshold, or founds
a new product. Other products it also matches are merged into the older one (the smaller
id survives, so the outcome does not depend on timing). Human labels win over scores: a
"same" label joins or merges at once, a "not same" label splits a product and keeps the two
listings apart from then on (no join or merge may put them together again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prodmatch.registry.matching import Entry, PairScorer
from prodmatch.registry.store import Listing, Store

Key = tuple[str, str]  # (platform, listing id)


@dataclass(frozen=True)
class Labels:
    """The labels that name some listings: who must be with whom, who must stay apart."""

    same: dict[Key, set[Key]]
    apart: dict[Key, set[Key]]

    @classmethod
    def of(cls, store: Store, keys: Sequence[Key]) -> Labels:
        same: dict[Key, set[Key]] = {}
        apart: dict[Key, set[Key]] = {}
        for a_platform, a_id, b_platform, b_id, is_same in store.labels_of(keys):
            a, b = (a_platform, a_id), (b_platform, b_id)
            chosen = same if is_same else apart
            chosen.setdefault(a, set()).add(b)
            chosen.setdefault(b, set()).add(a)
        return cls(same, apart)


def key_of(listing: Listing) -> Key:
    return (listing.platform, listing.id)


def pair_reason(a: Key, b: Key, score: float, why: dict[str, float]) -> dict[str, Any]:
    return {"pair": [list(a), list(b)], "score": round(float(score), 6), "signals": why}


def label_reason(a: Key, b: Key, same: bool) -> dict[str, Any]:
    return {"pair": [list(a), list(b)], "label": "same" if same else "not same"}


def may_merge(store: Store, one: int, other: int) -> bool:
    """Whether no "not same" label joins a listing of one product to one of the other."""
    members = {key_of(listing) for listing in store.listings_of(other)}
    mine = [key_of(listing) for listing in store.listings_of(one)]
    apart = Labels.of(store, mine).apart
    return not any(apart.get(key, set()) & members for key in mine)


def merge(store: Store, one: int, other: int, reason: dict[str, Any]) -> int:
    """The younger product's listings moved into the older; the older id survives."""
    keep, drop = min(one, other), max(one, other)
    moved = store.listings_of(drop)
    store.move_listings([listing.pk for listing in moved], keep)
    store.end_product(drop, merged_into=keep)
    listed = [list(key_of(listing)) for listing in moved]
    store.add_event("merge", keep, other=drop, reason={**reason, "listings": listed})
    return keep


def split(store: Store, scorer: PairScorer, product: int, reason: dict[str, Any]) -> list[int]:
    """Regroup a product's listings, oldest first, as if each arrived anew under the labels.

    Each listing joins the group of its best partner at or above the threshold that holds no
    listing labelled "not same" with it (a "same" partner's group first); the group holding
    the oldest listing keeps the product id, every other group gets a new one.
    """
    listings = store.listings_of(product)
    vectors = store.vectors_of([listing.pk for listing in listings])
    entries = [
        Entry(str(listing.pk), listing.text, listing.plain, vectors[listing.pk])
        for listing in listings
    ]
    pairs = [(i, j) for i in range(len(entries)) for j in range(i)]
    scored = scorer.score(entries, entries, pairs)
    score = dict(
        zip(
            zip(scored["left"].tolist(), scored["right"].tolist(), strict=True),
            scored["score"].tolist(),
            strict=True,
        )
    )
    labels = Labels.of(store, [key_of(listing) for listing in listings])
    group_of: list[int] = []
    for i, listing in enumerate(listings):
        key = key_of(listing)
        blocked = {
            group_of[j] for j in range(i) if key_of(listings[j]) in labels.apart.get(key, set())
        }
        forced = [
            group_of[j]
            for j in range(i)
            if key_of(listings[j]) in labels.same.get(key, set()) and group_of[j] not in blocked
        ]
        ranked = sorted(
            (j for j in range(i) if score[(i, j)] >= scorer.threshold),
            key=lambda j: -score[(i, j)],
        )
        allowed = [group_of[j] for j in ranked if group_of[j] not in blocked]
        chosen = forced or allowed
        group_of.append(chosen[0] if chosen else max(group_of, default=-1) + 1)
    new_products = []
    for group in sorted(set(group_of) - {group_of[0]}):
        members = [listing for listing, g in zip(listings, group_of, strict=True) if g == group]
        fresh = store.new_product()
        store.move_listings([listing.pk for listing in members], fresh)
        listed = [list(key_of(listing)) for listing in members]
        store.add_event("split", fresh, other=product, reason={**reason, "listings": listed})
        new_products.append(fresh)
    return new_products


@dataclass(frozen=True)
class Choice:
    """Where one listing goes: a product (None: found one) and why; products to merge in."""

    product: int | None
    reason: dict[str, Any]
    merge: list[tuple[int, dict[str, Any]]]


def choose(
    store: Store,
    key: Key,
    partners: list[tuple[float, Listing, dict[str, float]]],
    labels: Labels,
    threshold: float,
) -> Choice:
    """The product a listing joins given its scored partners (best first) and the labels."""
    apart = labels.apart.get(key, set())
    blocked: set[int] = set()
    for other in apart:
        found = store.listing(*other)
        if found is not None:
            blocked.add(found.product)
    options: list[tuple[int, dict[str, Any]]] = []
    for other in sorted(labels.same.get(key, set())):
        found = store.listing(*other)
        if found is not None and found.product not in blocked and other != key:
            options.append((found.product, label_reason(key, other, True)))
    for score, partner, why in partners:
        if score >= threshold and partner.product not in blocked:
            options.append((partner.product, pair_reason(key, key_of(partner), score, why)))
    if not options:
        return Choice(None, {"founded": True}, [])
    first, reason = options[0]
    seen = {first}
    merges = []
    for product, why_merge in options[1:]:
        if product not in seen:
            seen.add(product)
            merges.append((product, why_merge))
    return Choice(first, reason, merges)
