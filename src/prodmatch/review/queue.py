"""What the review page walks, wherever its pairs come from: a pool of scored candidate
pairs, the labels given so far, and the next pair to ask about.

The page shows a sequence: the pairs labelled so far, in the order they were labelled, then
the next pair to label, chosen by `prodmatch.review.active` (uncertainty, diversity and a
random share). `ReviewQueue` holds that logic once; its subclasses say where the pool and
the labels live and how a pair is drawn: `prodmatch.review.session.ReviewSession` (two
catalog files and a labels file, for `prodmatch review`) and
`prodmatch.registry.review.RegistryReview` (a registry's stored listings and its labels,
for the page inside `prodmatch serve`).
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.errors import ProdmatchError
from prodmatch.review import active
from prodmatch.review.diff import attribute_rows
from prodmatch.review.labels import UNSURE, Key, Label

VALUES = {"y": 1, "n": 0, "u": UNSURE}
LETTERS = {1: "y", 0: "n", UNSURE: "u"}


class LabelSource(Protocol):
    """Where labels go: in the order given, each one kept before the page hears of it."""

    @property
    def labels(self) -> list[Label]: ...

    def add(self, left_id: str, right_id: str, label: int) -> Label: ...

    def undo(self) -> Label | None: ...


class ReviewQueue:
    """The page's state over a pool and a label source; every method is thread-safe.

    A subclass calls `_set_pool` (columns left_id, right_id, score, decision) and says how a
    pair looks (`_records`, `_photos`), how it is explained (`explain`) and, optionally,
    what follows a label (`_after_label`) or a read (`refresh`).
    """

    def __init__(
        self,
        store: LabelSource,
        threshold: float,
        options: active.QueueOptions | None,
        saved_to: str,
    ) -> None:
        self.store = store
        self.threshold = threshold
        self.options = options or active.QueueOptions()
        self.saved_to = saved_to  # said on the page: where a label is kept
        self.retrained_at = 0  # labels the ranking head was trained on (0: the matcher's)
        self.training = False
        self._lock = threading.RLock()
        self._next: int | None = None
        self.pool = pd.DataFrame()
        self.index: dict[Key, int] = {}
        self.rank_scores: npt.NDArray[np.float64] = np.zeros(0)
        self.rank_threshold = threshold
        self._set_pool(pd.DataFrame({"left_id": [], "right_id": [], "score": [], "decision": []}))

    def _set_pool(self, pool: pd.DataFrame) -> None:
        """A new pool, ranked by its own scores; the random sample drawn for its size."""
        pool = pool.reset_index(drop=True)
        pool["random"] = active.random_sample(len(pool), self.options)
        with self._lock:
            self.pool = pool
            self.index = {k: n for n, k in enumerate(self._keys())}
            self.rank_scores = pool["score"].to_numpy(np.float64)
            self.rank_threshold = self.threshold
            self._next = None

    def _keys(self) -> list[Key]:
        return list(
            zip(self.pool["left_id"].astype(str), self.pool["right_id"].astype(str), strict=True)
        )

    # -- what a subclass says ----------------------------------------------------------------

    def _records(self, key: Key) -> tuple[dict[str, str], dict[str, str]]:
        """The attributes shown for the two listings of a pair, in the order shown."""
        raise NotImplementedError

    def _photos(self, key: Key) -> dict[str, list[str]]:
        return {"left": [], "right": []}

    def explain(self, left_id: str, right_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def photo(self, name: str, position: int, k: int) -> Any:
        raise ProdmatchError("no such photo")

    def refresh(self) -> None:
        """Bring the pool up to date before a read (nothing to do for a fixed pool)."""

    def _after_label(self) -> None:
        """Called (holding the lock) after each label."""

    # -- the sequence ------------------------------------------------------------------------

    def next_row(self) -> int | None:
        with self._lock:
            if self._next is None:
                labels = self.store.labels
                self._next = active.next_pair(
                    self.pool,
                    self.rank_scores,
                    self.rank_threshold,
                    {x.key for x in labels},
                    [x.key for x in labels],
                    len(labels),
                    self.options,
                )
            return self._next

    def view(self, position: int | None = None) -> dict[str, Any]:
        """The pair at `position` of the sequence (default: the next to label)."""
        self.refresh()
        with self._lock:
            labels = self.store.labels
            position = len(labels) if position is None else max(0, min(position, len(labels)))
            key: Key | None
            if position < len(labels):
                key, given = labels[position].key, labels[position].label
                row = self.index.get(key)
            else:
                row, given = self.next_row(), None
                key = None if row is None else self._keys()[row]
            body: dict[str, Any] = {"position": position, "state": self._state(labels)}
            if key is None:
                return {**body, "pair": None}
            return {**body, "pair": self._pair(key, row, given)}

    def _pair(self, key: Key, row: int | None, given: int | None) -> dict[str, Any]:
        left, right = self._records(key)
        found = self.pool.iloc[row] if row is not None else None
        return {
            "left_id": key[0],
            "right_id": key[1],
            "rows": attribute_rows(left, right),
            "score": None if found is None else float(found["score"]),
            "decision": None if found is None else bool(found["decision"]),
            "random": None if found is None else bool(found["random"]),
            "label": LETTERS.get(given) if given is not None else None,
            "photos": self._photos(key),
        }

    # -- labelling ---------------------------------------------------------------------------

    def label(self, left_id: str, right_id: str, value: str) -> dict[str, Any]:
        """Record a label (y, n or u) where the source keeps it, then the new state."""
        if value not in VALUES:
            raise ProdmatchError(f"a label is y, n or u, not {value!r}")
        with self._lock:
            self.store.add(left_id, right_id, VALUES[value])
            self._next = None
            self._after_label()
            return self._state(self.store.labels)

    def undo(self) -> dict[str, Any]:
        with self._lock:
            self.store.undo()
            self._next = None
            return self._state(self.store.labels)

    def state(self) -> dict[str, Any]:
        self.refresh()
        with self._lock:
            return self._state(self.store.labels)

    def _state(self, labels: list[Label]) -> dict[str, Any]:
        given = {x.key: x.label for x in labels}
        counts = {
            letter: sum(v == value for v in given.values()) for value, letter in LETTERS.items()
        }
        return {
            "labelled": len(labels),
            "counts": {k: counts[k] for k in ("y", "n", "u")},
            "candidates": len(self.pool),
            "threshold": self.threshold,
            "estimate": active.estimate_quality(self.pool, given),
            "retrained_at": self.retrained_at,
            "training": self.training,
            "labels_file": self.saved_to,
        }
