"""Products: which listings belong together, changed only through recorded events.

A listing joins the product it is closest to on average (average linkage at or above the
clustering threshold), or founds a new product. Another product it also qualifies for is
merged in when the two products' own average linkage reaches the threshold; the older one's
id survives (the smaller), so the outcome does not depend on timing. Human labels win over scores: a
"same" label joins or merges at once, a "not same" label splits a product and keeps the two
listings apart from then on (no join or merge may put them together again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from prodmatch.registry.matching import Entry, KeptScores, PairScorer, signals
from prodmatch.registry.store import Store, Stored

Key = tuple[str, str]  # (platform, listing id)
MAX_PRODUCTS = 5  # candidate products whose linkage a new listing is scored against
MAX_MEMBERS = 50  # listings of a product read for its linkage (the oldest)


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


def key_of(listing: Stored) -> Key:
    return (listing.platform, listing.id)


def pair_reason(a: Key, b: Key, score: float, why: dict[str, float]) -> dict[str, Any]:
    return {"pair": [list(a), list(b)], "score": round(float(score), 6), "signals": why}


def label_reason(a: Key, b: Key, same: bool) -> dict[str, Any]:
    return {"pair": [list(a), list(b)], "label": "same" if same else "not same"}


def may_merge(store: Store, one: int, other: int) -> bool:
    """Whether no "not same" label joins a listing of one product to one of the other."""
    members = {key_of(listing) for listing in store.members(other)}
    mine = [key_of(listing) for listing in store.members(one)]
    apart = Labels.of(store, mine).apart
    return not any(apart.get(key, set()) & members for key in mine)


def merge(store: Store, one: int, other: int, reason: dict[str, Any]) -> int:
    """The younger product's listings moved into the older; the older id survives."""
    keep, drop = min(one, other), max(one, other)
    moved = store.members(drop)
    store.move_listings([listing.pk for listing in moved], keep)
    store.end_product(drop, merged_into=keep)
    listed = [list(key_of(listing)) for listing in moved]
    store.add_event("merge", keep, other=drop, reason={**reason, "listings": listed})
    return keep


def split(store: Store, scorer: PairScorer, product: int, reason: dict[str, Any]) -> list[int]:
    """Regroup a product's listings, oldest first, as if each arrived anew under the labels.

    Each listing joins the group it is closest to on average (at or above the clustering
    threshold) that holds no listing labelled "not same" with it (a "same" partner's group
    first); the group holding the oldest listing keeps the product id, the others get new ones.
    """
    listings = store.members(product)
    vectors = store.vectors_of([listing.pk for listing in listings])
    entries = [Entry(str(x.pk), x.text, x.plain, vectors[x.pk], x.platform) for x in listings]
    pairs = [(i, j) for i in range(len(entries)) for j in range(i)]
    rows = KeptScores(scorer).rows([(entries[i], entries[j]) for i, j in pairs])
    score = {pair: float(row["linkage"]) for pair, row in zip(pairs, rows, strict=True)}
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
        means = {
            g: fmean([score[(i, j)] for j in range(i) if group_of[j] == g])
            for g in set(group_of) - blocked
        }
        allowed = sorted(
            (g for g, mean in means.items() if mean >= scorer.cluster_threshold),
            key=lambda g: (-means[g], g),
        )
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
    """Where one listing goes: a product (None: found one) and why; products that may merge
    in (by label, or when their average linkage with the joined product is high enough)."""

    product: int | None
    reason: dict[str, Any]
    merge: list[tuple[int, dict[str, Any]]]


def members(store: Store, product: int, without: int | None = None) -> list[Stored]:
    """A product's listings, oldest first, at most MAX_MEMBERS (what its linkage reads)."""
    found = [listing for listing in store.members(product) if listing.pk != without]
    return found[:MAX_MEMBERS]


def entries(store: Store, listings: Sequence[Stored]) -> list[Entry]:
    vectors = store.vectors_of([listing.pk for listing in listings])
    return [Entry(str(x.pk), x.text, x.plain, vectors[x.pk], x.platform) for x in listings]


def averages(
    store: Store,
    scorer: PairScorer,
    entry: Entry,
    candidates: Sequence[int],
    own: int | None,
    kept: KeptScores | None = None,
) -> dict[int, tuple[float, float, Stored, dict[str, float]]]:
    """Per product: the listing's mean score against its listings (average linkage), and the
    best pair (score, listing, signals) behind it. `kept`: the write's scores so far."""
    groups = {product: members(store, product, own) for product in candidates}
    right = [listing for product in candidates for listing in groups[product]]
    if not right:
        return {}
    kept = kept or KeptScores(scorer)
    rows = kept.rows([(entry, other) for other in entries(store, right)])
    found: dict[int, tuple[float, float, Stored, dict[str, float]]] = {}
    start = 0
    for product in candidates:
        size = len(groups[product])
        if size:
            mine = rows[start : start + size]
            best = max(range(size), key=lambda n: float(mine[n]["score"]))
            mean = fmean([row["linkage"] for row in mine])
            why = signals(mine[best])
            found[product] = (mean, float(mine[best]["score"]), groups[product][best], why)
        start += size
    return found


def linkage(
    store: Store, scorer: PairScorer, one: int, other: int, kept: KeptScores | None = None
) -> float:
    """The mean score over every pair of listings across two products."""
    left, right = entries(store, members(store, one)), entries(store, members(store, other))
    pairs = [(a, b) for a in left for b in right]
    if not pairs:
        return float("-inf")
    rows = (kept or KeptScores(scorer)).rows(pairs)
    return fmean([row["linkage"] for row in rows])


def choose(
    store: Store,
    scorer: PairScorer,
    entry: Entry,
    key: Key,
    partners: list[tuple[float, Stored]],
    labels: Labels,
    own: int | None = None,
    kept: KeptScores | None = None,
) -> Choice:
    """The product a listing joins: a "same" label's product first, else the product with
    the best average linkage at or above the clustering threshold among the products of its
    partners scoring at least the pair threshold; none if no product qualifies.

    Average linkage, not the best pair: joining on one close listing chains look-alike
    products (a camera's siblings) into one, as connected components do in dedup.
    """
    blocked: set[int] = set()
    for other in labels.apart.get(key, set()):
        found = store.listing(*other)
        if found is not None:
            blocked.add(found.product)
    options: list[tuple[int, dict[str, Any]]] = []
    for other in sorted(labels.same.get(key, set())):
        found = store.listing(*other)
        if found is not None and found.product not in blocked and other != key:
            options.append((found.product, label_reason(key, other, True)))
    linked: list[int] = []
    for score, partner in partners:
        product = partner.product
        if score >= scorer.threshold and product not in blocked and product not in linked:
            linked.append(product)
    scored = averages(store, scorer, entry, linked[:MAX_PRODUCTS], own, kept)
    ranked = sorted(scored.items(), key=lambda item: (-item[1][0], item[0]))
    for product, (mean, best, partner, why) in ranked:
        if mean >= scorer.cluster_threshold:
            reason = pair_reason(key, key_of(partner), best, why)
            options.append((product, {**reason, "average": round(mean, 6)}))
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
