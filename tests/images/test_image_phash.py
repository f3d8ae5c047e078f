from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from prodmatch.images import listing_hashes, photo_hash, same_photo_pairs
from prodmatch.images.phash import hamming


def _photo(path: Path, seed: int) -> Path:
    """A picture with some structure (pHash of a flat image says little)."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (96, 96), (240, 240, 240))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.integers(0, 70, size=2)
        w, h = rng.integers(10, 40, size=2)
        colour = tuple(int(c) for c in rng.integers(0, 255, size=3))
        draw.ellipse((int(x), int(y), int(x + w), int(y + h)), fill=colour)
    image.save(path)
    return path


def test_reused_photo_is_found_even_after_jpeg_reencoding(tmp_path: Path) -> None:
    original = _photo(tmp_path / "a.png", 0)
    with Image.open(original) as image:
        image.resize((80, 80)).save(tmp_path / "a-copy.jpg", quality=60)
    other = _photo(tmp_path / "b.png", 1)
    images = [[original], [tmp_path / "a-copy.jpg"], [other], [], [tmp_path / "gone.png"]]
    hashes = listing_hashes(images, progress=False)
    assert [len(h) for h in hashes] == [1, 1, 1, 0, 0]
    pairs = same_photo_pairs(hashes, ["A", "A2", "B", "C", "D"])
    assert pairs[["left_id", "right_id"]].values.tolist() == [["A", "A2"]]
    assert pairs["distance"].iloc[0] <= 4
    assert photo_hash(tmp_path / "gone.png") is None


def test_matches_brute_force_on_random_near_duplicates() -> None:
    rng = np.random.default_rng(7)
    n = 3000
    base = rng.integers(0, 2**63, size=n, dtype=np.int64).astype(np.uint64) << np.uint64(1)
    for target in rng.integers(0, n, size=300):  # copies with 0..5 flipped bits
        value = int(base[rng.integers(0, n)])
        for bit in rng.choice(64, size=int(rng.integers(0, 6)), replace=False):
            value ^= 1 << int(bit)
        base[target] = value
    ids = [f"L{i}" for i in range(n)]
    found = same_photo_pairs([int(h) for h in base], ids, max_distance=4)
    i, j = np.triu_indices(n, k=1)
    distance = hamming(base[i], base[j])
    near = distance <= 4
    triples = zip(i[near], j[near], distance[near], strict=True)
    expected = {(ids[a], ids[b], int(d)) for a, b, d in triples}
    assert set(found.itertuples(index=False, name=None)) == expected
    assert len(expected) > 200


def test_listings_with_several_photos_pair_once_at_their_closest() -> None:
    pairs = same_photo_pairs([[0b1111, 2**40], [0b0111], None, [2**40 + 1, 0b1111]], list("abcd"))
    assert pairs.values.tolist() == [["a", "b", 1], ["a", "d", 0], ["b", "d", 1]]


def test_placeholder_photos_are_skipped_with_a_warning() -> None:
    hashes = [0xFFFF] * 5 + [2**40, 2**40]
    with pytest.warns(UserWarning, match="1 photo"):
        pairs = same_photo_pairs(hashes, [str(i) for i in range(7)], max_group=4)
    assert pairs.values.tolist() == [["5", "6", 0]]
    assert len(same_photo_pairs(hashes, [str(i) for i in range(7)], max_group=None)) == 11


def test_empty_input_gives_an_empty_frame() -> None:
    pairs = same_photo_pairs([None, []], ["a", "b"])
    assert list(pairs.columns) == ["left_id", "right_id", "distance"] and pairs.empty
    assert list(itertools.chain(listing_hashes([], progress=False))) == []
