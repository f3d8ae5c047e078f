"""`Registry`: a live catalog of listings from several platforms, each in one stable product.

Usable from Python as it is, and served over HTTP by `prodmatch serve`. Every write is one
database transaction: a batch is stored whole or not at all, and the FAISS index, a cache of
the database, is changed only after the commit.

Locks: writes hold `lock` (one writer per process; the database's write lock orders
processes). Reads (match, similar, get) borrow read connections of their own (`readers`)
and share the FAISS index's lock (`index_lock`) with other searches, so a match waits neither
for a batch being placed nor for another match.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from prodmatch.encode import TextEncoder
from prodmatch.errors import ProdmatchError
from prodmatch.linker import Linker
from prodmatch.registry import products
from prodmatch.registry.lexical import LexicalStats
from prodmatch.registry.matching import (
    Entry,
    KeptScores,
    PairScorer,
    Partner,
    Scored,
    weighs_own,
)
from prodmatch.registry.photos import PhotoFetcher
from prodmatch.registry.products import Key, Labels
from prodmatch.registry.search import Search
from prodmatch.registry.store import Event, Listing, Readers, Store, Stored, dialect_for
from prodmatch.registry.vectors import SharedLock, VectorIndex
from prodmatch.settings import MatchSettings

SETTINGS_FILE = "settings.json"
SAVE_EVERY_S = 300.0  # the index file is a cache: saved now and then, and on close
# Batches `upsert_many` prepares ahead: placing a batch takes longer on some batches than
# encoding one, and on others shorter (a write that rebuilds the index's cells takes
# seconds), and the encoder stops when its slack is used up. At 100k listings on a 2-core
# machine without VNNI (BENCHMARKS.md, December 6): 317.5 listings/s at 3, 331.3 and 330.8/s
# at 12, the same products. Memory: a batch of 500 holds ~0.8 MB of vectors. Safe at any
# depth: a batch is compared with the stored texts again under the write lock, and a text
# that changed meanwhile is encoded there.
PREPARED_AHEAD = 12
# Batches `upsert_many` prepares at once. One encode leaves a core idle in its serial parts
# (tokenizing, reading the stored texts, the last of its sub-batches): with one at a time a
# core idled ~0.40 ms for each listing placed (the last 10k of 100k, 2 cores, no VNNI), with
# two ~0.14-0.19, and listings went through ~7% faster. The encoder runs its callers side by
# side (`PairScorer.encode`).
PREPARING = 2


class NotFound(ProdmatchError):
    """A listing or product the registry does not hold."""


@dataclass(frozen=True)
class NewListing:
    """A listing as sent in: platform, id unique on it, attributes, optional photo."""

    platform: str
    id: str
    attributes: dict[str, str]
    photo: str | None = None

    @property
    def key(self) -> Key:
        return (self.platform, self.id)


@dataclass
class _Pending:
    """One upserted listing whose text is new or changed: it is encoded and matched."""

    item: NewListing
    old: Listing | None
    text: str
    plain: str
    vector: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))
    pk: int = 0  # once stored


@dataclass(frozen=True)
class _Prepared:
    """A batch made ready outside the write lock: its photos fetched, changed texts encoded."""

    listings: Sequence[NewListing]
    photos: list[dict[str, Any] | None] | None
    vectors: dict[str, npt.NDArray[np.float32]]


class Registry(Search):
    """Listings, products and events in a database; vectors in a FAISS index beside it."""

    def __init__(
        self,
        folder: str | Path,
        settings: MatchSettings | None = None,
        *,
        database: str | None = None,
        encoder: TextEncoder | None = None,
        k: int | None = None,
        photos: str = "off",
    ) -> None:
        """`folder` holds the SQLite database (unless `database` names a PostgreSQL one), the
        index and the settings (saved on first use, read when `settings` is None later);
        `encoder` replaces the settings' model (tests pass small ones); `photos`: "off"
        (stored, never fetched) or "fetch" (see `prodmatch.registry.photos`)."""
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.photos = PhotoFetcher.of_mode(photos, self.folder)
        settings = _settings(self.folder, settings)
        self.linker = Linker(settings, encoder=encoder, progress=False)
        self.scorer = PairScorer(self.linker, LexicalStats(ngrams=weighs_own(self.linker)))
        self.k = k or self.linker.settings.k
        dialect = dialect_for(self.folder, database)
        self.store = Store(dialect)
        self.readers = Readers(dialect)
        self.lock = threading.RLock()
        self.index_lock = SharedLock()
        dim = self._check_model()
        self.index = VectorIndex.open(self.folder, dim, self.store, self.k)
        if self.scorer.lexical is not None:
            self.scorer.lexical.catch_up(self.store)
            self.scorer.lexical.publish()
        self._saved_at = time.monotonic()
        self._closed = False
        self.committing = None  # the generation this process is committing, until published

    def _check_model(self) -> int:
        """The vector width; a registry built with one encoder refuses another's vectors."""
        key = self.linker.encoder.key
        stored = self.store.meta("encoder")
        if stored is not None and stored != key:
            raise ProdmatchError(
                f"this registry's vectors come from another encoder ({stored}); "
                f"open it with the same model, or start a new registry (got {key})"
            )
        if stored is None:
            with self.store.write():
                self.store.set_meta("encoder", key)
                self.store.set_meta("dim", str(self.scorer.dim))
        return int(self.store.meta("dim") or 0)

    def warm(self) -> None:
        """Load the encoder now, and check its vectors are as wide as the stored ones. A
        registry opened on a folder reads the width from its database and loads the model on
        the first encode (~4 s for onnx), which a server would make its first request wait
        for; a model of another width would fail there instead of here."""
        width = self.scorer.dim
        stored = int(self.store.meta("dim") or width)
        if width != stored:
            raise ProdmatchError(
                f"this registry's vectors have {stored} dimensions and the model gives "
                f"{width}: open it with the model it was built with"
            )

    def close(self) -> None:
        """Save the index and let go of the database; closing twice does nothing."""
        with self.lock:
            if self._closed:
                return
            self._closed = True
            self.save()
            self.store.close()
            self.readers.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def save(self) -> None:
        """The index to its file (a cache: the database alone can rebuild it)."""
        with self.lock, self.index_lock.shared():  # writing the file only reads it
            self.index.save(self.folder)
            self._saved_at = time.monotonic()

    # -- writes ------------------------------------------------------------------------------

    def upsert(self, listings: Sequence[NewListing]) -> list[dict[str, Any]]:
        """Store a batch; each listing's product (and whether it was new, changed or kept)."""
        return self._store(self._prepare(listings))

    def upsert_many(
        self, batches: Iterable[Sequence[NewListing]]
    ) -> Iterator[list[dict[str, Any]]]:
        """`upsert` of each batch in turn, the following batches' photos and vectors made
        while this one is placed: placing is mostly one core's Python, encoding can use the
        other. Up to `PREPARED_AHEAD` batches are pulled from `batches` ahead of the one being
        stored, `PREPARING` of them prepared at once; none starts after one has failed.
        (What a loader of many batches wants; one batch at a time is `upsert`.)"""
        ahead = ThreadPoolExecutor(PREPARING, thread_name_prefix="prodmatch-encode")
        failed = threading.Event()

        def prepare(batch: Sequence[NewListing]) -> _Prepared:
            if failed.is_set():  # an earlier batch failed: its error is what the caller sees
                raise ProdmatchError("not prepared: an earlier batch failed")
            try:
                return self._prepare(batch)
            except BaseException:
                failed.set()
                raise

        try:
            coming: deque[Future[_Prepared]] = deque()
            for batch in batches:
                coming.append(ahead.submit(prepare, batch))
                if len(coming) > PREPARED_AHEAD:
                    yield self._store(coming.popleft().result())
            while coming:
                yield self._store(coming.popleft().result())
        finally:
            # on an error, an interrupt or a consumer that stops early, the batches not yet
            # started are dropped rather than encoded for nothing before the error shows
            failed.set()
            ahead.shutdown(wait=True, cancel_futures=True)

    def _prepare(self, listings: Sequence[NewListing]) -> _Prepared:
        """What a batch needs before the write lock: checked keys, photos, vectors."""
        keys = [item.key for item in listings]
        if len(set(keys)) != len(keys):
            twice = next(key for key in keys if keys.count(key) > 1)
            raise ProdmatchError(f"listing {twice[0]}/{twice[1]} is in the batch twice")
        # photos are fetched before the lock is taken: a slow host must not hold up others
        photos = self.photos.fetch([item.photo for item in listings]) if self.photos else None
        return _Prepared(listings, photos, self._encode_changed(listings))

    def _store(self, prepared: _Prepared) -> list[dict[str, Any]]:
        """The batch written in one transaction, then its vectors indexed."""
        listings = prepared.listings
        keys = [item.key for item in listings]
        with self.lock:
            with self._writing():
                statuses, pending = self._sort_out(listings)
                vseq = self._match_new(pending, prepared.vectors) if pending else None
                stored = self.store.listings_by_key(keys)
                results = [self._result(stored[item.key], statuses[item.key]) for item in listings]
            if vseq is not None:
                self._index_after_commit(pending, vseq)
        for result, photo in zip(results, prepared.photos or [], strict=False):
            if photo is not None:
                result["photo"] = photo
        return results

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction, the index and the lexical statistics caught up first; the
        statistics are counted again if it is rolled back (it may have counted texts)."""
        lexical = self.scorer.lexical
        try:
            with self.store.write():
                if self.index.vseq != self.store.vseq():  # another process wrote
                    with self.index_lock.exclusive():  # (it waits for searches to end)
                        self.index.catch_up(self.store)
                if lexical is not None:
                    lexical.catch_up(self.store)
                yield
        except BaseException:
            self.committing = None
            if lexical is not None:
                lexical.stale()
            raise

    def _committed(self, vseq: int) -> None:
        """The lexical statistics now count the database as of generation `vseq`; with the
        index indexed up to it, reads no longer answer as before this write."""
        lexical = self.scorer.lexical
        if lexical is not None:
            lexical.vseq = vseq
            lexical.publish()
        self.committing = None

    def _encode_changed(self, listings: Sequence[NewListing]) -> dict[str, npt.NDArray[np.float32]]:
        """Vectors of the texts that differ from the stored ones, encoded before the write
        lock is taken: encoding is most of a write's time, and reads need not wait for it.
        (A listing another writer changes meanwhile is encoded under the lock.)"""
        with self.readers.lend() as reader:
            stored = reader.listings_by_key([item.key for item in listings])
        texts = []
        for item in listings:
            text = self.scorer.texts(item.attributes)[0]
            old = stored.get(item.key)
            if old is None or old.text != text:
                texts.append(text)
        todo = list(dict.fromkeys(texts))
        return dict(zip(todo, self.scorer.encode(todo), strict=True)) if todo else {}

    def _result(self, stored: Listing, status: str) -> dict[str, Any]:
        return {
            "platform": stored.platform,
            "id": stored.id,
            "product": stored.product,
            "status": status,
        }

    def _sort_out(self, listings: Sequence[NewListing]) -> tuple[dict[Key, str], list[_Pending]]:
        """Unchanged texts keep their product (attributes updated); the rest are pending."""
        statuses: dict[Key, str] = {}
        pending: list[_Pending] = []
        stored = self.store.listings_by_key([item.key for item in listings])
        for item in listings:
            old = stored.get(item.key)
            text, plain = self.scorer.texts(item.attributes)
            if old is not None and old.text == text:
                changed = old.attributes != item.attributes or old.photo != item.photo
                if changed:
                    fresh = Listing(
                        old.pk, *item.key, text, plain, old.product, item.attributes, item.photo
                    )
                    self.store.update_listing(fresh, None, 0)
                    self.store.add_event(
                        "update", old.product, listing=item.key, reason={"text": False}
                    )
                statuses[item.key] = "updated" if changed else "unchanged"
                continue
            statuses[item.key] = "created" if old is None else "rematched"
            pending.append(_Pending(item, old, text, plain))
        return statuses, pending

    def _match_new(
        self, pending: list[_Pending], encoded: dict[str, npt.NDArray[np.float32]]
    ) -> int:
        """Encode what is not yet, find candidates, score through the core, and place each
        listing in turn."""
        late = list(dict.fromkeys(p.text for p in pending if p.text not in encoded))
        if late:
            encoded = {**encoded, **dict(zip(late, self.scorer.encode(late), strict=True))}
        vectors = np.stack([encoded[p.text] for p in pending])
        for p, vector in zip(pending, vectors, strict=True):
            p.vector = vector
        vseq = self.store.next_vseq()
        lexical = self.scorer.lexical
        self.committing = vseq
        if lexical is not None:  # the batch is scored under the statistics it leaves
            for p in pending:
                if p.old is not None:
                    lexical.remove(p.old.pk)
            lexical.add([p.plain for p in pending])
        left = [
            Entry(f"q{i}", p.text, p.plain, p.vector, p.item.platform)
            for i, p in enumerate(pending)
        ]
        right, stored, pairs = self._candidates(pending, vectors, left)
        stored_pks = list(stored)
        scored = Scored(left, right, self.scorer.score(left, right, pairs))
        passing = self.scorer.passing(scored)
        kept = self._scores_ahead(pending, left, passing, stored_pks, stored, scored)
        labels = Labels.of(self.store, [p.item.key for p in pending])
        for i, p in enumerate(pending):
            partners = self._partners(passing.get(i, []), stored_pks, pending, stored)
            p.pk = self._place(p, left[i], partners, labels, vseq, kept)
            stored[p.pk] = Stored(p.pk, *p.item.key, p.text, p.plain, 0)
            kept.alias(str(p.pk), left[i].key)
            if lexical is not None:
                lexical.texts[p.pk] = p.plain  # counted above
        return vseq

    def _scores_ahead(
        self,
        pending: list[_Pending],
        left: list[Entry],
        passing: dict[int, list[Partner]],
        stored_pks: list[int],
        stored: dict[int, Stored],
        scored: Scored,
    ) -> KeptScores:
        """The second pass's pairs that can be foreseen before placing, scored in one call:
        each pending listing against the listings of its stored partners' products (as
        `products.choose` reads them), against its partners earlier in the batch, and against
        the product each of those is likeliest to join (its best stored partner's). Placing
        scores what was not foreseen; a pair scores the same either way. Pairs among the
        candidates (most of them) are taken from `scored`, not scored again."""
        kept = KeptScores(self.scorer, scored)
        offset = len(stored_pks)
        chosen: list[list[int]] = []  # each pending listing's stored partners' products
        batch: list[tuple[int, int]] = []  # (pending position, earlier partner's position)
        for i in range(len(pending)):
            best: dict[int, tuple[float, int]] = {}
            for n, score in passing.get(i, []):
                if n >= offset:
                    batch.append((i, n - offset))
                    continue
                pk = stored_pks[n]
                product = stored[pk].product
                if product not in best or (-score, pk) < best[product]:
                    best[product] = (-score, pk)
            chosen.append(sorted(best, key=lambda product: best[product])[: products.MAX_PRODUCTS])
        likely = {i: list(found) for i, found in enumerate(chosen)}
        for i, j in batch:
            if chosen[j] and chosen[j][0] not in likely[i]:
                likely[i].append(chosen[j][0])
        wanted: list[tuple[int, int, int | None]] = []  # (pending position, product, own)
        for i, p in enumerate(pending):
            own = p.old.pk if p.old is not None else None
            wanted.extend((i, product, own) for product in likely[i])
        listings_of = self.store.members_of([product for _, product, _ in wanted])
        members = {
            (product, own): [x for x in listings_of[product] if x.pk != own][: products.MAX_MEMBERS]
            for _, product, own in wanted
        }
        pks = sorted({x.pk for group in members.values() for x in group})
        vectors = self.store.vectors_of(pks)
        entry_of = {
            x.pk: Entry(str(x.pk), x.text, x.plain, vectors[x.pk], x.platform)
            for group in members.values()
            for x in group
        }
        kept.ensure(
            [
                (left[i], entry_of[x.pk])
                for i, product, own in wanted
                for x in members[(product, own)]
            ]
            + [(left[i], left[j]) for i, j in batch]
        )
        return kept

    def _candidates(
        self, pending: list[_Pending], vectors: npt.NDArray[np.float32], left: list[Entry]
    ) -> tuple[list[Entry], dict[int, Stored], list[tuple[int, int]]]:
        """Right-hand entries: stored listings FAISS finds (by pk, in the entries' order),
        then the batch itself (a listing may match one sent before it in the same batch).
        Pairs index into the entries: each listing's `k` closest among the stored listings
        and those before it in the batch, as if the batch had come one listing at a time."""
        moving = {p.old.pk for p in pending if p.old is not None}
        neighbours = self._stored_neighbours(vectors, self.k, moving, self.store)
        pks, found, right, pairs, dots = neighbours
        offset = len(right)
        right.extend(left)  # keyed as the rest of the write keys them (`KeptScores`)
        li = np.asarray([i for i, _ in pairs], dtype=np.int64)
        rj = np.asarray([j for _, j in pairs], dtype=np.int64)
        later, earlier, among = _closest_earlier(vectors, self.k)
        li = np.concatenate([li, later])
        rj = np.concatenate([rj, offset + earlier])
        dots = np.concatenate([dots, among])
        order = np.lexsort((rj, -dots, li))  # by listing, closest first, stored first on ties
        li, rj = li[order], rj[order]
        first = np.searchsorted(li, li)  # where each listing's run starts
        keep = np.arange(len(li)) - first < self.k
        pairs = list(zip(li[keep].tolist(), rj[keep].tolist(), strict=True))
        return right, {pk: found[pk] for pk in pks}, pairs

    def _partners(
        self,
        passing: list[Partner],
        stored_pks: list[int],
        pending: list[_Pending],
        known: dict[int, Stored],
    ) -> list[tuple[float, Stored]]:
        """One listing's partners scoring at least the pair threshold (the only ones a
        listing may join through), in their products as stored now (merges move them; only
        the products are read again), best first; ties go to the older listing. Batch
        partners were placed already (they came earlier); `known` has them all by pk."""
        offset = len(stored_pks)
        pks = [stored_pks[n] if n < offset else pending[n - offset].pk for n, _ in passing]
        product_of = self.store.products_of(pks)
        found = [
            (score, _moved(known[pk], product_of[pk]))
            for pk, (_, score) in zip(pks, passing, strict=True)
            if pk in product_of
        ]
        return sorted(found, key=lambda item: (-item[0], item[1].pk))

    def _place(
        self,
        p: _Pending,
        entry: Entry,
        partners: list[tuple[float, Stored]],
        labels: Labels,
        vseq: int,
        kept: KeptScores,
    ) -> int:
        """Write one listing into its product, with its events, then merge what may; its pk."""
        key = p.item.key
        own = p.old.pk if p.old is not None else None
        choice = products.choose(self.store, self.scorer, entry, key, partners, labels, own, kept)
        home = p.old.product if p.old is not None else None
        product = choice.product
        if product is None:
            alone = p.old is not None and not products.members(self.store, p.old.product, own)
            product = home if alone and home is not None else self.store.new_product()
        listing = Listing(own or 0, *key, p.text, p.plain, product, p.item.attributes, p.item.photo)
        if p.old is None:
            pk = self.store.insert_listing(listing, p.vector, vseq)
        else:
            pk = p.old.pk
            self.store.update_listing(listing, p.vector, vseq)
        if home == product:
            reason = {"text": True, **choice.reason}
            self.store.add_event("update", product, listing=key, reason=reason)
        else:
            self.store.add_event("join", product, other=home, listing=key, reason=choice.reason)
            if home is not None and not self.store.members(home):
                self.store.end_product(home)
        for other, reason in choice.merge:
            by_label = "label" in reason
            if products.may_merge(self.store, product, other) and (
                by_label
                or products.linkage(self.store, self.scorer, product, other, kept)
                >= self.scorer.cluster_threshold
            ):
                product = products.merge(self.store, product, other, reason)
        return pk

    def _index_after_commit(self, pending: list[_Pending], vseq: int) -> None:
        """Committed vectors into the index, then the index kept in shape and saved now and
        then."""
        pks = np.asarray([p.pk for p in pending], dtype=np.int64)
        moved = [p.pk for p in pending if p.old is not None]
        self._publish(vseq, moved, pks, np.stack([p.vector for p in pending]))
        if self.index.outgrown():
            self._rebuild_index()
        if time.monotonic() - self._saved_at > SAVE_EVERY_S:
            self.save()

    def _publish(
        self,
        vseq: int,
        removed: list[int],
        pks: npt.NDArray[np.int64] | None = None,
        vectors: npt.NDArray[np.float32] | None = None,
    ) -> None:
        """The index and lexical statistics brought up to committed write `vseq` (`removed`
        taken out, `pks` added); another process's writes come with catch-up. If that
        fails, reads stop answering as before the write and catch up from the database
        themselves."""
        try:
            with self.index_lock.exclusive():
                if self.index.vseq != vseq - 1:
                    self.index.catch_up(self.store)
                else:
                    self.index.remove(removed)
                    if pks is not None and vectors is not None:
                        self.index.add(pks, vectors)
                    self.index.vseq = vseq
            self._committed(vseq)
        except BaseException:
            self.committing = None
            raise

    def _rebuild_index(self) -> None:
        """The index in the form its size now calls for (exact search turns approximate,
        see `vectors.APPROXIMATE_FROM`), built from a snapshot while searches go on; only
        the swap holds them up. Writers wait: the caller holds `lock`."""
        with self.index_lock.shared():
            pks, vectors = self.index.snapshot()
            vseq = self.index.vseq
        fresh = VectorIndex.built(self.index.dim, pks, vectors, vseq, self.k)
        with self.index_lock.exclusive():
            fresh.catch_up(self.store)  # what other processes wrote meanwhile
            self.index = fresh

    def delete(self, platform: str, listing_id: str) -> Event:
        """Remove a listing; its product ends when it was the last one."""
        with self.lock:
            with self._writing():
                listing = self._listing(platform, listing_id)
                vseq = self.committing = self.store.next_vseq()
                self.store.delete_listing(listing.pk, vseq)
                if self.scorer.lexical is not None:
                    self.scorer.lexical.remove(listing.pk)
                seq = self.store.add_event(
                    "delete", listing.product, listing=(platform, listing_id)
                )
                if not self.store.members(listing.product):
                    self.store.end_product(listing.product)
                event = self.store.events(seq - 1, 1)[0]
            self._publish(vseq, [listing.pk])
        return event

    def label(self, a: Key, b: Key, same: bool) -> dict[str, Any]:
        """A human decision on a pair, applied at once and kept: it wins over any score."""
        if a == b:
            raise ProdmatchError("a label needs two different listings")
        with self.lock, self.store.write():
            first, second = self._listing(*a), self._listing(*b)
            self.store.set_label(a, b, same)
            reason = products.label_reason(a, b, same)
            if same and first.product != second.product:
                if products.may_merge(self.store, first.product, second.product):
                    products.merge(self.store, first.product, second.product, reason)
                else:  # other labels keep the products apart: only this listing moves
                    self.store.move_listings([second.pk], first.product)
                    self.store.add_event(
                        "join", first.product, other=second.product, listing=b, reason=reason
                    )
                    if not self.store.members(second.product):
                        self.store.end_product(second.product)
            elif not same and first.product == second.product:
                products.split(self.store, self.scorer, first.product, reason)
            return {
                "a": self._listing(*a).product,
                "b": self._listing(*b).product,
                "label": reason["label"],
            }

    def forget_label(self, a: Key, b: Key) -> bool:
        """Take a label back (the review page's undo); whether there was one.

        Products stay as the label left them: a product id never changes silently, and
        moving listings back would be a change no event explains. The pair is free again:
        it no longer binds later matching, and a new label on it is applied as any other.
        """
        with self.lock, self.store.write():
            return self.store.delete_label(a, b)

    def labels(self) -> list[tuple[Key, Key, bool]]:
        """Every label, in the order given (a relabelled pair counts as given again)."""
        with self.lock:
            rows = self.store.all_labels(by_time=True)
        return [((ap, ai), (bp, bi), same) for ap, ai, bp, bi, same in rows]

    # -- reads -------------------------------------------------------------------------------

    def _listing(self, platform: str, listing_id: str) -> Listing:
        found = self.store.listing(platform, listing_id)
        if found is None:
            raise NotFound(f"no listing '{listing_id}' on platform '{platform}'")
        return found

    def _read_listing(self, reader: Store, platform: str, listing_id: str) -> Listing:
        """A listing as last committed, read on a read connection."""
        found = reader.listing(platform, listing_id)
        if found is None:
            raise NotFound(f"no listing '{listing_id}' on platform '{platform}'")
        return found

    def get(self, platform: str, listing_id: str) -> Listing:
        with self.readers.lend() as reader:
            return self._read_listing(reader, platform, listing_id)

    def product_of(self, platform: str, listing_id: str) -> int:
        return self.get(platform, listing_id).product

    def product(self, product: int) -> dict[str, Any]:
        """A product's listings on every platform; a merged one names where it went."""
        with self.readers.lend() as reader:
            state = reader.product(product)
            if state is None:
                raise NotFound(f"no product {product}")
            alive, merged_into = state
            listings = reader.listings_of(product)
        return {
            "id": product,
            "alive": alive,
            "merged_into": merged_into,
            "listings": [listing_dict(listing) for listing in listings],
        }

    def events(self, after: int = 0, limit: int = 1000) -> list[Event]:
        with self.readers.lend() as reader:
            return reader.events(after, limit)

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {
                "listings": self.store.count_listings(),
                "products": self.store.count_products(),
                "indexed": len(self.index),
            }

    def export_labels(self, left: str | None = None, right: str | None = None) -> str:
        """Labels as a pairs CSV (`ltable_id,rtable_id,label`, 1 = same) for `prodmatch
        train`, with each listing's platform beside its id.

        With `left` and `right` platforms, only the labels between those two, each pair
        oriented left to right: exactly what `prodmatch train --left LEFT.csv --right
        RIGHT.csv --train labels.csv` reads, with the catalogs those platforms were loaded
        from. Without them, every label, its listings in (platform, id) order.
        """
        if (left is None) != (right is None):
            raise ProdmatchError("give both platforms (left and right), or neither")
        with self.lock:
            rows = self.store.all_labels()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["ltable_id", "rtable_id", "label", "left_platform", "right_platform"])
        for a_platform, a_id, b_platform, b_id, same in rows:
            a, b = (a_platform, a_id), (b_platform, b_id)
            if left is not None:
                if (a_platform, b_platform) == (right, left):
                    a, b = b, a
                elif (a_platform, b_platform) != (left, right):
                    continue
            writer.writerow([a[1], b[1], int(same), a[0], b[0]])
        return out.getvalue()


def _closest_earlier(
    vectors: npt.NDArray[np.float32], k: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """(later, earlier, inner product) for each batch listing and the listings before it in
    the batch that can be among its `k` closest: those at least as close as its k-th closest
    earlier one (ties kept, so sorting the few left gives what sorting all pairs would).
    All pairs of a 500-listing batch are 125k, whose sort cost more than the scoring."""
    n = len(vectors)
    earlier_ones = np.tri(n, n, -1, dtype=bool)
    inner = vectors @ vectors.T
    masked = np.where(earlier_ones, inner, -np.inf)
    nth = min(k, n) - 1
    if nth < 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32)
    kth = -np.partition(-masked, nth, axis=1)[:, nth]  # -inf where fewer than k before
    later, earlier = np.nonzero(earlier_ones & (masked >= kth[:, None]))
    return later.astype(np.int64), earlier.astype(np.int64), inner[later, earlier]


def settle_garbage_collector() -> None:
    """Take what is alive now (imported libraries, the model, an opened registry) out of the
    cyclic garbage collector's view, in a process that runs a registry for long (`prodmatch
    serve`, `prodmatch registry load`): a full collection walks every object it tracks, some
    180,000 after the imports alone, and placing a batch sets one off about once, ~0.2 ms a
    placed listing at 30k listings. What is frozen is never collected as a cycle, so call it
    once, after start-up, and only in a process of your own."""
    gc.collect()
    gc.freeze()


def _settings(folder: Path, settings: MatchSettings | None) -> MatchSettings:
    """The given settings (saved if the folder has none yet), else the folder's own."""
    saved = folder / SETTINGS_FILE
    if settings is None:
        return MatchSettings.load(saved) if saved.exists() else MatchSettings()
    if not saved.exists():
        settings.save(saved)
    return settings


def listing_dict(listing: Listing) -> dict[str, Any]:
    return {
        "platform": listing.platform,
        "id": listing.id,
        "attributes": listing.attributes,
        "photo": listing.photo,
        "product": listing.product,
    }


def _moved(listing: Stored, product: int) -> Stored:
    """`listing` in `product` (`dataclasses.replace`, without its field-by-field look-up:
    placing a batch of 500 made ~8,000 of them)."""
    if listing.product == product:
        return listing
    return Stored(listing.pk, listing.platform, listing.id, listing.text, listing.plain, product)
