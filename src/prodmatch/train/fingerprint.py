"""What a resumable training run was started on, so a checkpoint is resumed only by that run.

The config alone does not say it: the same command with a changed pairs file, another catalog
or other base weights would continue the old run's weights and history as if nothing had
changed. A checkpoint therefore records a hash of its data (every listing's text, the labelled
pairs in order) and of the base model's files (as the encoder's vector cache keys them), and
:func:`prodmatch.train.loop.resume_state` refuses one whose hashes differ.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from prodmatch.encode.models import model_fingerprint

if TYPE_CHECKING:
    from prodmatch.train.fine_tune import Listings

__all__ = ["data_fingerprint", "run_fingerprint", "weights_fingerprint"]


def data_fingerprint(listings: Listings, *pairs: pd.DataFrame | None) -> str:
    """A hash of the listings' texts (by id, in id order) and of each pairs frame (ids and
    labels, in order: the order decides the batches). None counts as its own value."""
    digest = hashlib.sha256()
    for side, texts in (("left", listings.left), ("right", listings.right)):
        digest.update(f"\x00{side}\x00{len(texts)}".encode())
        for listing_id in sorted(texts):
            digest.update(f"{listing_id}\x1f{texts[listing_id]}\x1e".encode())
    for frame in pairs:
        if frame is None:
            digest.update(b"\x00none")
            continue
        columns = frame[["left_id", "right_id", "label"]].astype(str)
        digest.update(f"\x00pairs\x00{len(columns)}".encode())
        for left_id, right_id, label in columns.itertuples(index=False):
            digest.update(f"{left_id}\x1f{right_id}\x1f{label}\x1e".encode())
    return digest.hexdigest()[:16]


def weights_fingerprint(model_path: Path) -> str:
    """A hash of a model folder's files, read afresh (a folder rewritten during this process,
    such as a matcher's freshly fine-tuned encoder, must not get a remembered hash)."""
    return model_fingerprint.__wrapped__(Path(model_path))


def run_fingerprint(
    model_path: Path, listings: Listings, *pairs: pd.DataFrame | None
) -> dict[str, str]:
    """The fingerprint a checkpoint stores: its data and its base model."""
    return {
        "data": data_fingerprint(listings, *pairs),
        "base_model": weights_fingerprint(model_path),
    }
