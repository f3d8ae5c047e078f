"""Listings to texts, vectors and pair scores, through the one matching core (`Linker`).

The registry differs from `prodmatch match` only in where vectors and candidates come from
(the database and its FAISS index): serialising, encoding, the signals, the scorer or trained
matcher and its threshold are the linker's, so a pair gets the same signals here as in a
batch run over the same two listings.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.dedup import (
    CONFLICT_SCORE,
    PLAIN_DEDUP_THRESHOLDS,
    details_disagree,
    identifiers_disagree,
)
from prodmatch.linker import SIGNAL_COLUMNS, Linker, Side
from prodmatch.registry.lexical import LexicalStats, model_numbers_of
from prodmatch.score import needs_sparse
from prodmatch.text import serialize_record
from prodmatch.text.attributes import Attributes, tagged_attributes


@dataclass(slots=True)
class Entry:
    """What scoring reads of one listing: its two texts and its vector (read-only, not
    frozen, for the reason `Stored` gives)."""

    key: str
    text: str
    plain: str
    vector: npt.NDArray[np.float32]
    platform: str = ""  # the registry's writes compare it (see `PairScorer.conflicts`)


Entries = Sequence[Entry]
Pairs = Sequence[tuple[int, int]]  # (left position, right position)
Partner = tuple[int, float]  # (right position, score)


# The average linkage a listing needs to join a product, by plain scorer, under the registry's
# own lexical statistics (`prodmatch.registry.lexical`): chosen by product-pair F1 on generated
# catalogs with their truth products (`bench/choose_join_threshold.py`,
# bench/results/join_threshold.json). The dedup thresholds were chosen under TF-IDF fitted per
# call, which scores the same pair differently. Chosen again once conflicting pairs within a
# platform counted as `CONFLICT_SCORE` (`PairScorer.conflicts`; December 4): 0.70 again, its
# mean F1 over seeds 1 and 2 from 0.56 to 0.65 (records 9ef5a0998a41, 4d2a7b784132).
REGISTRY_JOIN_THRESHOLDS: dict[str, float] = {"hybrid": 0.70}


def weighs_own(linker: Linker) -> bool:
    """Whether the registry weighs the `sparse` signal by its own n-gram statistics: the
    linker's scorer reads it and has no fixed statistics (a trained matcher's)."""
    return linker.lexical is None and needs_sparse(linker.settings.scorer)


class PairScorer:
    """Scores pairs of entries with the linker's features and scorer."""

    def __init__(self, linker: Linker, lexical: LexicalStats | None = None) -> None:
        """`lexical`: the registry's statistics, read for its model-number counts
        (`conflicts`) and, when `weighs_own(linker)`, for the `sparse` signal."""
        self.linker = linker
        self.lexical = lexical
        self.weighs = lexical is not None and weighs_own(linker)  # `sparse` by `lexical`
        self.join_threshold: float | None = None  # set: overrides `cluster_threshold`
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
        if self.join_threshold is not None:
            return self.join_threshold
        if settings.threshold is not None:
            return settings.threshold
        if self.weighs and settings.scorer in REGISTRY_JOIN_THRESHOLDS:
            return REGISTRY_JOIN_THRESHOLDS[settings.scorer]
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
        """Vectors of `texts`; callable outside the registry's lock. A thread-safe encoder
        (the onnx engines) runs for several callers at once: a match's one text need not
        wait for a loader's batch of 500 (a second at 100k); others take turns."""
        encoder = self.linker.encoder
        if getattr(encoder, "thread_safe", False):
            return encoder.encode(list(texts), progress=False)
        with self._encoding:
            return encoder.encode(list(texts), progress=False)

    def score(
        self, left: Entries, right: Entries, pairs: Pairs, *, reading: bool = False
    ) -> pd.DataFrame:
        """Columns left, right (positions), the signals and `score`, one row per pair.

        `reading`: under the lexical statistics of the last commit (a read), else those now
        (the writer's, which count the batch being placed)."""
        if not pairs:
            return pd.DataFrame({"left": [], "right": [], "score": []})
        sides = [_side("left", left), _side("right", right)]
        if needs_sparse(self.linker.settings.scorer):
            if self.lexical is not None and self.weighs:
                weights = self.lexical.published if reading else self.lexical.current()
                for side in sides:
                    side.tfidf = self.lexical.rows(side.plain, weights)
            else:
                self.linker.add_tfidf(sides)
        li, ri = (np.asarray(column, dtype=np.int64) for column in zip(*pairs, strict=True))
        features = self.linker.features(sides[0], sides[1], li, ri)
        features["score"] = self.linker.score(sides[0], sides[1], features)
        return features

    def conflicts(self, pairs: Sequence[tuple[Entry, Entry]]) -> list[bool]:
        """Whether each pair is two listings of one platform that name two products by
        evidence the scores blur, read as `prodmatch dedup` reads pairs within a source:
        identifying model numbers that share none (`LexicalStats.identifiers`), or details
        that disagree (`prodmatch.dedup.details_disagree`: "16 inch" against "13.3 inch",
        Mac against Windows). Across platforms no pair conflicts, as in dedup: there one
        side often omits or rewrites a code. Read under the registry's statistics (the
        writer's): none without them."""
        stats = self.lexical
        if stats is None:
            return [False] * len(pairs)
        found = []
        for a, b in pairs:
            if not a.platform or a.platform != b.platform:
                found.append(False)
                continue
            found.append(
                identifiers_disagree(stats.identifiers(a.plain), stats.identifiers(b.plain))
                or details_disagree(_details(a.text), _details(b.text))
            )
        return found

    def rows(self, left: Entries, right: Entries, pairs: Pairs) -> list[dict[str, Any]]:
        """`score` as one dict per pair, in the order of `pairs`."""
        return records(self.score(left, right, pairs))

    def passing(self, scored: Scored) -> dict[int, list[Partner]]:
        """Each left position's pairs scoring at least the pair threshold, as (right
        position, score), in the order scored. A batch's candidate pairs are mostly below
        it, and a dict per pair (`rows`) cost about half as much as scoring it."""
        frame = scored.frame
        scores = frame["score"].to_numpy()
        keep = scores >= self.threshold
        lefts = frame["left"].to_numpy()[keep].tolist()  # Python ints and floats already
        rights = frame["right"].to_numpy()[keep].tolist()
        found: dict[int, list[Partner]] = {}
        for i, n, score in zip(lefts, rights, scores[keep].tolist(), strict=True):
            found.setdefault(i, []).append((n, score))
        return found


