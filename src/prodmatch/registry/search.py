"""Matching without storing: candidates for new listings, and recommendations across
platforms (the same product first, then the most similar ones), scored through the core."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from prodmatch.registry.matching import Entry, PairScorer, records, signals
from prodmatch.registry.store import Listing, Readers, Store, Stored
from prodmatch.registry.vectors import SharedLock, VectorIndex

if TYPE_CHECKING:
    from prodmatch.registry.registry import NewListing


# Stored neighbours of some vectors: their pks, the listings by pk, their entries (in the
# order of the pks), (query, entry) pairs and each pair's inner product (FAISS's).
Neighbours = tuple[
    list[int], dict[int, Stored], list[Entry], list[tuple[int, int]], npt.NDArray[np.float32]
]


class Search:
    """The read-only matching half of `Registry`."""

    lock: threading.RLock  # the writer's
    index_lock: SharedLock  # the FAISS index's: searches share it
    store: Store
    readers: Readers
    index: VectorIndex
    scorer: PairScorer
    committing: int | None  # the generation this process's writer is committing

    def _read_listing(self, reader: Store, platform: str, listing_id: str) -> Listing:
        raise NotImplementedError

    def _reading(self, reader: Store) -> None:
        """Bring the index and the readers' lexical statistics up to the last commit, as
        `reader` sees it, except for a write of this process's own that is committed but
        not yet in them: a read searches and weighs as before that write (the listings it
        reads are as committed) instead of waiting for the writer to finish (one in a
        hundred matches waited ~40 ms under load at 100k). A write is acknowledged only
        once it is in them, so a client reads what it was told is written. Another
        process's writes are caught up first; for the statistics that takes the writer's
        lock."""
        latest = reader.vseq()
        own = self.committing
        if own is not None and own <= latest:  # committed, not yet indexed and published
            settled = own - 1
            current = self.index.vseq in (settled, own)
        else:
            settled = latest
            current = self.index.vseq == latest
        if not current:
            with self.index_lock.exclusive():
                self.index.catch_up(reader)
        lexical = self.scorer.lexical
        if lexical is not None and lexical.published_vseq < settled:
            with self.lock:
                lexical.catch_up(self.store)
                lexical.publish()

    def match(self, listings: Sequence[NewListing], k: int = 10) -> list[list[dict[str, Any]]]:
        """Each listing's best stored candidates with scores and signals; nothing is stored."""
        texts = [self.scorer.texts(item.attributes) for item in listings]
        vectors = self.scorer.encode([text for text, _ in texts])  # no wait for writers
        left = [
            Entry(f"q{i}", t, p, v)
            for i, ((t, p), v) in enumerate(zip(texts, vectors, strict=True))
        ]
        with self.readers.lend() as reader:
            self._reading(reader)
            neighbours = self._stored_neighbours(vectors, k, set(), reader)
        return self._ranked(left, neighbours, k)  # scored without holding up writers

    def similar(
        self, platform: str, listing_id: str, on: str | None, k: int = 10
    ) -> list[dict[str, Any]]:
        """The same or most similar products on another platform (`on`; None: any other)."""
        with self.readers.lend() as reader:
            self._reading(reader)
            listing = self._read_listing(reader, platform, listing_id)
            vector = reader.vectors_of([listing.pk])[listing.pk]
            entry = Entry("q0", listing.text, listing.plain, vector)
            wide = max(5 * k, 50)
            neighbours = self._stored_neighbours(vector[None, :], wide, {listing.pk}, reader)
        found = self._ranked([entry], neighbours, wide)[0]
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

    def stored_pairs(self, limit: int, k: int) -> list[tuple[Listing, Listing, float]]:
        """Pairs of stored listings to ask a human about: the `limit` listings stored last,
        each with its `k` nearest stored neighbours, scored through the core; each pair once,
        its two listings ordered by (platform, id), as labels are kept."""
        with self.lock:
            with self.index_lock.exclusive():
                self.index.catch_up(self.store)
            recent = self.store.recent_pks(limit)
            listings = self.store.listings_by_pk(recent)
            vectors = self.store.vectors_of(recent)
            recent = [pk for pk in recent if pk in listings and pk in vectors]
            if not recent:
                return []
            left = [
                Entry(f"e{pk}", listings[pk].text, listings[pk].plain, vectors[pk]) for pk in recent
            ]
            queries = np.stack([vectors[pk] for pk in recent])
            pks, _, right, found, _ = self._stored_neighbours(queries, k + 1, set(), self.store)
            seen: set[tuple[int, int]] = set()
            pairs = []
            for i, j in found:
                ends = (recent[i], pks[j])
                if ends[0] != ends[1] and tuple(sorted(ends)) not in seen:
                    seen.add((min(ends), max(ends)))
                    pairs.append((i, j))
            frame = self.scorer.score(left, right, pairs)
            rows = records(frame)
            # whole, attributes too, for a reviewer to read (matching read less of them)
            listings.update(self.store.listings_by_pk([pks[int(row["right"])] for row in rows]))
        out = []
        for row in rows:
            if pks[int(row["right"])] not in listings:  # another process deleted it
                continue
            a, b = listings[recent[int(row["left"])]], listings[pks[int(row["right"])]]
            first, second = sorted((a, b), key=lambda x: (x.platform, x.id))
            out.append((first, second, float(row["score"])))
        return out

    def _stored_neighbours(
        self, vectors: npt.NDArray[np.float32], k: int, exclude: set[int], store: Store
    ) -> Neighbours:
        """The stored listings FAISS finds for each vector (`k` each, `exclude` left out),
        read from `store` (the writer's or the reader's connection, whichever the caller
        holds): their pks, the listings, their entries, (query, entry) pairs indexing into
        them, and the pairs' inner products."""
        with self.index_lock.shared():
            scores, found = self.index.search(vectors, k + len(exclude))
            flat = found.ravel()
            hits = np.unique(flat[flat >= 0])
            hits = hits[~np.isin(hits, list(exclude))]
            hit_pks = hits.tolist()
            held = self.index.vectors(hit_pks)  # as searched: no database read of vectors
        stored = store.stored_by_pk(hit_pks)
        kept = np.fromiter((pk in stored for pk in hit_pks), bool, len(hit_pks))
        found_pks = hits[kept]  # one deleted since the search is left out
        pks = found_pks.tolist()
        right = [
            Entry(str(pk), stored[pk].text, stored[pk].plain, vector, stored[pk].platform)
            for pk, vector in zip(pks, held[kept], strict=True)
        ]
        # (query, entry) pairs in FAISS's order: each pk found, placed among the entries
        at = np.minimum(np.searchsorted(found_pks, flat), max(len(pks) - 1, 0))
        known = found_pks[at] == flat if len(pks) else np.zeros(len(flat), dtype=bool)
        queries = np.repeat(np.arange(len(found)), found.shape[1])
        pairs = list(zip(queries[known].tolist(), at[known].tolist(), strict=True))
        return pks, stored, right, pairs, scores.ravel()[known].astype(np.float32)

    def _ranked(
        self, left: list[Entry], neighbours: Neighbours, k: int
    ) -> list[list[dict[str, Any]]]:
        """Each left entry's `k` best scored neighbours (from `_stored_neighbours`, read
        under the lock; scoring needs no lock: the listings read are values)."""
        pks, stored, right, pairs, _ = neighbours
        frame = self.scorer.score(left, right, pairs, reading=True)
        out: list[list[dict[str, Any]]] = [[] for _ in left]
        for row in records(frame):
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
