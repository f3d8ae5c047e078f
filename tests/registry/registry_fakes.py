"""A small deterministic encoder and listing helper for the registry tests."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from prodmatch.registry import NewListing


class WordEncoder:
    """Hashed bag of words, normalised: listings sharing words point the same way."""

    key = "test-words-64"
    dim = 64

    def encode(self, texts: Sequence[str], **_: Any) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


def item(platform: str, listing_id: str, title: str, **extra: str) -> NewListing:
    return NewListing(platform, listing_id, {"title": title, **extra})
