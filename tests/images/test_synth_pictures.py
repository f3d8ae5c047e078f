from __future__ import annotations

import re
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prodmatch.errors import ProdmatchError
from prodmatch.images import ImageEncoder, resolve_images
from prodmatch.synth import Product, generate_catalogs, vocab
from prodmatch.synth.pictures import (
    COLOURS,
    colour_rgb,
    draw_product,
    generate_multimodal,
    write_pictures,
)

PHONE = Product(
    product_id="P000001",
    category="smartphones",
    brand="Samsung",
    line="Galaxy S",
    model="SM-S4821B",
    attributes={"storage": "128 GB", "memory": "8 GB RAM", "colour": "Phantom Black"},
    price=799.99,
)


def test_every_vocabulary_colour_and_spelling_has_rgb() -> None:
    for category in vocab.CATEGORIES:
        for attribute in category.attributes:
            if attribute.name != "colour":
                continue
            for value in attribute.values:
                assert value in COLOURS or colour_rgb(value) is not None, value
                for spelling in (*vocab.alternatives(value), *vocab.alternatives(value, "zh")):
                    assert colour_rgb(spelling) is not None, spelling
    assert colour_rgb("BLK") == colour_rgb("black") == COLOURS["Black"]
    assert colour_rgb("sp gray") == COLOURS["Space Grey"]
    assert colour_rgb("黑色") == COLOURS["Black"]
    assert colour_rgb("Black/White") == COLOURS["Black"]
    assert colour_rgb("Octarine") is None


def test_pictures_are_deterministic_per_seed_and_differ_per_platform() -> None:
    left = draw_product(PHONE, platform="left", seed=0, size=64)
    assert left.size == (64, 64) and left.mode == "RGB"
    assert left.tobytes() == draw_product(PHONE, platform="left", seed=0, size=64).tobytes()
    assert left.tobytes() != draw_product(PHONE, platform="left", seed=1, size=64).tobytes()
    right = draw_product(PHONE, platform="right", seed=0, size=64)
    assert left.tobytes() != right.tobytes()
    with pytest.raises(ProdmatchError):
        draw_product(PHONE, platform="left", seed=0, size=8)


@pytest.mark.slow
def test_near_miss_in_another_colour_looks_further_than_the_same_product() -> None:
    siblings = [
        (PHONE, "White"),
        (replace(PHONE, category="headphones", attributes={"colour": "Black"}), "Rose Gold"),
        (replace(PHONE, category="tablets", attributes={"colour": "Blue"}), "Pink"),
    ]
    images = []
    for product, other_colour in siblings:
        sibling = replace(product, product_id="P000002", attributes={"colour": other_colour})
        images += [
            draw_product(product, platform="left", seed=0),
            draw_product(product, platform="right", seed=0),
            draw_product(sibling, platform="right", seed=0),
        ]
    vectors = ImageEncoder(cache=False, threads=1).encode_pil(images).reshape(3, 3, -1)
    same = np.einsum("ij,ij->i", vectors[:, 0], vectors[:, 1])
    near_miss = np.einsum("ij,ij->i", vectors[:, 0], vectors[:, 2])
    assert (same > near_miss).all(), (same, near_miss)


def test_write_pictures_adds_an_image_column_that_resolves(tmp_path: Path) -> None:
    synth = generate_catalogs(30, seed=2, keep_products=True)
    left, right = write_pictures(synth, tmp_path, missing_rate=0.2, text_colour_drop=False)
    assert list(left.columns) == [*synth.left.columns, "image"]
    pd.testing.assert_frame_equal(right.drop(columns="image"), synth.right)  # text untouched
    assert "image" not in synth.left.columns  # the originals are not modified
    for frame, suffix in ((left, ".png"), (right, ".jpg")):
        cells = frame["image"].tolist()
        assert 0 < cells.count("") < len(cells)
        assert all(c.endswith(suffix) and not Path(c).is_absolute() for c in cells if c)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            resolved = resolve_images(cells, tmp_path)
        assert [bool(p) for p in resolved] == [bool(c) for c in cells]


def test_multimodal_catalogs_drop_colour_from_some_right_titles(tmp_path: Path) -> None:
    data = generate_multimodal(40, 5, tmp_path, missing_rate=0.0, colour_drop_rate=0.6)
    assert {"left.csv", "right.csv", "gold.csv", "images"} <= {p.name for p in tmp_path.iterdir()}
    written = pd.read_csv(tmp_path / "right.csv", keep_default_na=False, dtype=str)
    assert written["image"].tolist() == data.right["image"].tolist()
    assert data.colour_dropped
    colour_of = {
        row.right_id: p.attributes.get("colour")
        for p, row in zip(data.synth.products or [], data.synth.truth.itertuples(), strict=True)
    }
    right = data.right.set_index("id")
    for listing in data.colour_dropped:
        colour = colour_of[listing]
        assert colour
        words = {colour, *vocab.alternatives(colour)}
        for text in (right.at[listing, "title"], right.at[listing, "description"]):
            for word in words:
                assert not re.search(rf"(?<![\w/-]){re.escape(word)}(?![\w/-])", text, re.I)
            assert "|  |" not in text and not text.endswith("|")
    kept = [i for i, c in colour_of.items() if c and i and i not in data.colour_dropped]
    assert kept  # the rest still name their colour somewhere
