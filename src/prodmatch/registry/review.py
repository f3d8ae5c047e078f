"""The review page inside `prodmatch serve`: a registry's own pairs, labelled into it.

The page, its keys and its choice of the next pair are the standalone page's
(`prodmatch.review.queue`, `prodmatch.review.app`); only where pairs and labels live differs:

- **pairs**: the listings stored last (`listings`, default 2,000), each with its nearest
  stored neighbours, scored through the registry's core (`Search.stored_pairs`); the pool is
  rebuilt when the registry's vector generation moves (a listing added, re-worded or
  deleted, by this process or another one on the same database), at most every 30 s, as a
  rebuild holds the registry's lock while it scores. A pair's decision is its
  score reaching the registry's join threshold, which is also the threshold the uncertainty
  is measured from;
- **labels**: "same" and "not same" go through `Registry.label`, the code behind
  `POST /labels` (a "not same" splits the product, with an event, and keeps the two apart);
  the sequence the page walks is the registry's labels in the order given, wherever they
  came from. "Unsure" has no place in the registry: those are kept by this page in memory
  (a restarted server asks them again). Undo takes the last label back
  (`Registry.forget_label`); products stay as the label left them.

A pair is named on the page by its listings as ``platform/id`` (neither may hold a "/").
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.errors import ProdmatchError
from prodmatch.registry.products import Key
from prodmatch.registry.registry import NotFound, Registry
from prodmatch.registry.store import Listing
from prodmatch.review import active
from prodmatch.review.explain import Explainer
from prodmatch.review.labels import UNSURE, Label
from prodmatch.review.queue import ReviewQueue

LISTINGS = 2000  # listings whose neighbours make the pool
PAGE_K = 5  # neighbours of each
REBUILD_S = 30.0  # the least time between two rebuilds of the pool (each blocks writes)


def page_id(key: Key) -> str:
    return f"{key[0]}/{key[1]}"


def parse_id(name: str) -> Key:
    platform, sep, listing = str(name).partition("/")
    if not sep or not platform or not listing:
        raise ProdmatchError(f"a listing on this page is platform/id, not {name!r}")
    return platform, listing


def _ordered(left_id: str, right_id: str) -> tuple[Key, Key]:
    """The pair's two listings in the order labels are kept in (by platform, then id)."""
    a, b = sorted((parse_id(left_id), parse_id(right_id)))
    return a, b


class RegistryLabels:
    """A registry's labels as the page's label source (see the module's note)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._unsure: list[tuple[int, Label]] = []  # (stored labels before it, the label)

    @property
    def labels(self) -> list[Label]:
        stored = [Label(page_id(a), page_id(b), int(same)) for a, b, same in self.registry.labels()]
        known = {x.key for x in stored}
        merged: list[Label] = []
        unsure = sorted(self._unsure, key=lambda item: item[0])
        for n, label in enumerate(stored):
            merged.extend(x for at, x in unsure if at == n and x.key not in known)
            merged.append(label)
        merged.extend(x for at, x in unsure if at >= len(stored) and x.key not in known)
        return merged

    def add(self, left_id: str, right_id: str, label: int) -> Label:
        a, b = _ordered(left_id, right_id)
        new = Label(page_id(a), page_id(b), label)
        self._unsure = [(at, x) for at, x in self._unsure if x.key != new.key]
        if label == UNSURE:
            self.registry.get(*a), self.registry.get(*b)  # both must exist, as for a label
            self.registry.forget_label(a, b)
            self._unsure.append((len(self.registry.labels()), new))
        else:
            self.registry.label(a, b, label == 1)
        return new

    def undo(self) -> Label | None:
        labels = self.labels
        if not labels:
            return None
        last = labels[-1]
        if last.label == UNSURE:
            self._unsure = [(at, x) for at, x in self._unsure if x.key != last.key]
        else:
            self.registry.forget_label(*_ordered(last.left_id, last.right_id))
        return last


class RegistryReview(ReviewQueue):
    """The review page's state over a registry."""

    def __init__(
        self,
        registry: Registry,
        options: active.QueueOptions | None = None,
        *,
        listings: int = LISTINGS,
        k: int = PAGE_K,
        rebuild_s: float = REBUILD_S,
    ) -> None:
        threshold = registry.scorer.cluster_threshold
        saved_to = "the registry (as POST /labels)"
        super().__init__(RegistryLabels(registry), threshold, options, saved_to)
        self.registry = registry
        self.listings = listings
        self.k = k
        self.rebuild_s = rebuild_s
        self.built_at: int | None = None  # the vector generation the pool was built at
        self._built_when = 0.0  # time.monotonic() of that build

    def refresh(self) -> None:
        """Rebuild the pool when the registry's listings changed since it was built."""
        with self.registry.lock:
            generation = self.registry.store.vseq()
        with self._lock:
            recent = time.monotonic() - self._built_when < self.rebuild_s
            if generation == self.built_at or (self.built_at is not None and recent):
                return
            found = self.registry.stored_pairs(self.listings, self.k)
            self._set_pool(
                pd.DataFrame(
                    {
                        "left_id": [page_id((a.platform, a.id)) for a, _, _ in found],
                        "right_id": [page_id((b.platform, b.id)) for _, b, _ in found],
                        "score": [score for _, _, score in found],
                        "decision": [score >= self.threshold for _, _, score in found],
                    }
                )
            )
            self.built_at, self._built_when = generation, time.monotonic()

    def _listing(self, name: str) -> Listing | None:
        try:
            return self.registry.get(*parse_id(name))
        except NotFound:
            return None  # deleted since it was labelled

    def _records(self, key: tuple[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """The product each listing is in now, then their attributes (both listings' names)."""
        found = [self._listing(name) for name in key]
        names = list(dict.fromkeys(n for x in found if x is not None for n in x.attributes))
        return tuple(  # type: ignore[return-value]
            {}
            if x is None
            else {"product": str(x.product), **{n: x.attributes.get(n, "") for n in names}}
            for x in found
        )

    def _photos(self, key: tuple[str, str]) -> dict[str, list[str]]:
        """Photo URLs as stored: the browser shows them, the server never fetches them."""
        found = [self._listing(name) for name in key]
        urls = [[x.photo] if x is not None and x.photo else [] for x in found]
        return {"left": urls[0], "right": urls[1]}

    def explain(self, left_id: str, right_id: str) -> dict[str, Any]:
        """The pair explained by the registry's core, scored on its own (its TF-IDF
        statistics from the two listings, so the score can differ slightly from the pool's,
        whose statistics come from the whole pool)."""
        a, b = self._listing(left_id), self._listing(right_id)
        if a is None or b is None:
            raise ProdmatchError(f"no listing {left_id if a is None else right_id}")
        with self.registry.lock:
            linker = self.registry.linker
            left, right = linker.prepare(_catalog("left", a), _catalog("right", b))
            return Explainer(linker, left, right).explain(a.id, b.id).to_dict()


def _catalog(name: str, listing: Listing) -> Catalog:
    records = pd.DataFrame([listing.attributes], index=pd.Index([listing.id], name="id"))
    return Catalog(name, records.astype(str))
