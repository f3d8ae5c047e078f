"""Shared training fixtures: synthetic listings and labelled pairs, as the trainers read them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from prodmatch.data import catalog_from_frame
from prodmatch.linker import Linker
from prodmatch.synth import generate_catalogs, generate_pairs, write_deepmatcher
from prodmatch.train.fine_tune import Listings

TrainingData = tuple[Listings, pd.DataFrame, pd.DataFrame]


@pytest.fixture(scope="session")
def training_data() -> Callable[[int, int], TrainingData]:
    """A maker of (listings by id, train pairs, valid pairs) for `products` synthetic
    products, serialised exactly as matching serialises them."""

    def make(products: int, seed: int) -> TrainingData:
        world = generate_catalogs(products, seed=seed)
        splits = generate_pairs(world, seed=seed)
        rename = {"ltable_id": "left_id", "rtable_id": "right_id"}
        train, valid = (splits[s].rename(columns=rename) for s in ("train", "valid"))
        linker = Linker(progress=False)
        left = linker.side(catalog_from_frame(world.left))
        right = linker.side(catalog_from_frame(world.right))
        listings = Listings(
            dict(zip(left.catalog.ids, left.texts, strict=True)),
            dict(zip(right.catalog.ids, right.texts, strict=True)),
        )
        return listings, train, valid

    return make


@pytest.fixture(scope="session")
def deepmatcher_folder(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[int, int], Path]:
    """A maker of DeepMatcher folders (tables, train, valid and test pairs) of `products`
    synthetic products; each (products, seed) is written once per session."""
    made: dict[tuple[int, int], Path] = {}

    def make(products: int, seed: int) -> Path:
        if (products, seed) not in made:
            world = generate_catalogs(products, seed=seed)
            target = tmp_path_factory.mktemp(f"dm-{products}-{seed}")
            write_deepmatcher(world, generate_pairs(world, seed=seed), target)
            made[products, seed] = target
        return made[products, seed]

    return make
