"""Listings that reuse the same photo, found by perceptual hash.

Shops copy each other's photos and sellers list one product many times with the same photo:
a near-identical picture is strong evidence for a duplicate. A 64-bit pHash survives
re-encoding, resizing and small edits with a Hamming distance of a few bits, while different
photos land around 32 bits apart.

Comparing all pairs is quadratic. Instead, hashes are cut into ``max_distance + 1`` chunks:
two hashes within ``max_distance`` bits agree exactly on at least one chunk (pigeonhole), so
only hashes sharing a chunk value are compared (multi-index hashing). Identical hashes are
collapsed first, so a photo shared by many listings is compared once.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.images.load import load_image
from prodmatch.progress import progress_bar

__all__ = ["PAIR_COLUMNS", "hamming", "listing_hashes", "photo_hash", "same_photo_pairs"]

PAIR_COLUMNS = ["left_id", "right_id", "distance"]
_HASH_BITS = 64

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

# Set bits per byte value, for popcount on numpy versions without bitwise_count.
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def photo_hash(path: str | Path) -> int | None:
    """The 64-bit pHash of the image at ``path`` (None if it cannot be read)."""
    import imagehash

    image = load_image(path)
    if image is None:
        return None
    bits = imagehash.phash(image, hash_size=8).hash.flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def listing_hashes(images: Sequence[Sequence[Path]], *, progress: bool = True) -> list[list[int]]:
    """pHashes of each listing's photos (unreadable photos skipped); shared files hashed once."""
    unique = list(dict.fromkeys(p for paths in images for p in paths))
    hashes: dict[Path, int | None] = {}
    with progress_bar("hashing images", len(unique), unit="images", enabled=progress) as advance:
        for path in unique:
            hashes[path] = photo_hash(path)
            advance(1)
    return [[h for p in paths if (h := hashes[p]) is not None] for paths in images]


def hamming(a: U64, b: U64) -> npt.NDArray[np.int64]:
    """Bitwise Hamming distances of aligned uint64 arrays."""
    x = np.bitwise_xor(a, b)
    counts = _POPCOUNT[np.ascontiguousarray(x).view(np.uint8)].reshape(len(x), 8)
    total: npt.NDArray[np.int64] = counts.sum(axis=1, dtype=np.int64)
    return total


def _flatten(hashes: Sequence[int | Sequence[int] | None]) -> tuple[U64, I64]:
    """(hash, listing position) per photo; a listing may have none or several photos."""
    values: list[int] = []
    owners: list[int] = []
    for i, item in enumerate(hashes):
        if item is None:
            continue
        for h in [item] if isinstance(item, int | np.integer) else item:
            values.append(int(h) & 0xFFFF_FFFF_FFFF_FFFF)
            owners.append(i)
    return np.array(values, dtype=np.uint64), np.array(owners, dtype=np.int64)


def _chunks(max_distance: int) -> list[tuple[int, int]]:
    """(shift, mask) of ``max_distance + 1`` near-equal bit ranges covering 64 bits."""
    n = min(max_distance + 1, _HASH_BITS)
    bounds = np.linspace(0, _HASH_BITS, n + 1).round().astype(int)
    return [(int(lo), (1 << int(hi - lo)) - 1) for lo, hi in itertools.pairwise(bounds.tolist())]


