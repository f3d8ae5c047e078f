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


# A scripted life of a registry: adds, edits, labels that merge and split, a deletion.
# e1 and w1 are a1's camera worded apart; e2 looks like a1 but a human says it is not.
SCRIPT: list[tuple[str, Any]] = [
    ("upsert", [item("amazon", "a1", "canon powershot sd990 digital camera silver")]),
    ("upsert", [item("ebay", "e1", "canon sd990 is 14.7 mp silver")]),
    ("upsert", [item("ebay", "e2", "canon powershot sd990 camera silver")]),
    ("upsert", [item("walmart", "w1", "canon sd990 is 14.7mp silver")]),
    ("label", (("amazon", "a1"), ("ebay", "e1"), True)),
    ("label", (("amazon", "a1"), ("ebay", "e2"), False)),
    ("upsert", [item("ebay", "e2", "nikon coolpix p100 camera black")]),
    ("upsert", [item("amazon", "a2", "nikon coolpix p100 black digital camera")]),
    ("delete", ("walmart", "w1")),
    ("upsert", [item("amazon", "a3", "canon powershot sd990 digital camera silver 14.7 mp")]),
    ("upsert", [item("ebay", "e2", "canon powershot sd990 camera silver")]),
]

# What an inventory-sync job reads from the feed after SCRIPT, written by hand:
# (kind, product, other product, listing, why).
EXPECTED_EVENTS = [
    ("join", 1, None, "amazon/a1", "founded"),
    ("join", 2, None, "ebay/e1", "founded"),  # too far from a1 for the model
    ("join", 1, None, "ebay/e2", "ebay/e2~amazon/a1"),
    ("join", 2, None, "walmart/w1", "walmart/w1~ebay/e1"),
    ("merge", 1, 2, None, "label same"),  # the older id survives
    ("split", 3, 1, None, "label not same"),  # e2 leaves; e1 and w1 stay with a1
    ("update", 3, None, "ebay/e2", "founded"),  # new text, alone: keeps its product
    ("join", 3, None, "amazon/a2", "amazon/a2~ebay/e2"),
    ("delete", 1, None, "walmart/w1", ""),
    ("join", 1, None, "amazon/a3", "amazon/a3~amazon/a1"),
    ("join", 4, 3, "ebay/e2", "founded"),  # canon again, kept apart from a1; a2 stays in 3
]
EXPECTED_PRODUCTS = {
    "amazon/a1": 1,
    "ebay/e1": 1,
    "amazon/a3": 1,
    "ebay/e2": 4,
    "amazon/a2": 3,
}


def run_script(registry: Any) -> None:
    for action, argument in SCRIPT:
        if action == "upsert":
            registry.upsert(argument)
        elif action == "label":
            registry.label(*argument)
        else:
            registry.delete(*argument)


def event_log(events: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Events as (kind, product, other, listing, why), comparable with EXPECTED_EVENTS."""
    log = []
    for event in events:
        listing = f"{event.platform}/{event.listing}" if event.listing else None
        reason = event.reason
        if "label" in reason:
            why = f"label {reason['label']}"
        elif reason.get("founded"):
            why = "founded"
        elif "pair" in reason:
            why = "~".join("/".join(key) for key in reason["pair"])
        else:
            why = ""
        log.append((event.kind, event.product, event.other, listing, why))
    return log
