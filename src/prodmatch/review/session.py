"""One review: the candidates of two catalogs, the labels given, and what to show next.

The candidates, their scores and decisions come from the linker (`Linker.candidates` and
`Linker.decide`, as in `prodmatch match`); the labels from a `LabelStore`; the order from
`prodmatch.review.active`. The page walks a sequence: the pairs labelled so far, in the order
they were labelled, then the next pair to label. Because the next pair follows from the
labels file alone (and the retrained head, which is retrained from it), reopening a review
continues where it stopped.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.errors import ProdmatchError
from prodmatch.linker import Linker, with_ids
from prodmatch.review import active
from prodmatch.review.diff import attribute_rows
from prodmatch.review.explain import Explainer
from prodmatch.review.labels import UNSURE, Key, LabelStore

VALUES = {"y": 1, "n": 0, "u": UNSURE}


class ReviewSession:
    """The state behind the review page; every method is safe to call from many threads."""

    def __init__(
        self,
        linker: Linker,
        left: Catalog,
        right: Catalog,
        labels: str | Path,
        options: active.QueueOptions | None = None,
        *,
        retrain: bool = True,
    ) -> None:
        self.linker = linker
        self.options = options or active.QueueOptions()
        self.store = LabelStore(labels)
        self.left, self.right = linker.prepare(left, right)
        pairs = linker.decide(linker.candidates(self.left, self.right))
        pool = with_ids(pairs, self.left, self.right)
        pool["random"] = active.random_sample(len(pool), self.options)
        self.pool = pool
        self.index = {k: n for n, k in enumerate(self._keys())}
        self.explainer = Explainer(linker, self.left, self.right)
        self.threshold = linker.settings.decision_threshold
        self.rank_scores = pool["score"].to_numpy(np.float64)
        self.rank_threshold = self.threshold
        self.retrain = retrain
        self.retrained_at = 0  # labels the ranking head was trained on (0: the matcher's)
        self.training = False
        self._lock = threading.RLock()
        self._explained: dict[Key, dict[str, Any]] = {}
        self._next: int | None = None

    def _keys(self) -> list[Key]:
        return list(
            zip(self.pool["left_id"].astype(str), self.pool["right_id"].astype(str), strict=True)
        )

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
            body: dict[str, Any] = {"position": position, "state": self.state()}
            if key is None:
                return {**body, "pair": None}
            return {**body, "pair": self._pair(key, row, given)}

    def _pair(self, key: Key, row: int | None, given: int | None) -> dict[str, Any]:
        left_rec = _record(self.left.catalog, key[0])
        right_rec = _record(self.right.catalog, key[1])
        shown = self.linker._columns(self.left.catalog)
        found = self.pool.iloc[row] if row is not None else None
        return {
            "left_id": key[0],
            "right_id": key[1],
            "rows": attribute_rows(
                {c: left_rec.get(c, "") for c in shown}, {c: right_rec.get(c, "") for c in shown}
            ),
            "score": None if found is None else float(found["score"]),
            "decision": None if found is None else bool(found["decision"]),
            "random": None if found is None else bool(found["random"]),
            "label": {1: "y", 0: "n", UNSURE: "u"}.get(given) if given is not None else None,
            "photos": {
                "left": self._photos(self.left, key[0], "left"),
                "right": self._photos(self.right, key[1], "right"),
            },
        }

    def _photos(self, side: Any, listing_id: str, name: str) -> list[str]:
        if side.image_paths is None:
            return []
        position = side.catalog.records.index.get_loc(listing_id)
        paths = side.image_paths[position]
        return [f"/photo/{name}/{position}/{k}" for k, p in enumerate(paths) if Path(p).is_file()]

    def photo(self, name: str, position: int, k: int) -> Path:
        side = self.left if name == "left" else self.right
        if side.image_paths is None or not 0 <= position < len(side.image_paths):
            raise ProdmatchError("no such photo")
        paths = side.image_paths[position]
        if not 0 <= k < len(paths) or not Path(paths[k]).is_file():
            raise ProdmatchError("no such photo")
        return Path(paths[k])

    # -- labelling ---------------------------------------------------------------------------

    def label(self, left_id: str, right_id: str, value: str) -> dict[str, Any]:
        """Record a label (y, n or u) durably, then say what the page shows next."""
        if value not in VALUES:
            raise ProdmatchError(f"a label is y, n or u, not {value!r}")
        with self._lock:
            self.store.add(left_id, right_id, VALUES[value])
            self._next = None
            self._maybe_retrain()
            return self.state()

    def undo(self) -> dict[str, Any]:
        with self._lock:
            self.store.undo()
            self._next = None
            return self.state()

    def state(self) -> dict[str, Any]:
        with self._lock:
            labels = self.store.labels
            given = {x.key: x.label for x in labels}
            counts = {
                "y": sum(v == 1 for v in given.values()),
                "n": sum(v == 0 for v in given.values()),
                "u": sum(v == UNSURE for v in given.values()),
            }
            return {
                "labelled": len(labels),
                "counts": counts,
                "candidates": len(self.pool),
                "threshold": self.threshold,
                "estimate": active.estimate_quality(self.pool, given),
                "retrained_at": self.retrained_at,
                "training": self.training,
                "labels_file": str(self.store.path),
            }

    # -- explanations and retraining ---------------------------------------------------------

    def explain(self, left_id: str, right_id: str) -> dict[str, Any]:
        key = (str(left_id), str(right_id))
        if key not in self._explained:
            self._explained[key] = self.explainer.explain(*key).to_dict()
        return self._explained[key]

    def _maybe_retrain(self) -> None:
        known = sum(x.label in (0, 1) for x in self.store.labels)
        every = self.options.retrain_every
        if not self.retrain or self.training or every <= 0 or known < every:
            return
        if known // every <= self.retrained_at // every:
            return
        self.training = True
        thread = threading.Thread(target=self._retrain, args=(known,), daemon=True)
        thread.start()

    def _retrain(self, known: int) -> None:
        """Retrain the ranking head on the labels so far and re-rank (a background thread)."""
        try:
            given = {x.key: x.label for x in self.store.labels}
            head = active.retrain_head(
                self.linker, self.left, self.right, active.labelled_frame(self.pool, given)
            )
            if head is not None:
                scores = active.head_scores(self.linker, head, self.left, self.right, self.pool)
                with self._lock:
                    self.rank_scores, self.rank_threshold = scores, head.threshold
                    self._next = None
        finally:
            with self._lock:
                self.retrained_at, self.training = known, False


def _record(catalog: Catalog, listing_id: str) -> dict[str, str]:
    try:
        row = catalog.records.loc[listing_id]
    except KeyError:
        raise ProdmatchError(f"{catalog.name}: no listing with id {listing_id!r}") from None
    if isinstance(row, pd.DataFrame):
        row = row.iloc[0]
    return {str(k): "" if v is None else str(v) for k, v in row.items()}
