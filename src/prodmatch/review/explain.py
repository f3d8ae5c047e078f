"""Why a pair got its score: signals, attributes and tokens.

An explanation has three parts (see `explain_pair`):

1. **signals**: how much each signal (encoder cosine, TF-IDF, model numbers, photo,
   classifier inputs, cross-encoder) moved the score; see `prodmatch.review.signals` for the
   exact decompositions and the attribution used otherwise.
2. **attributes**: the score with each attribute left out of *both* listings, and the
   change that made; a large drop means the attribute carried the match.
3. **tokens**: occlusion: each word of either listing removed in turn (the other listing
   unchanged); ``change`` is how much the score fell without it (negative: the word argued
   against a match).

Every score here comes from the linker's own `features` and `score` on the prepared sides,
so the explained score is the score `match` gives the pair. Changed listings are built as
one-row catalogs and read the same way (`Linker.side`, the encoder, the TF-IDF statistics
of `Linker.lexical_index`), then scored by the same `Linker.score`.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.errors import ProdmatchError
from prodmatch.linker import Linker, Side
from prodmatch.retrieve import SparseIndex
from prodmatch.review.signals import SignalBreakdown, signal_breakdown

__all__ = ["AttributePart", "Explainer", "Explanation", "TokenPart", "explain_pair"]


@dataclass(frozen=True)
class AttributePart:
    attribute: str
    score_without: float
    change: float  # score - score_without: positive when the attribute raised the score


@dataclass(frozen=True)
class TokenPart:
    side: str  # "left" or "right"
    attribute: str
    position: int  # word position within the attribute's value
    token: str
    change: float  # score - score without this word


@dataclass
class Explanation:
    left_id: str
    right_id: str
    score: float
    threshold: float
    scorer: str
    signals: SignalBreakdown
    attributes: list[AttributePart] = field(default_factory=list)
    tokens: list[TokenPart] = field(default_factory=list)

    @property
    def above_threshold(self) -> bool:
        return self.score >= self.threshold

    def top_tokens(self, side: str, n: int = 5) -> list[TokenPart]:
        """The `n` words of one side whose removal lowers the score most."""
        mine = [t for t in self.tokens if t.side == side]
        return sorted(mine, key=lambda t: -t.change)[:n]

    def to_dict(self) -> dict[str, Any]:
        return {
            "left_id": self.left_id,
            "right_id": self.right_id,
            "score": self.score,
            "threshold": self.threshold,
            "above_threshold": self.above_threshold,
            "scorer": self.scorer,
            "signals": self.signals.to_dict(),
            "attributes": [asdict(a) for a in self.attributes],
            "tokens": [asdict(t) for t in self.tokens],
        }


class Explainer:
    """Explains pairs of two prepared sides (as `Linker.prepare` returns them)."""

    def __init__(
        self,
        linker: Linker,
        left: Side,
        right: Side,
        *,
        max_words: int = 32,
        threshold: float | None = None,
    ) -> None:
        """`max_words`: the words of each attribute value occluded (the first ones; a long
        description would otherwise cost one encoding per word). `threshold`: the one the
        pairs were decided at (default: the settings' fixed one)."""
        self.linker = linker
        self.threshold = linker.settings.decision_threshold if threshold is None else threshold
        self.max_words = max_words
        self.left = left
        self.right = right
        self._index: SparseIndex | None = None
        self._encoder: Any = None

    @property
    def encoder(self) -> Any:
        """The linker's encoder without its cache: changed listings are throwaway texts (never
        worth keeping), and the cache's database belongs to the thread that opened it, while
        a web page asks for explanations from others."""
        if self._encoder is None:
            self._encoder = copy.copy(self.linker.encoder)
            self._encoder._cache = None
        return self._encoder

    def position(self, side: Side, listing_id: str) -> int:
        found = side.catalog.records.index.get_indexer(pd.Index([str(listing_id)]))
        if found[0] < 0:
            raise ProdmatchError(f"{side.catalog.name}: no listing with id {listing_id!r}")
        return int(found[0])

    def score(self, li: int, ri: int) -> tuple[pd.DataFrame, float]:
        """The pair's features and its score, from the linker's own code."""
        feats = self.linker.features(self.left, self.right, [li], [ri])
        return feats, float(self.linker.score(self.left, self.right, feats)[0])

    def explain(
        self, left_id: str, right_id: str, *, attributes: bool = True, tokens: bool = True
    ) -> Explanation:
        li, ri = self.position(self.left, left_id), self.position(self.right, right_id)
        feats, score = self.score(li, ri)
        result = Explanation(
            left_id=str(left_id),
            right_id=str(right_id),
            score=score,
            threshold=self.threshold,
            scorer="learned" if self.linker.head is not None else self.linker.settings.scorer,
            signals=signal_breakdown(self.linker, self.left, self.right, feats, score),
        )
        if attributes or tokens:
            result.attributes, result.tokens = self._occlusions(li, ri, attributes, tokens)
        return result

    def score_without(
        self, left_id: str, right_id: str, side: str, words: list[tuple[str, int]]
    ) -> float:
        """The pair's score with several words of one side removed at once, each given as
        (attribute, word position) as in `TokenPart`: for checking that the words an
        explanation ranks first matter more than others."""
        li, ri = self.position(self.left, left_id), self.position(self.right, right_id)
        rec = _record(self.left if side == "left" else self.right, li if side == "left" else ri)
        changed = dict(rec)
        for column in {c for c, _ in words}:
            drop = {k for c, k in words if c == column}
            split = str(rec.get(column, "") or "").split()
            changed[column] = " ".join(w for k, w in enumerate(split) if k not in drop)
        other = _record(self.right if side == "left" else self.left, ri if side == "left" else li)
        rows = ([changed], [other]) if side == "left" else ([other], [changed])
        return float(self._score_changed(li, ri, rows[0], rows[1], [(0, 0)])[0])

    # -- occlusion ---------------------------------------------------------------------------

    def _occlusions(
        self, li: int, ri: int, attributes: bool, tokens: bool
    ) -> tuple[list[AttributePart], list[TokenPart]]:
        """Attribute and token parts, from one batch of changed listings scored at once."""
        left_rec = _record(self.left, li)
        right_rec = _record(self.right, ri)
        used = [c for c in self.linker._columns(self.left.catalog) if c in right_rec]
        shown = [c for c in used if left_rec.get(c) or right_rec.get(c)] if attributes else []
        left_rows, right_rows = [left_rec], [right_rec]
        for column in shown:
            left_rows.append({**left_rec, column: ""})
            right_rows.append({**right_rec, column: ""})
        pairs = [(n, n) for n in range(len(left_rows))]
        words: list[tuple[str, str, int, str]] = []
        if tokens:
            for side_name, rec, rows in (
                ("left", left_rec, left_rows),
                ("right", right_rec, right_rows),
            ):
                for column in used:
                    split = str(rec.get(column, "") or "").split()
                    for k, word in enumerate(split[: self.max_words]):
                        rows.append({**rec, column: " ".join(split[:k] + split[k + 1 :])})
                        at = len(rows) - 1
                        pairs.append((at, 0) if side_name == "left" else (0, at))
                        words.append((side_name, column, k, word))
        scores = self._score_changed(li, ri, left_rows, right_rows, pairs)
        base = scores[0]
        attr_parts = [
            AttributePart(c, float(scores[1 + n]), float(base - scores[1 + n]))
            for n, c in enumerate(shown)
        ]
        offset = 1 + len(shown)
        token_parts = [
            TokenPart(side, column, k, word, float(base - scores[offset + n]))
            for n, (side, column, k, word) in enumerate(words)
        ]
        return attr_parts, token_parts

    def _score_changed(
        self,
        li: int,
        ri: int,
        left_rows: list[dict[str, str]],
        right_rows: list[dict[str, str]],
        pairs: list[tuple[int, int]],
    ) -> np.ndarray:
        if self._index is None and (self.left.tfidf is not None):
            self._index = self.linker.lexical_index(
                *([self.left] if self.right is self.left else [self.left, self.right])
            )
        left = self._changed_side(self.left, li, left_rows)
        right = self._changed_side(self.right, ri, right_rows)
        a = np.array([p[0] for p in pairs], dtype=np.int64)
        b = np.array([p[1] for p in pairs], dtype=np.int64)
        feats = self.linker.features(left, right, a, b)
        return np.asarray(self.linker.score(left, right, feats), dtype=np.float64)

    def _changed_side(self, side: Side, position: int, rows: list[dict[str, str]]) -> Side:
        """A side of changed copies of one listing, encoded and vectorised like the original
        (its photo, if any, kept as it is)."""
        frame = pd.DataFrame(rows, columns=side.catalog.columns, dtype=object).fillna("")
        frame.index = pd.Index([f"{position}~{n}" for n in range(len(rows))], name="id")
        changed = self.linker.side(Catalog(side.catalog.name, frame, side.catalog.source))
        n = len(rows)
        if side.image_vectors is not None and side.has_image is not None:
            changed.image_vectors = np.repeat(side.image_vectors[position : position + 1], n, 0)
            changed.has_image = np.repeat(side.has_image[position : position + 1], n, 0)
        if side.vectors is not None:
            vectors = self.encoder.encode(changed.texts, progress=False)
            if self.linker.fusion is not None:
                vectors = self.linker._fuse(changed, vectors)
            changed.vectors = vectors
        if side.tfidf is not None and self._index is not None:
            changed.tfidf = self._index.transform(changed.plain)
        return changed


def _record(side: Side, position: int) -> dict[str, str]:
    row = side.catalog.records.iloc[position]
    return {str(k): "" if v is None else str(v) for k, v in row.items()}


def explain_pair(
    linker: Linker,
    left: Side,
    right: Side,
    left_id: str,
    right_id: str,
    *,
    attributes: bool = True,
    tokens: bool = True,
) -> Explanation:
    """Explain one pair of prepared sides (see the module's note for the three parts)."""
    explainer = Explainer(linker, left, right)
    return explainer.explain(left_id, right_id, attributes=attributes, tokens=tokens)