@dataclass
class Scored:
    """One scoring call's frame (`PairScorer.score`) with the entries its positions index.

    Why: a write scores its batch's candidate pairs in one call, and placing then reads
    most of those pairs again (a listing against the listings of its partners' products,
    who are mostly among its candidates). `KeptScores` takes those rows from here instead
    of scoring them a second time."""

    left: Entries
    right: Entries
    frame: pd.DataFrame

    def __post_init__(self) -> None:
        """Where each entry and each pair is: a pair is coded left * len(right) + right,
        the codes sorted once (`rows_of` is called for each listing placed)."""
        self._left_at = {e.key: n for n, e in enumerate(self.left)}
        self._right_at = {e.key: n for n, e in enumerate(self.right)}
        codes = self.frame["left"].to_numpy(np.int64) * len(self.right)
        codes += self.frame["right"].to_numpy(np.int64)
        self._order = np.argsort(codes, kind="stable")
        self._codes = codes[self._order]

    def rows_of(self, pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any] | None]:
        """The rows of these (left key, right key) pairs, None for a pair not scored here."""
        left_at, right_at, width = self._left_at, self._right_at, len(self.right)
        wanted = np.fromiter(
            (
                left_at[a] * width + right_at[b] if a in left_at and b in right_at else -1
                for a, b in pairs
            ),
            np.int64,
            len(pairs),
        )
        if not len(self._codes):
            return [None] * len(pairs)
        at = np.minimum(np.searchsorted(self._codes, wanted), len(self._codes) - 1)
        hit = (wanted >= 0) & (self._codes[at] == wanted)
        rows = self._order[at[hit]]
        found = iter(records(self.frame.iloc[rows]))
        return [next(found) if h else None for h in hit.tolist()]


