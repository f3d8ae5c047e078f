"""Listings to texts, vectors and pair scores, through the one matching core (`Linker`).

The registry differs from `prodmatch match` only in where vectors and candidates come from
(the database and its FAISS index): serialising, encoding, the signals, the scorer or trained
matcher and its threshold are the linker's, so a pair gets the same signals here as in a
batch run over the same two listings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.dedup import PLAIN_DEDUP_THRESHOLDS
from prodmatch.linker import SIGNAL_COLUMNS, Linker, Side
from prodmatch.score import needs_sparse
from prodmatch.text import serialize_record


@dataclass(frozen=True)
class Entry:
    """What scoring reads of one listing: its two texts and its vector."""

    key: str
    text: str
    plain: str
    vector: npt.NDArray[np.float32]


class PairScorer:
    """Scores pairs of entries with the linker's features and scorer."""

    def __init__(self, linker: Linker) -> None:
        self.linker = linker

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
        return self.linker.encoder.encode(list(texts), progress=False)

    def score(
        self,
        left: Sequence[Entry],
        right: Sequence[Entry],
        pairs: Sequence[tuple[int, int]],
    ) -> pd.DataFrame:
        """Columns left, right (positions), the signals and `score`, one row per pair."""
        if not pairs:
            return pd.DataFrame({"left": [], "right": [], "score": []})
        sides = [_side("left", left), _side("right", right)]
        if needs_sparse(self.linker.settings.scorer):
            self.linker.add_tfidf(sides)
        li, ri = (np.asarray(column, dtype=np.int64) for column in zip(*pairs, strict=True))
        features = self.linker.features(sides[0], sides[1], li, ri)
        features["score"] = self.linker.score(sides[0], sides[1], features)
        return features


def signals(row: Mapping[str, object]) -> dict[str, float]:
    """The signals behind one scored pair, for a "why" answer."""
    return {name: float(row[name]) for name in SIGNAL_COLUMNS if name in row}  # type: ignore[arg-type]


def _side(name: str, entries: Sequence[Entry]) -> Side:
    keys = pd.Index([entry.key for entry in entries], name="id")
    catalog = Catalog(name, pd.DataFrame(index=keys))
    side = Side.of_texts(catalog, [e.text for e in entries], [e.plain for e in entries])
    side.vectors = np.stack([entry.vector for entry in entries]).astype(np.float32)
    return side
