"""Text augmentations for self-supervised training (as in Sudowoodo).

Two randomly augmented views of one listing form a positive pair; the model learns what
survives a dropped token, a shuffled span or a missing attribute, which is what differs between
two platforms' listings of one product. Every function takes its random generator, so a seed
gives the same views twice.
"""

from __future__ import annotations

import re

import numpy as np

_ATTRIBUTE = re.compile(r"\[[^\]]+\][^\[]*")


def token_deletion(text: str, rng: np.random.Generator, rate: float = 0.1) -> str:
    """Drop each word with probability `rate`, keeping at least one."""
    words = text.split()
    kept = [w for w in words if rng.random() >= rate]
    return " ".join(kept or words[:1])


def span_shuffle(text: str, rng: np.random.Generator, span: int = 4) -> str:
    """Shuffle the words inside one random span: platforms order attributes differently."""
    words = text.split()
    if len(words) < 2:
        return text
    start = int(rng.integers(0, max(1, len(words) - span + 1)))
    part = words[start : start + span]
    rng.shuffle(part)
    return " ".join(words[:start] + part + words[start + span :])


def attribute_drop(text: str, rng: np.random.Generator, rate: float = 0.3) -> str:
    """Drop whole ``[column] value`` parts: listings often miss fields."""
    parts = _ATTRIBUTE.findall(text)
    if len(parts) < 2:
        return text
    kept = [p for p in parts if rng.random() >= rate]
    return " ".join(p.strip() for p in (kept or parts[:1]))


def cutoff(text: str, rng: np.random.Generator, rate: float = 0.15) -> str:
    """Cut a contiguous run of words (span-level cutoff)."""
    words = text.split()
    length = int(len(words) * rate)
    if length == 0:
        return text
    start = int(rng.integers(0, len(words) - length + 1))
    return " ".join(words[:start] + words[start + length :])


AUGMENTATIONS = (token_deletion, span_shuffle, attribute_drop, cutoff)


def augment(text: str, rng: np.random.Generator) -> str:
    """One view: one augmentation chosen at random, as Sudowoodo samples one per view."""
    op = AUGMENTATIONS[int(rng.integers(0, len(AUGMENTATIONS)))]
    return op(text, rng)
