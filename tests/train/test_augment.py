from __future__ import annotations

import numpy as np

from prodmatch.train.augment import attribute_drop, augment, cutoff, span_shuffle, token_deletion

TEXT = "[title] sony turntable pslx350h belt drive [brand] sony [price] 149"


def test_views_differ_and_only_drop_or_reorder_words() -> None:
    rng = np.random.default_rng(0)
    views = {augment(TEXT, rng) for _ in range(20)}
    assert len(views) > 3
    for view in views:
        assert view.split()
        assert set(view.split()) <= set(TEXT.split())


def test_same_seed_same_views() -> None:
    first = [augment(TEXT, np.random.default_rng(3)) for _ in range(3)]
    again = [augment(TEXT, np.random.default_rng(3)) for _ in range(3)]
    assert first == again


def test_each_augmentation() -> None:
    rng = np.random.default_rng(1)
    assert token_deletion("one", rng, rate=1.0) == "one"  # never empty
    assert sorted(span_shuffle(TEXT, rng).split()) == sorted(TEXT.split())
    dropped = attribute_drop(TEXT, np.random.default_rng(2), rate=0.5)
    assert dropped.startswith("[") and len(dropped) <= len(TEXT)
    assert len(cutoff(TEXT, rng, rate=0.3).split()) == len(TEXT.split()) - int(
        len(TEXT.split()) * 0.3
    )
