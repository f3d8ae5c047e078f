"""Listings to texts, vectors and pair scores, through the one matching core (`Linker`).

The registry differs from `prodmatch match` only in where vectors and candidates come from
(the database and its FAISS index): serialising, encoding, the signals, the scorer or trained
matcher and its threshold are the linker's, so a pair gets the same signals here as in a
batch run over the same two listings.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from prodmatch.data.catalog import Catalog
from prodmatch.dedup import PLAIN_DEDUP_THRESHOLDS
from prodmatch.linker import SIGNAL_COLUMNS, Linker, Side, model_numbers
from prodmatch.retrieve import SparseIndex
from prodmatch.score import needs_sparse
from prodmatch.text import serialize_record


@dataclass(frozen=True)
class Entry:
    """What scoring reads of one listing: its two texts and its vector."""

    key: str
    text: str
    plain: str
    vector: npt.NDArray[np.float32]


Entries = Sequence[Entry]
Pairs = Sequence[tuple[int, int]]  # (left position, right position)


class PairScorer:
    """Scores pairs of entries with the linker's features and scorer."""

    def __init__(self, linker: Linker) -> None:
        self.linker = linker
        self._encoding = threading.Lock()  # the encoder and its cache, one caller at a time

    @property
    def threshold(self) -> float:
        """Pairs scoring less are no candidates: the linking threshold."""
        return self.linker.settings.decision_threshold

    @property
    def cluster_threshold(self) -> float:
        """The average linkage a listing needs to join a product: a threshold set in the
        settings (a trained matcher's), else the scorer's `PLAIN_DEDUP_THRESHOLDS`
        (`prodmatch.dedup`), else its linking one."""
        settings = self.linker.settings
        if settings.threshold is not None:
            return settings.threshold
        return PLAIN_DEDUP_THRESHOLDS.get(settings.scorer, settings.decision_threshold)

    @property
    def dim(self) -> int:
        return int(self.linker.encoder.encode(["dimension probe"], progress=False).shape[1])

    def texts(self, attributes: Mapping[str, str]) -> tuple[str, str]:
        """The tagged text the encoder reads and the plain text lexical signals read.

        The columns are the settings' (if named) else the listing's own attributes in the
        order given, so a listing's text never depends on what else arrived with it.
        """
        columns = self.linker.settings.columns or list(attributes)
        return (
            serialize_record(attributes, columns),
            serialize_record(attributes, columns, tags=False),
        )

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Vectors of `texts`; callable outside the registry's lock (it has its own)."""
        with self._encoding:
            return self.linker.encoder.encode(list(texts), progress=False)

    def score(self, left: Entries, right: Entries, pairs: Pairs) -> pd.DataFrame:
        """Columns left, right (positions), the signals and `score`, one row per pair."""
        if not pairs:
            return pd.DataFrame({"left": [], "right": [], "score": []})
        sides = [_side("left", left), _side("right", right)]
        if needs_sparse(self.linker.settings.scorer):
            self.linker.add_tfidf(sides)
        li, ri = (np.asarray(column, dtype=np.int64) for column in zip(*pairs, strict=True))
        return self._scored(sides[0], sides[1], li, ri)

    def rows(self, left: Entries, right: Entries, pairs: Pairs) -> list[dict[str, Any]]:
        """`score` as one dict per pair, in the order of `pairs`."""
        frame = self.score(left, right, pairs)
        return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]

    def batch(self, corpus: Sequence[Entry]) -> BatchScorer:
        """A scorer for one upsert batch, its TF-IDF statistics fitted on `corpus`."""
        return BatchScorer(self.linker, corpus)

    def _scored(
        self, left: Side, right: Side, li: npt.NDArray[np.int64], ri: npt.NDArray[np.int64]
    ) -> pd.DataFrame:
        features = self.linker.features(left, right, li, ri)
        features["score"] = self.linker.score(left, right, features)
        return features