def _pairs_within_groups(keys: npt.NDArray[np.uint64]) -> tuple[I64, I64]:
    """All (i, j), i < j in sorted order, of positions with equal ``keys``, without a Python
    loop over groups: step k pairs each element with the one k places on, while both are in
    one group; elements leave once their group has no one further on."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    n = len(keys)
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    ends = np.r_[starts[1:], n]
    end = np.repeat(ends, ends - starts)
    left: list[I64] = []
    right: list[I64] = []
    active = np.flatnonzero(end - np.arange(n) > 1)
    k = 1
    while active.size:
        left.append(order[active])
        right.append(order[active + k])
        k += 1
        active = active[end[active] - active > k]
    if not left:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(left), np.concatenate(right)


def _near_pairs(unique: U64, max_distance: int) -> tuple[I64, I64, I64]:
    """Pairs of distinct hashes within ``max_distance`` bits, each pair once."""
    found: list[I64] = []
    for shift, mask in _chunks(max_distance):
        chunk = (unique >> np.uint64(shift)) & np.uint64(mask)
        a, b = _pairs_within_groups(chunk)
        keep = hamming(unique[a], unique[b]) <= max_distance
        lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
        found.append(lo * len(unique) + hi)
    codes = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    a, b = codes // max(len(unique), 1), codes % max(len(unique), 1)
    return a, b, hamming(unique[a], unique[b])


def _listing_pairs(groups: list[I64], a: I64, b: I64, distance: I64) -> pd.DataFrame:
    """Expand pairs of hash groups to pairs of listings (and pairs inside one group)."""
    rows: list[tuple[I64, I64, I64]] = []
    for g in groups:  # identical photos: every pair of distinct listings in the group
        if len(g) > 1:
            i, j = np.triu_indices(len(g), k=1)
            rows.append((g[i], g[j], np.zeros(len(i), dtype=np.int64)))
    for x, y, d in zip(a.tolist(), b.tolist(), distance.tolist(), strict=True):
        gi, gj = groups[x], groups[y]
        rows.append((np.repeat(gi, len(gj)), np.tile(gj, len(gi)), np.full(len(gi) * len(gj), d)))
    if not rows:
        return pd.DataFrame({"l": [], "r": [], "d": []}, dtype=np.int64)
    left, right, dist = (np.concatenate(parts) for parts in zip(*rows, strict=True))
    return pd.DataFrame({"l": left, "r": right, "d": dist})


def same_photo_pairs(
    hashes: Sequence[int | Sequence[int] | None],
    ids: Sequence[str],
    max_distance: int = 4,
    *,
    max_group: int | None = 1000,
) -> pd.DataFrame:
    """Pairs of listings whose photos are within ``max_distance`` bits: left_id, right_id
    (in ``ids`` order, each pair once) and the smallest distance between their photos.

    ``hashes`` has one entry per listing: a pHash, a list of them, or None. A photo shared by
    more than ``max_group`` listings is almost always a placeholder ("no image available"),
    whose pairs say nothing about duplicates; such photos are skipped with a warning.
    Handles 100k listings in seconds; a large ``max_distance`` makes chunks short and slower.
    """
    if len(hashes) != len(ids):
        raise ValueError(f"{len(hashes)} hashes for {len(ids)} ids")
    values, owners = _flatten(hashes)
    unique, inverse = np.unique(values, return_inverse=True)
    groups = _owner_groups(inverse.reshape(-1), owners, len(unique))
    skipped = _drop_placeholders(groups, max_group)
    a, b, distance = _near_pairs(unique, max_distance)
    live = np.array([len(g) > 0 for g in groups], dtype=bool)
    keep = live[a] & live[b] if len(a) else np.zeros(0, dtype=bool)
    pairs = _listing_pairs(groups, a[keep], b[keep], distance[keep])
    pairs = pairs[pairs["l"] != pairs["r"]]
    lo, hi = np.minimum(pairs["l"], pairs["r"]), np.maximum(pairs["l"], pairs["r"])
    pairs = pairs.assign(l=lo, r=hi).sort_values("d").drop_duplicates(["l", "r"])
    pairs = pairs.sort_values(["l", "r"])
    id_array = np.asarray(ids, dtype=object)
    if skipped:
        warnings.warn(
            f"{skipped} photo(s) shared by more than {max_group} listings were skipped as "
            "placeholders",
            UserWarning,
            stacklevel=2,
        )
    return pd.DataFrame(
        {
            "left_id": id_array[pairs["l"].to_numpy(dtype=np.int64)],
            "right_id": id_array[pairs["r"].to_numpy(dtype=np.int64)],
            "distance": pairs["d"].to_numpy(dtype=np.int64),
        },
        columns=PAIR_COLUMNS,
    )


def _owner_groups(inverse: I64, owners: I64, n_unique: int) -> list[I64]:
    """Distinct listings holding each distinct hash."""
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(n_unique + 1))
    return [np.unique(owners[order[bounds[k] : bounds[k + 1]]]) for k in range(n_unique)]


def _drop_placeholders(groups: list[I64], max_group: int | None) -> int:
    """Empty the groups above ``max_group`` listings in place; returns how many."""
    if max_group is None:
        return 0
    skipped = 0
    for k, g in enumerate(groups):
        if len(g) > max_group:
            groups[k] = np.zeros(0, dtype=np.int64)
            skipped += 1
    return skipped
