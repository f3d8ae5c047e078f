"""Matching without storing: candidates for new listings, and recommendations across
platforms (the same product first, then the most similar ones), scored through the core."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from prodmatch.registry.matching import Entry, PairScorer, signals
from prodmatch.registry.store import Listing, Store
from prodmatch.registry.vectors import VectorIndex

if TYPE_CHECKING:
    from prodmatch.registry.registry import NewListing


class Search:
    """The read-only matching half of `Registry`."""

    lock: threading.RLock
    store: Store
    index: VectorIndex
    scorer: PairScorer

    def _listing(self, platform: str, listing_id: str) -> Listing:
        raise NotImplementedError

    def match(self, listings: Sequence[NewListing], k: int = 10) -> list[list[dict[str, Any]]]:
        """Each listing's best stored candidates with scores and signals; nothing is stored."""
        with self.lock:
            self.index.catch_up(self.store)
            texts = [self.scorer.texts(item.attributes) for item in listings]
            vectors = self.scorer.encode([text for text, _ in texts])
            left = [
                Entry(f"q{i}", t, p, v)
                for i, ((t, p), v) in enumerate(zip(texts, vectors, strict=True))
            ]
            return self._ranked(left, vectors, k, exclude=set())

    def similar(
        self, platform: str, listing_id: str, on: str | None, k: int = 10
    ) -> list[dict[str, Any]]:
        """The same or most similar products on another platform (`on`; None: any other)."""
        with self.lock:
            self.index.catch_up(self.store)
            listing = self._listing(platform, listing_id)
            vector = self.store.vectors_of([listing.pk])[listing.pk]
            entry = Entry("q0", listing.text, listing.plain, vector)
            wide = max(5 * k, 50)
            found = self._ranked([entry], vector[None, :], wide, exclude={listing.pk})[0]
        kept, seen = [], set()
        for candidate in found:
            if (on is None and candidate["platform"] == platform) or (
                on is not None and candidate["platform"] != on
            ):
                continue
            if candidate["product"] in seen:
                continue
            seen.add(candidate["product"])
            candidate["same_product"] = candidate["product"] == listing.product
            kept.append(candidate)
        kept.sort(key=lambda c: (not c["same_product"], -c["score"]))
        return kept[:k]

    def _stored_neighbours(
        self, vectors: npt.NDArray[np.float32], k: int, exclude: set[int]
    ) -> tuple[list[int], dict[int, Listing], list[Entry], list[tuple[int, int]]]:
        """The stored listings FAISS finds for each vector (`k` each, `exclude` left out):
        their pks, the listings, their entries, and (query, entry) pairs indexing into them."""
        _, found = self.index.search(vectors, k + len(exclude))
        pks = sorted({int(pk) for pk in found.ravel() if pk >= 0} - exclude)
        stored = self.store.listings_by_pk(pks)
        stored_vectors = self.store.vectors_of(pks)
        right = [
            Entry(f"e{pk}", stored[pk].text, stored[pk].plain, stored_vectors[pk]) for pk in pks
        ]
        position = {pk: n for n, pk in enumerate(pks)}
        pairs = [
            (i, position[int(pk)])
            for i, row in enumerate(found)
            for pk in row
            if int(pk) in position
        ]
        return pks, stored, right, pairs

    def _ranked(
        self, left: list[Entry], vectors: npt.NDArray[np.float32], k: int, exclude: set[int]
    ) -> list[list[dict[str, Any]]]:
        pks, stored, right, pairs = self._stored_neighbours(vectors, k, exclude)
        frame = self.scorer.score(left, right, pairs)
        out: list[list[dict[str, Any]]] = [[] for _ in left]
        for row in frame.to_dict("records"):
            listing = stored[pks[int(row["right"])]]
            out[int(row["left"])].append(
                {
                    "platform": listing.platform,
                    "id": listing.id,
                    "product": listing.product,
                    "score": float(row["score"]),
                    "match": float(row["score"]) >= self.scorer.threshold,
                    "signals": signals({str(k): v for k, v in row.items()}),
                }
            )
        for candidates in out:
            candidates.sort(key=lambda c: -c["score"])
            del candidates[k:]
        return out
