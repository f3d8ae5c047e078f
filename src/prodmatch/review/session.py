"""One review of two catalogs: their candidates, a labels file, and the head retrained on it.

The candidates, their scores and decisions come from the linker (`Linker.candidates` and
`Linker.decide`, as in `prodmatch match`); the labels from a `LabelStore`; the sequence the
page walks and the next pair from `prodmatch.review.queue.ReviewQueue`. Because the next pair
follows from the labels file alone (and the retrained head, which is retrained from it),
reopening a review continues where it stopped.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.errors import ProdmatchError
from prodmatch.linker import Linker, with_ids
from prodmatch.review import active
from prodmatch.review.explain import Explainer
from prodmatch.review.labels import Key, LabelStore
from prodmatch.review.queue import ReviewQueue


class ReviewSession(ReviewQueue):
    """The state behind `prodmatch review`; every method is safe to call from many threads."""

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
        store = LabelStore(labels)
        self.left, self.right = linker.prepare(left, right)
        candidates = linker.candidates(self.left, self.right)
        # decided as `match` decides them, and the page shows that threshold
        pairs, cut = linker.decide_explained(candidates, left_rows=len(left))
        super().__init__(store, cut.threshold, options, str(store.path))
        self.store: LabelStore = store
        self.linker = linker
        pairs = active.with_attribute_signals(linker, self.left, self.right, pairs)
        self._set_pool(with_ids(pairs, self.left, self.right))
        self.explainer = Explainer(linker, self.left, self.right, threshold=cut.threshold)
        self.retrain = retrain
        self._explained: dict[Key, dict[str, Any]] = {}

    def _records(self, key: Key) -> tuple[dict[str, str], dict[str, str]]:
        left_rec = _record(self.left.catalog, key[0])
        right_rec = _record(self.right.catalog, key[1])
        shown = self.linker._columns(self.left.catalog)
        return {c: left_rec.get(c, "") for c in shown}, {c: right_rec.get(c, "") for c in shown}

    def _photos(self, key: Key) -> dict[str, list[str]]:
        return {
            "left": self._side_photos(self.left, key[0], "left"),
            "right": self._side_photos(self.right, key[1], "right"),
        }

    def _side_photos(self, side: Any, listing_id: str, name: str) -> list[str]:
        """Photo addresses relative to the page, so it works wherever it is mounted."""
        if side.image_paths is None:
            return []
        position = side.catalog.records.index.get_loc(listing_id)
        paths = side.image_paths[position]
        return [f"photo/{name}/{position}/{k}" for k, p in enumerate(paths) if Path(p).is_file()]

    def photo(self, name: str, position: int, k: int) -> Path:
        side = self.left if name == "left" else self.right
        if side.image_paths is None or not 0 <= position < len(side.image_paths):
            raise ProdmatchError("no such photo")
        paths = side.image_paths[position]
        if not 0 <= k < len(paths) or not Path(paths[k]).is_file():
            raise ProdmatchError("no such photo")
        return Path(paths[k])

    # -- explanations and retraining ---------------------------------------------------------

    def explain(self, left_id: str, right_id: str) -> dict[str, Any]:
        key = (str(left_id), str(right_id))
        if key not in self._explained:
            self._explained[key] = self.explainer.explain(*key).to_dict()
        return self._explained[key]

    def _after_label(self) -> None:
        """Retrain the ranking head in the background every `retrain_every` known labels."""
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