class BatchScorer(PairScorer):
    """The scorer of one upsert batch: TF-IDF statistics fitted once, each pair scored once.

    Placing a batch's listings one at a time asks for many small scorings (a listing against
    its candidate products' members, two products against each other), often of the same
    pairs; fitting TF-IDF for each of them took most of the ingest time. Here the statistics
    are fitted once per batch, on the corpus of its first scoring (the batch and its stored
    neighbours), each listing's TF-IDF row and model numbers are read once, and each pair is
    scored once through the core and kept. Entries are known by key (a stored listing's is its
    pk); `alias` makes a just-placed listing's pk name the entry it was scored under.
    """

    def __init__(self, linker: Linker, corpus: Sequence[Entry]) -> None:
        super().__init__(linker)
        self.aliases: dict[str, str] = {}
        self.where: dict[str, int] = {}  # key -> position in the pool below
        self.pool: list[Entry] = []
        self.codes: list[frozenset[str]] = []
        self.blocks: list[sp.csr_matrix] = []  # TF-IDF rows, a block per reading
        self.row_of: list[tuple[int, int]] = []  # pool position -> (block, row)
        self.done: dict[tuple[int, int], dict[str, Any]] = {}
        self.lexical: SparseIndex | None = None
        first = [self._known(entry) for entry in corpus]
        if needs_sparse(linker.settings.scorer):
            self.lexical, rows = linker.lexical_rows([entry.plain for entry in corpus])
            self.blocks.append(rows)
            row: dict[int, int] = {}
            for n, position in enumerate(first):
                row.setdefault(position, n)  # a text twice in the corpus: its first row
            self.row_of = [(0, row[position]) for position in range(len(self.pool))]

    def alias(self, key: str, target: str) -> None:
        self.aliases[key] = target

    def score(self, left: Entries, right: Entries, pairs: Pairs) -> pd.DataFrame:
        rows = self.rows(left, right, pairs)
        return pd.DataFrame(rows) if rows else pd.DataFrame({"left": [], "right": [], "score": []})

    def rows(self, left: Entries, right: Entries, pairs: Pairs) -> list[dict[str, Any]]:
        lpos, rpos = [self._known(e) for e in left], [self._known(e) for e in right]
        wanted = [(lpos[i], rpos[j]) for i, j in pairs]
        missing = list(dict.fromkeys(w for w in wanted if w not in self.done))
        if missing:
            self._score(missing)
        return [
            {**self.done[w], "left": i, "right": j} for w, (i, j) in zip(wanted, pairs, strict=True)
        ]

    def _known(self, entry: Entry) -> int:
        """The entry's pool position (added if new)."""
        key = self.aliases.get(entry.key, entry.key)
        found = self.where.get(key)
        if found is None:
            found = self.where[key] = len(self.pool)
            self.pool.append(entry)
        return found

    def _score(self, missing: list[tuple[int, int]]) -> None:
        self._read_new()
        used = sorted({n for pair in missing for n in pair})
        at = {n: i for i, n in enumerate(used)}
        li = np.asarray([at[a] for a, _ in missing], dtype=np.int64)
        ri = np.asarray([at[b] for _, b in missing], dtype=np.int64)
        side = _side("batch", [self.pool[n] for n in used], [self.codes[n] for n in used])
        if self.lexical is not None:
            side.tfidf = self._tfidf(used)
        features = self._scored(side, side, li, ri)
        for pair, row in zip(missing, features.to_dict("records"), strict=True):
            self.done[pair] = {str(k): v for k, v in row.items() if k not in ("left", "right")}

    def _read_new(self) -> None:
        """Model numbers and TF-IDF rows of the entries added since the last reading."""
        self.codes.extend(_model_numbers(entry.plain) for entry in self.pool[len(self.codes) :])
        if self.lexical is not None and len(self.row_of) < len(self.pool):
            fresh = self.pool[len(self.row_of) :]
            self.blocks.append(self.lexical.transform([entry.plain for entry in fresh]))
            self.row_of.extend((len(self.blocks) - 1, n) for n in range(len(fresh)))

    def _tfidf(self, used: list[int]) -> sp.csr_matrix:
        """The TF-IDF rows of these pool positions, in their order."""
        by_block: dict[int, list[int]] = {}
        for n, position in enumerate(used):
            by_block.setdefault(self.row_of[position][0], []).append(n)
        parts, order = [], []
        for block, mine in sorted(by_block.items()):
            parts.append(self.blocks[block][[self.row_of[used[n]][1] for n in mine]])
            order.extend(mine)
        stacked = sp.csr_matrix(sp.vstack(parts))
        return sp.csr_matrix(stacked[np.argsort(np.asarray(order))])


def signals(row: Mapping[str, object]) -> dict[str, float]:
    """The signals behind one scored pair, for a "why" answer."""
    return {name: float(row[name]) for name in SIGNAL_COLUMNS if name in row}  # type: ignore[arg-type]


@functools.lru_cache(maxsize=200_000)
def _model_numbers(plain: str) -> frozenset[str]:
    """One text's model numbers, kept: a stored listing is read again by batch after batch."""
    return model_numbers([plain])[0]


def _side(name: str, entries: Sequence[Entry], codes: list[frozenset[str]] | None = None) -> Side:
    """Entries as a side to score; `codes`: their model numbers, when known already."""
    keys = pd.Index([entry.key for entry in entries], name="id")
    catalog = Catalog(name, pd.DataFrame(index=keys))
    texts, plain = [e.text for e in entries], [e.plain for e in entries]
    side = (
        Side.of_texts(catalog, texts, plain)
        if codes is None
        else Side(catalog=catalog, texts=texts, plain=plain, codes=codes)
    )
    side.vectors = np.stack([entry.vector for entry in entries]).astype(np.float32)
    return side