class KeptScores:
    """The scored pairs of one write, by the two entries' keys: a batch's pairs are scored
    in as few calls as possible (one for what is known ahead), each pair once. Each row
    has `linkage` beside `score`: what average linkage reads, `CONFLICT_SCORE` for a pair
    that conflicts (`PairScorer.conflicts`), else its score.

    Sound only because a pair's score depends on its two entries and the registry's
    statistics alone, which do not change while a batch is placed (`LexicalStats`): scored
    early, together or late, a pair scores the same.
    """

    def __init__(self, scorer: PairScorer, scored: Scored | None = None) -> None:
        """`scored`: the write's call over its candidate pairs, whose rows are taken as
        they are (same entries, same statistics: the same score)."""
        self.scorer = scorer
        self.scored = scored
        self.kept: dict[tuple[str, str], dict[str, Any]] = {}
        self.aliases: dict[str, str] = {}

    def alias(self, key: str, same_as: str) -> None:
        """Entries keyed `key` from now on are the entry keyed `same_as` (a batch listing,
        scored ahead under its place in the batch, once it is stored under its pk)."""
        self.aliases[key] = same_as

    def _pair(self, a: Entry, b: Entry) -> tuple[str, str]:
        return self.aliases.get(a.key, a.key), self.aliases.get(b.key, b.key)

    def ensure(self, pairs: Sequence[tuple[Entry, Entry]]) -> None:
        """Score the pairs not kept yet, in one call (those `scored` has, taken from it)."""
        wanted: dict[tuple[str, str], tuple[Entry, Entry]] = {}
        for a, b in pairs:
            pair = self._pair(a, b)
            if pair not in self.kept:
                wanted[pair] = (a, b)
        todo = list(wanted.items())
        if not todo:
            return
        rows: list[dict[str, Any] | None] = [None] * len(todo)
        if self.scored is not None:
            rows = self.scored.rows_of([pair for pair, _ in todo])
        missing = [n for n, row in enumerate(rows) if row is None]
        if missing:
            unscored = [todo[n][1] for n in missing]
            lefts = list({a.key: a for a, _ in unscored}.values())
            rights = list({b.key: b for _, b in unscored}.values())
            left_at = {e.key: n for n, e in enumerate(lefts)}
            right_at = {e.key: n for n, e in enumerate(rights)}
            positions = [(left_at[a.key], right_at[b.key]) for a, b in unscored]
            fresh = self.scorer.rows(lefts, rights, positions)
            for n, found in zip(missing, fresh, strict=True):
                rows[n] = found
        vetoed = self.scorer.conflicts([entries for _, entries in todo])
        for (pair, _), row, veto in zip(todo, rows, vetoed, strict=True):
            assert row is not None
            row["linkage"] = CONFLICT_SCORE if veto else row["score"]
            self.kept[pair] = row

    def rows(self, pairs: Sequence[tuple[Entry, Entry]]) -> list[dict[str, Any]]:
        """The rows of these pairs (scored now where not kept), in their order."""
        self.ensure(pairs)
        return [self.kept[self._pair(a, b)] for a, b in pairs]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as dicts of plain Python values (`DataFrame.to_dict("records")` is
    several times slower: it boxes each value on its own)."""
    names = [str(name) for name in frame.columns]
    columns = [frame[name].tolist() for name in frame.columns]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def signals(row: Mapping[str, object]) -> dict[str, float]:
    """The signals behind one scored pair, for a "why" answer."""
    return {name: float(row[name]) for name in SIGNAL_COLUMNS if name in row}  # type: ignore[arg-type]


# Each text's details (`tagged_attributes`: quantities, years, editions, platforms), kept
# for the conflicts of a write's pairs: a product's listings are compared again with each
# listing that may join it, and parsing a title costs ~28 us. Kept as tuples of strings and
# numbers, which the cyclic garbage collector stops looking at: 100k `Attributes` (a dict
# and frozensets each) added ~0.3 s to each full collection. Bounded, as `lexical._CODES`.
Details = tuple[
    tuple[tuple[str, tuple[float, ...]], ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]
]
_DETAILS: dict[str, Details] = {}
CACHED_DETAILS = 200_000
_NO_DETAILS = Attributes(None, None, None, {}, frozenset(), frozenset(), frozenset())


def _details(text: str) -> Attributes:
    """What `details_disagree` reads of a tagged text (price, currency and brand left
    empty)."""
    kept = _DETAILS.get(text)
    if kept is None:
        if len(_DETAILS) >= CACHED_DETAILS:
            _DETAILS.clear()
        found = tagged_attributes(text)
        kept = _DETAILS[text] = (
            tuple((unit, tuple(sorted(values))) for unit, values in found.quantities.items()),
            tuple(sorted(found.years)),
            tuple(sorted(found.editions)),
            tuple(sorted(found.platforms)),
        )
    quantities, years, editions, platforms = kept
    if not (quantities or years or editions or platforms):
        return _NO_DETAILS
    return Attributes(
        None,
        None,
        None,
        {unit: frozenset(values) for unit, values in quantities},
        frozenset(years),
        frozenset(editions),
        frozenset(platforms),
    )


def _side(name: str, entries: Sequence[Entry]) -> Side:
    keys = pd.Index([entry.key for entry in entries], name="id")
    catalog = Catalog(name, pd.DataFrame(index=keys))
    texts, plain = [e.text for e in entries], [e.plain for e in entries]
    codes = [model_numbers_of(text) for text in plain]
    side = Side(catalog=catalog, texts=texts, plain=plain, codes=codes)
    # one concatenation: `np.stack` of ~10,000 rows took twice as long, a view at a time
    flat = np.concatenate([entry.vector for entry in entries])
    side.vectors = flat.reshape(len(entries), -1).astype(np.float32, copy=False)
    return side
