"""Registry-wide lexical statistics: the document frequencies behind the `sparse` signal.

Why: with no trained matcher (whose statistics are fixed), the core fits TF-IDF on the texts
of each scoring call. In the registry a call is a new listing and its candidate products'
listings, so the fit ran per listing (most of an upsert's time, in sklearn), and a pair's
score depended on which other texts shared the call: a batch's pairs could not be scored
together without changing decisions. The registry keeps one set of statistics over every
stored listing instead, as a trained matcher keeps its own: a pair's score depends on the two
texts and the registry's contents only.

The statistics are counted from the database: built when the registry opens, changed with
each write (a batch's texts are counted before its pairs are scored, so a batch is scored
under the statistics it leaves), and caught up with other processes' writes by vector
generation (`vseq`), as the FAISS index is. Readers score under the statistics as of the
last commit (`published`), never a batch's still being written.

Terms are the core's (`prodmatch.retrieve.sparse`: character 3-5-grams within words,
sublinear TF, smooth IDF, L2-normalised rows), hashed into `COLUMNS` columns so the
statistics are arrays of a fixed size however large the vocabulary grows (a collision merges two
n-grams' counts; at 2^21 columns they are rare among a catalog's n-grams). A term no stored
listing has (a match query's own) weighs nothing, as a term outside a fixed vocabulary.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from prodmatch.dedup import IDENTIFIER_LISTINGS
from prodmatch.linker import model_numbers
from prodmatch.registry.store import Store
from prodmatch.retrieve.sparse import ANALYZER, NGRAMS

COLUMNS = 2**21
# Each text's model numbers, kept: a stored listing is read again batch after batch. Kept
# as tuples in a plain dict, emptied when full: the cyclic garbage collector stops looking at
# a tuple of strings, never at a frozenset or an `lru_cache` entry, and walking 100k of each
# made its full collections, about one a batch, cost ~0.3 ms a placed listing.
_CODES: dict[str, tuple[str, ...]] = {}
CACHED_CODES = 200_000
_NO_CODES: frozenset[str] = frozenset()


def model_numbers_of(plain: str) -> frozenset[str]:
    """The model numbers of a plain text (`prodmatch.linker.model_numbers`), kept."""
    kept = _CODES.get(plain)
    if kept is None:
        if len(_CODES) >= CACHED_CODES:
            _CODES.clear()
        kept = _CODES[plain] = tuple(sorted(model_numbers([plain])[0]))
    return frozenset(kept) if kept else _NO_CODES


# Texts whose n-gram counts are kept (`_Bank`, ~0.6 kB a title). Stored listings are scored
# again batch after batch, from anywhere in the registry: with 50,000 kept, a 95k registry
# hashed ~10 texts again for each listing it placed (0.5 ms of its ~3.7). Hashing a text is
# sklearn's Python n-gram loop, ~50 us.
CACHED_TEXTS = 200_000


@dataclass(frozen=True)
class Weights:
    """What weighting reads: the number of documents and log(1 + df) per column. The IDF of
    a column is log(1 + documents) + 1 - log(1 + df) (sklearn's smooth IDF), so a write
    changes only the columns its texts touch and the one number, never the whole array."""

    documents: int
    log_df: npt.NDArray[np.float32]
    vseq: int = -1  # the database generation they count


class LexicalStats:
    """Document frequencies of hashed n-grams over the stored listings' plain texts."""

    def __init__(self, ngrams: bool = True) -> None:
        """`ngrams`: count n-grams too (off where a trained matcher's fixed statistics
        weigh the `sparse` signal: only the model numbers are counted then)."""
        self.ngrams = ngrams
        self._hasher = HashingVectorizer(
            analyzer=ANALYZER,
            ngram_range=NGRAMS,
            n_features=COLUMNS,
            alternate_sign=False,
            norm=None,
            dtype=np.float32,
        )
        self.df = np.zeros(COLUMNS, dtype=np.int32)
        self.log_df = np.zeros(COLUMNS, dtype=np.float32)  # log(1 + df), kept with df
        self.documents = 0
        self.codes: dict[str, int] = {}  # model number -> stored listings naming it
        self.texts: dict[int, str] = {}  # pk -> plain text counted (to uncount it later)
        self.vseq = -1  # the database generation counted; -1: not built
        self.lock = threading.Lock()  # the counts cache, shared by readers and the writer
        self._bank = _Bank(CACHED_TEXTS)
        self.published = Weights(0, self.log_df.copy(), -1)

    # -- counting ------------------------------------------------------------------------

    def counts(self, plain: Sequence[str]) -> sp.csr_matrix:
        """Raw n-gram counts of each text, one row each (kept per text, bounded)."""
        with self.lock:
            todo = list(dict.fromkeys(text for text in plain if text not in self._bank.row_of))
            self._bank.touch(plain)  # what this call reads is kept through a drop
            if todo:
                self._bank.put(todo, sp.csr_matrix(self._hasher.transform(todo)))
            return self._bank.rows(plain)

    def add(self, plain: Sequence[str], sign: int = 1) -> None:
        """Count (or, with sign -1, uncount) these texts as documents."""
        if not plain:
            return
        if self.ngrams:
            columns = self.counts(plain).indices
            np.add.at(self.df, columns, sign)
            touched = np.unique(columns)
            self.log_df[touched] = np.log1p(self.df[touched])
        self.documents += sign * len(plain)
        for text in plain:
            for code in model_numbers_of(text):
                left = self.codes.get(code, 0) + sign
                if left > 0:
                    self.codes[code] = left
                else:
                    self.codes.pop(code, None)

    def identifiers(self, plain: str) -> frozenset[str]:
        """The model numbers of a text that name one product in the registry: found in at
        most `IDENTIFIER_LISTINGS` stored listings, as `prodmatch.dedup.rare_identifiers`
        reads a catalog (a code more listings name, "1080p" or a series' base code,
        describes a feature)."""
        return frozenset(
            code
            for code in model_numbers_of(plain)
            if self.codes.get(code, 0) <= IDENTIFIER_LISTINGS
        )

    def put(self, pk: int, plain: str) -> None:
        """A stored listing's text, replacing what was counted for it."""
        self.remove(pk)
        self.texts[pk] = plain
        self.add([plain])

    def remove(self, pk: int) -> None:
        old = self.texts.pop(pk, None)
        if old is not None:
            self.add([old], -1)

    # -- keeping up with the database ----------------------------------------------------

    def rebuild(self, store: Store) -> None:
        """Counted again from every stored listing."""
        self.df[:] = 0
        self.log_df[:] = 0
        self.documents = 0
        self.codes = {}
        self.texts = {}
        latest = store.vseq()
        rows = store.plains_since(-1)
        self.texts = dict(rows)
        for start in range(0, len(rows), 5000):
            self.add([plain for _, plain in rows[start : start + 5000]])
        self.vseq = latest

    def catch_up(self, store: Store) -> None:
        """Apply what the database changed after the generation counted (another process's
        writes); rebuilt when never built, or when the database went back."""
        latest = store.vseq()
        if latest == self.vseq:
            return
        if self.vseq < 0 or latest < self.vseq:
            self.rebuild(store)
            return
        for pk in store.gone_since(self.vseq):
            self.remove(pk)
        for pk, plain in store.plains_since(self.vseq):
            self.put(pk, plain)
        self.vseq = latest

    def publish(self) -> None:
        """The statistics now become the readers' (after a commit). One assignment: a
        reader takes the weights and their generation together."""
        self.published = Weights(self.documents, self.log_df.copy(), self.vseq)

    @property
    def published_vseq(self) -> int:
        return self.published.vseq

    def stale(self) -> None:
        """A write that counted texts was rolled back: count again before the next use."""
        self.vseq = -1

    # -- weighting -----------------------------------------------------------------------

    def current(self) -> Weights:
        """The counts now (the writer's; they share the arrays, which it alone changes)."""
        return Weights(self.documents, self.log_df, self.vseq)

    def rows(self, plain: Sequence[str], weights: Weights) -> sp.csr_matrix:
        """L2-normalised TF-IDF rows (sublinear TF, smooth IDF as sklearn's) of these texts
        under `weights`; a term no listing has weighs nothing."""
        rows = self.counts(plain)
        log_df = weights.log_df[rows.indices]
        idf = np.where(log_df > 0, np.log1p(weights.documents) + 1.0 - log_df, 0.0)
        rows.data = ((1.0 + np.log(rows.data)) * idf).astype(np.float32)
        norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        scale = np.repeat(1.0 / norms, np.diff(rows.indptr)).astype(np.float32)
        rows.data = rows.data * scale
        rows.eliminate_zeros()
        return rows

    def frequencies(self) -> dict[int, int]:
        """The nonzero document frequencies by column (what tests compare)."""
        columns = np.flatnonzero(self.df)
        return {int(c): int(self.df[c]) for c in columns}


class _Bank:
    """The n-gram counts of many texts as one growing CSR matrix (a row a text), so that
    the rows of a batch's ~9,000 stored texts are gathered in a few numpy steps; unpacked
    text by text, they took ~9 us each. Bounded: past `capacity` texts, the half read
    longest ago is dropped."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.row_of: dict[str, int] = {}
        self.texts: list[str] = []  # by row
        self.indptr = np.zeros(1, dtype=np.int64)
        self.indices = np.zeros(0, dtype=np.int32)  # allocated ahead: the first nnz are used
        self.data = np.zeros(0, dtype=np.float32)
        self.read = np.zeros(0, dtype=np.int64)  # the read that last took each row
        self.reads = 0

    def put(self, texts: Sequence[str], counts: sp.csr_matrix) -> None:
        """Keep these texts' counts (none of them kept yet), one row each."""
        if len(self.texts) + len(texts) > self.capacity:
            self._drop_older_half()
        used, added = int(self.indptr[-1]), int(counts.indptr[-1])
        if used + added > len(self.indices):
            room = max(2 * len(self.indices), used + added)
            self.indices = np.resize(self.indices, room)
            self.data = np.resize(self.data, room)
        self.indices[used : used + added] = counts.indices
        self.data[used : used + added] = counts.data
        self.indptr = np.concatenate([self.indptr, used + counts.indptr[1:]])
        self.read = np.concatenate([self.read, np.full(len(texts), self.reads, np.int64)])
        for text in texts:
            self.row_of[text] = len(self.texts)
            self.texts.append(text)

    def touch(self, texts: Sequence[str]) -> None:
        """A new read, of these texts (those kept): the last a drop would lose."""
        self.reads += 1
        kept = [self.row_of[text] for text in texts if text in self.row_of]
        self.read[np.asarray(kept, dtype=np.int64)] = self.reads

    def rows(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The kept counts of these texts (read by the last `touch`), one row each, in their
        order."""
        wanted = np.fromiter((self.row_of[text] for text in texts), np.int64, len(texts))
        self.read[wanted] = self.reads
        indptr, take = self._gather(wanted)
        return sp.csr_matrix(
            (self.data[take], self.indices[take], indptr), shape=(len(texts), COLUMNS)
        )

    def _gather(
        self, rows: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The indptr of these rows stacked, and where their entries are in the arrays."""
        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        return indptr, np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])

    def _drop_older_half(self) -> None:
        """Keep the half of the rows read last (and all the last read's), in their order."""
        size = max(self.capacity // 2, int(np.count_nonzero(self.read == self.reads)))
        keep = np.sort(np.argsort(-self.read, kind="stable")[:size])
        indptr, take = self._gather(keep)
        self.indices, self.data = self.indices[take], self.data[take]
        self.indptr, self.read = indptr, self.read[keep]
        self.texts = [self.texts[row] for row in keep.tolist()]
        self.row_of = {text: row for row, text in enumerate(self.texts)}
