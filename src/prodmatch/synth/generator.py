"""Synthetic product catalogs with known matches, for ``prodmatch demo``, tests and benchmarks.

Two platforms list the same ground-truth products differently, the way Abt and Buy (or
Amazon and Walmart) do:

* platform A (the *left* catalog) writes full titles, "Brand Line Model Attributes Adjective
  Noun", with long descriptions and a price;
* platform B (the *right* catalog) rewords: abbreviations and synonyms, other unit spellings
  ("500GB", "0.5 TB", '15.6"'), shuffled word order, other casing, a reformatted model number
  (hyphen dropped or added, a regional suffix such as "/B"), marketing words, typos, a jittered
  price, and missing brand, description or price. With ``language="zh"`` it writes nouns,
  colours, units and some brands in Chinese.

Products come in *families* (same brand, line and base model); siblings differ only in one
detail (capacity, colour, size, edition or a model-number suffix). Siblings are listed on both
sides, so a matcher that ignores details confuses them: these are the near-misses.

Everything is drawn from numpy generators seeded from ``seed``, so output is deterministic.
Work is vectorised over numpy object arrays; catalogs are built in blocks of
:data:`DEFAULT_CHUNK_SIZE` products, each with its own seeded generator, which is what lets
:func:`iter_catalog_chunks` stream any size in bounded memory.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.errors import ProdmatchError
from prodmatch.synth import vocab

__all__ = [
    "CATALOG_COLUMNS",
    "DEFAULT_CHUNK_SIZE",
    "PRODUCT_OBJECT_LIMIT",
    "Product",
    "SyntheticCatalogs",
    "generate_catalogs",
    "generate_duplicates",
    "generate_pairs",
    "iter_catalog_chunks",
    "write_catalogs",
    "write_deepmatcher",
]

ObjArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

CATALOG_COLUMNS = ("id", "title", "brand", "description", "price")

# Products per independently seeded block; generate_catalogs' output depends on it.
DEFAULT_CHUNK_SIZE = 100_000

# Above this many products generate_catalogs skips the Product objects by default: a million
# frozen dataclasses with dicts cost seconds and hundreds of MB that benchmarks never use.
PRODUCT_OBJECT_LIMIT = 200_000

# Multiplier that scrambles per-line model numbers; coprime with 9000 and 90000 so that
# (A * rank + offset) mod space is a bijection and model numbers never collide within a line.
_MODEL_SCRAMBLE = 7919


# ---------------------------------------------------------------------------------------------
# Public data types


@dataclass(frozen=True)
class Product:
    """A ground-truth product; both platforms' listings of it are renderings of this record."""

    product_id: str
    category: str
    brand: str
    line: str
    model: str
    attributes: dict[str, str]
    price: float


def _empty_truth() -> pd.DataFrame:
    """Default for :attr:`SyntheticCatalogs.truth` when a caller builds one by hand."""
    return pd.DataFrame(columns=list(_TRUTH_COLUMNS))


_TRUTH_COLUMNS = (
    "product_id",
    "family_id",
    "category",
    "brand",
    "line",
    "model",
    "price",
    "left_id",
    "right_id",
)


@dataclass(frozen=True, eq=False)
class SyntheticCatalogs:
    """Two catalogs of one product universe and the true matches between them.

    ``products`` is ``None`` when it was not kept (by default above
    :data:`PRODUCT_OBJECT_LIMIT` products). ``truth`` has one row per product (product_id,
    family_id, category, brand, line, model, price, left_id, right_id; ids '' where the product
    is not listed on that side); it is always present and is what :func:`generate_pairs` uses
    to find hard negatives. ``eq=False`` because DataFrames have no single truth value.
    """

    products: list[Product] | None
    left: pd.DataFrame
    right: pd.DataFrame
    gold: pd.DataFrame
    truth: pd.DataFrame = field(default_factory=_empty_truth)


# ---------------------------------------------------------------------------------------------
# Vocabulary flattened into numpy lookup tables (built once)


@dataclass(frozen=True)
class _Ragged:
    """Per-category string lists stored flat: category c owns flat[start[c] : start[c] + count[c]].

    ``flat`` ends with one extra "" so that index -1 reads as an empty string.
    """

    flat: ObjArray
    start: IntArray
    count: IntArray

    def pick(self, cat: IntArray, rng: np.random.Generator) -> IntArray:
        """Uniform index into ``flat`` within each row's category list."""
        return self.start[cat] + (rng.random(cat.size) * self.count[cat]).astype(np.int64)


def _ragged(lists: Sequence[Sequence[str]]) -> _Ragged:
    """Flatten per-category lists into one object array with offsets."""
    count = np.array([len(x) for x in lists], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    flat = np.array([s for x in lists for s in x] + [""], dtype=object)
    return _Ragged(flat, start, count)


@dataclass(frozen=True)
class _Tables:
    """The vocabulary as arrays, so per-product choices are fancy indexing, not Python loops.

    Attribute values of all categories are numbered globally (value id); slot j of category c
    owns ids slot_start[c, j] .. + slot_count[c, j] - 1 (count 0: the slot is unused).
    ``vary`` lists, per category, the slot that siblings differ in, -1 meaning the model suffix.
    """

    categories: ObjArray
    line_category: IntArray
    line_brand: ObjArray
    line_name: ObjArray
    line_prefix: ObjArray
    lines: _Ragged  # flat holds line ids as strings; only start/count are used
    values: ObjArray
    value_attr: ObjArray
    value_label: ObjArray  # "Capacity: 512 GB", for descriptions
    value_rank: IntArray
    value_ordered: BoolArray
    slot_start: IntArray
    slot_count: IntArray
    vary: IntArray
    vary_count: IntArray
    nouns: _Ragged
    adjectives: _Ragged
    tails: _Ragged
    features: _Ragged
    price_low: FloatArray
    price_high: FloatArray

    @property
    def n_slots(self) -> int:
        """Most attributes any category has; products carry this many value slots."""
        return int(self.slot_start.shape[1])


def _line_tables(cats: Sequence[vocab.Category]) -> dict[str, Any]:
    """Global line table (category, brand, name, model prefix) and per-category ranges."""
    rows = [
        (c, brand.name, line.name, line.model_prefix)
        for c, cat in enumerate(cats)
        for brand in cat.brands
        for line in brand.lines
    ]
    per_cat = [[str(i) for i, r in enumerate(rows) if r[0] == c] for c in range(len(cats))]
    return {
        "line_category": np.array([r[0] for r in rows], dtype=np.int64),
        "line_brand": np.array([r[1] for r in rows], dtype=object),
        "line_name": np.array([r[2] for r in rows], dtype=object),
        "line_prefix": np.array([r[3] for r in rows], dtype=object),
        "lines": _ragged(per_cat),
    }


def _value_tables(cats: Sequence[vocab.Category]) -> dict[str, Any]:
    """Global attribute-value numbering, slot ranges per category and the varying slots."""
    n_slots = max(len(c.attributes) for c in cats)
    slot_start = np.zeros((len(cats), n_slots), dtype=np.int64)
    slot_count = np.zeros((len(cats), n_slots), dtype=np.int64)
    values: list[str] = []
    attrs: list[str] = []
    ranks: list[int] = []
    ordered: list[bool] = []
    for c, cat in enumerate(cats):
        for j, attr in enumerate(cat.attributes):
            slot_start[c, j] = len(values)
            slot_count[c, j] = len(attr.values)
            values.extend(attr.values)
            attrs.extend([attr.name] * len(attr.values))
            ranks.extend(range(len(attr.values)))
            ordered.extend([attr.ordered] * len(attr.values))
    n_vary = max(len(c.varying) for c in cats)
    vary = np.full((len(cats), n_vary), -1, dtype=np.int64)
    for c, cat in enumerate(cats):
        names = [a.name for a in cat.attributes]
        for v, name in enumerate(cat.varying):
            vary[c, v] = -1 if name == "model" else names.index(name)
    return {
        "values": np.array(values, dtype=object),
        "value_attr": np.array(attrs, dtype=object),
        "value_label": np.array(
            [f"{a.capitalize()}: {v}" for a, v in zip(attrs, values, strict=True)], dtype=object
        ),
        "value_rank": np.array(ranks, dtype=np.int64),
        "value_ordered": np.array(ordered, dtype=bool),
        "slot_start": slot_start,
        "slot_count": slot_count,
        "vary": vary,
        "vary_count": np.array([len(c.varying) for c in cats], dtype=np.int64),
    }


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    """Build the lookup tables from :mod:`prodmatch.synth.vocab` once per process."""
    cats = vocab.CATEGORIES
    return _Tables(
        categories=np.array([c.name for c in cats], dtype=object),
        nouns=_ragged([c.nouns for c in cats]),
        adjectives=_ragged([c.adjectives for c in cats]),
        tails=_ragged([c.model_tails for c in cats]),
        features=_ragged([c.features for c in cats]),
        price_low=np.array([c.price_range[0] for c in cats], dtype=np.float64),
        price_high=np.array([c.price_range[1] for c in cats], dtype=np.float64),
        **_line_tables(cats),
        **_value_tables(cats),
    )


# ---------------------------------------------------------------------------------------------
# Ground-truth products of one block


@dataclass(frozen=True)
class _Products:
    """Products of one block as parallel arrays; ``values`` is (n, n_slots) value ids, -1 empty."""

    number: IntArray
    family: IntArray
    category: IntArray
    line: IntArray
    values: IntArray
    model: ObjArray
    noun: ObjArray
    adjective: ObjArray
    price: FloatArray

    def __len__(self) -> int:
        return int(self.number.size)


@dataclass(frozen=True)
class _Families:
    """How a block's products group into families: family of each product and its rank in it."""

    of: IntArray
    variant: IntArray
    count: int


def _families(n: int, near_miss_rate: float, rng: np.random.Generator) -> _Families:
    """Cut n products into families so about ``near_miss_rate`` of them have siblings.

    Multi-product families have 2..MAX_FAMILY_SIZE members (mean m); choosing each family to
    be multi with probability q = r / (m - (m - 1) r) makes the product share r.
    """
    m = (2 + vocab.MAX_FAMILY_SIZE) / 2
    r = min(max(near_miss_rate, 0.0), 1.0)
    q = r / (m - (m - 1) * r) if r < 1 else 1.0
    sizes = np.where(
        rng.random(n) < q, rng.integers(2, vocab.MAX_FAMILY_SIZE + 1, size=n), 1
    ).astype(np.int64)
    ends = np.cumsum(sizes)
    count = int(np.searchsorted(ends, n)) + 1 if n else 0
    of = np.repeat(np.arange(count, dtype=np.int64), sizes[:count])[:n]
    starts = ends[:count] - sizes[:count]
    return _Families(of=of, variant=np.arange(n, dtype=np.int64) - starts[of], count=count)


def _rank_within(groups: IntArray) -> IntArray:
    """0-based position of each element among the elements with the same group id."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    is_first = np.ones(groups.size, dtype=bool)
    is_first[1:] = sorted_groups[1:] != sorted_groups[:-1]
    first = np.maximum.accumulate(np.where(is_first, np.arange(groups.size), 0))
    rank = np.empty(groups.size, dtype=np.int64)
    rank[order] = np.arange(groups.size) - first
    return rank


def _model_numbers(line: IntArray, chunk: int, n_chunks: int, line_offset: IntArray) -> ObjArray:
    """Numeric part of model numbers, unique within a line across all blocks.

    Block b's r-th family of a line gets global rank r * n_chunks + b; ranks map bijectively
    onto 4-digit numbers, then 5-digit ones, so numbers collide only past 99,000 families of
    one line (tens of millions of products).
    """
    rank = _rank_within(line) * n_chunks + chunk
    off = line_offset[line]
    four = 1000 + (_MODEL_SCRAMBLE * rank + off) % 9000
    five = 10000 + (_MODEL_SCRAMBLE * rank + off) % 90000
    number = np.where(rank < 9000, four, five)
    return np.array([str(x) for x in number.tolist()], dtype=object)


@dataclass(frozen=True)
class _BlockPlan:
    """Where a block sits in the whole run: product numbers and block index."""

    start: int
    size: int
    chunk: int
    n_chunks: int


def _make_products(
    plan: _BlockPlan, near_miss_rate: float, line_offset: IntArray, rng: np.random.Generator
) -> _Products:
    """Draw one block's products: family-level choices first, then per-sibling variation."""
    t = _tables()
    fam = _families(plan.size, near_miss_rate, rng)
    f = fam.count
    cat = rng.integers(0, t.categories.size, size=f)
    line = t.lines.pick(cat, rng)
    base = (rng.random((f, t.n_slots)) * t.slot_count[cat]).astype(np.int64)
    vary = t.vary[cat, (rng.random(f) * t.vary_count[cat]).astype(np.int64)]
    noun = t.nouns.flat[t.nouns.pick(cat, rng)]
    adjective = t.adjectives.flat[t.adjectives.pick(cat, rng)]
    tail = t.tails.flat[t.tails.pick(cat, rng)]
    low, high = np.log(t.price_low[cat]), np.log(t.price_high[cat])
    base_price = np.exp(low + rng.random(f) * (high - low))
    suffix0 = rng.integers(0, len(vocab.MODEL_SUFFIXES), size=f)
    number = _model_numbers(line, plan.chunk, plan.n_chunks, line_offset)
    base_model = t.line_prefix[line] + number + tail

    of, k = fam.of, fam.variant
    values = _sibling_values(t, cat[of], base[of], vary[of], k)
    suffixes = np.array(vocab.MODEL_SUFFIXES, dtype=object)
    model_suffix = np.where(vary[of] == -1, suffixes[(suffix0[of] + k) % suffixes.size], "").astype(
        object
    )
    price = _prices(t, base_price[of], values, rng)
    return _Products(
        number=plan.start + np.arange(plan.size, dtype=np.int64),
        family=plan.start + of,
        category=cat[of],
        line=line[of],
        values=values,
        model=base_model[of] + model_suffix,
        noun=noun[of],
        adjective=adjective[of],
        price=price,
    )


def _sibling_values(
    t: _Tables, cat: IntArray, base: IntArray, vary: IntArray, k: IntArray
) -> IntArray:
    """Value ids per product: the family's values, with sibling k shifted k steps in the
    varying slot (distinct because varying attributes have >= MAX_FAMILY_SIZE values)."""
    count = t.slot_count[cat]
    shift = np.where(vary[:, None] == np.arange(t.n_slots)[None, :], k[:, None], 0)
    idx = (base + shift) % np.maximum(count, 1)
    return np.where(count > 0, t.slot_start[cat] + idx, -1).astype(np.int64)


def _prices(t: _Tables, base: FloatArray, values: IntArray, rng: np.random.Generator) -> FloatArray:
    """Family price, raised for bigger ordered attributes (512 GB costs more than 256 GB)."""
    valid = values >= 0
    safe = np.where(valid, values, 0)
    bump = np.where(valid & t.value_ordered[safe], 1.0 + 0.18 * t.value_rank[safe], 1.0)
    price: FloatArray = base * bump.prod(axis=1) * np.exp(rng.normal(0.0, 0.02, size=base.size))
    return np.floor(price) + 0.99


# ---------------------------------------------------------------------------------------------
# String helpers on object arrays


def _obj(values: Sequence[str] | ObjArray) -> ObjArray:
    """A 1-d object array of Python strings (numpy's unicode arrays are slow to combine)."""
    return np.asarray(values, dtype=object)


def _join(columns: Sequence[ObjArray], sep: str = " ") -> ObjArray:
    """Row-wise join of string columns, skipping empty strings (no doubled separators).

    One ``str.join`` per row beats column-wise concatenation, which recopies the growing
    prefix once per column.
    """
    lists = [c.tolist() for c in columns]
    out = np.empty(len(lists[0]), dtype=object)
    out[:] = [sep.join(filter(None, parts)) for parts in zip(*lists, strict=True)]
    return out


def _maybe(col: ObjArray, keep: float, rng: np.random.Generator) -> ObjArray:
    """``col`` with each entry blanked with probability 1 - keep."""
    return np.where(rng.random(col.size) < keep, col, "").astype(object)


def _rewrite(
    col: ObjArray, rng: np.random.Generator, options: Callable[[str], tuple[str, ...]]
) -> ObjArray:
    """Replace each string by a uniform pick among ``options(string)``.

    Options are computed once per distinct string (the vocabulary is small) and stored as a
    padded 2-d table, so the per-row work is two fancy-indexing steps.
    """
    if col.size == 0:
        return col.copy()
    codes, uniques = pd.factorize(col)
    opts = [options(str(u)) for u in uniques]
    width = max(len(o) for o in opts)
    table = np.empty((len(opts), width), dtype=object)
    lengths = np.array([len(o) for o in opts], dtype=np.int64)
    for i, o in enumerate(opts):
        table[i] = [o[j % len(o)] for j in range(width)]
    pick = (rng.random(col.size) * lengths[codes]).astype(np.int64)
    out: ObjArray = table[codes, pick]
    return out


def _format_prices(price: FloatArray) -> ObjArray:
    """Prices as plain decimal strings ("129.99"), the form every shop export shares."""
    return _obj([f"{p:.2f}" for p in price.tolist()])


def _ids(prefix: str, numbers: IntArray, width: int) -> ObjArray:
    """Zero-padded string ids such as "L000017"."""
    return _obj([f"{prefix}{i:0{width}d}" for i in numbers.tolist()])


def _id_width(n: int) -> int:
    """Digits in ids: at least 6, more when the run needs them, so ids sort as numbers."""
    return max(6, len(str(max(n - 1, 0))))


# ---------------------------------------------------------------------------------------------
# Platform A: full titles, long descriptions


def _render_a(p: _Products, rows: IntArray, rng: np.random.Generator) -> dict[str, ObjArray]:
    """Platform A listings of products ``rows``: clean, complete, canonical values."""
    t = _tables()
    line = p.line[rows]
    brand = t.line_brand[line]
    values = p.values[rows]
    padded_values = np.append(t.values, "")
    attrs = [padded_values[values[:, j]] for j in range(t.n_slots)]  # -1 -> the "" pad
    title = _join(
        [brand, t.line_name[line], p.model[rows], *attrs, p.adjective[rows], p.noun[rows]]
    )
    return {
        "title": title,
        "brand": brand.copy(),
        "description": _description_a(p, rows, rng),
        "price": _format_prices(p.price[rows]),
    }


def _description_a(p: _Products, rows: IntArray, rng: np.random.Generator) -> ObjArray:
    """A long marketing description: intro, three feature sentences, specifications, closing."""
    t = _tables()
    line = p.line[rows]
    cat = p.category[rows]
    intro = _join([t.line_brand[line], t.line_name[line], p.noun[rows], p.model[rows]]) + "."
    first = (rng.random(rows.size) * t.features.count[cat]).astype(np.int64)
    features = [
        t.features.flat[t.features.start[cat] + (first + s) % t.features.count[cat]]
        for s in range(3)
    ]
    labels = np.append(t.value_label, "")
    spec = _join([labels[p.values[rows, j]] for j in range(t.n_slots)], sep="; ")
    closing = _obj(vocab.CLOSINGS)[rng.integers(0, len(vocab.CLOSINGS), size=rows.size)]
    return _join([intro, *features, "Specifications: " + spec + ".", closing])


# ---------------------------------------------------------------------------------------------
# Platform B: reworded titles, sparse fields


# Chinese punctuation for the zh description template (escaped: ruff flags the literal).
_ZH_COMMA = "\uff0c"
_ZH_STOP = "\u3002"

# Where each title token sits before shuffling, and how far it may wander (std of noise).
_ORDER_NOISE = {"brand": 0.3, "line": 0.3, "model": 1.5, "attr": 2.0, "adjective": 0.6, "noun": 1.0}


def _reformat_models(model: ObjArray, rng: np.random.Generator) -> ObjArray:
    """Platform B's spelling of model numbers: hyphens dropped or added, regional suffixes."""
    s = pd.Series(model, dtype=object)
    u = rng.random(model.size)
    out = s.copy()
    drop = u < 0.18
    out[drop] = s[drop].str.replace("-", "", regex=False)
    add = (u >= 0.18) & (u < 0.28)
    out[add] = s[add].str.replace(r"^([A-Za-z]+)(\d)", r"\1-\2", regex=True)
    regional = (u >= 0.28) & (u < 0.40)
    suffixes = _obj(vocab.REGIONAL_SUFFIXES)
    out[regional] = s[regional] + suffixes[rng.integers(0, suffixes.size, size=int(regional.sum()))]
    lower = (u >= 0.40) & (u < 0.45)
    out[lower] = s[lower].str.lower()
    return out.to_numpy(dtype=object)


def _shuffle_tokens(
    tokens: list[ObjArray], base: list[float], noise: list[float], rng: np.random.Generator
) -> ObjArray:
    """Join tokens per row in a jittered order: each token's slot is base + N(0, noise)."""
    grid = np.stack(tokens, axis=1)
    keys = np.asarray(base)[None, :] + rng.normal(size=grid.shape) * np.asarray(noise)[None, :]
    order = np.argsort(keys, axis=1)
    shuffled = np.take_along_axis(grid, order, axis=1)
    return _join([shuffled[:, j] for j in range(shuffled.shape[1])])


def _title_tokens_b(
    p: _Products, rows: IntArray, rng: np.random.Generator, language: str
) -> tuple[dict[str, ObjArray], list[ObjArray]]:
    """Platform B's title words (before ordering) and its spelling of each attribute value."""
    t = _tables()
    line = p.line[rows]

    def alt(text: str) -> tuple[str, ...]:
        return vocab.alternatives(text, language)

    padded_values = np.append(t.values, "")
    attrs = [
        _maybe(_rewrite(padded_values[p.values[rows, j]], rng, alt), 0.93, rng)
        for j in range(t.n_slots)
    ]
    brand = t.line_brand[line]
    if language == "zh":
        brand = _rewrite(brand, rng, lambda b: (b, vocab.ZH_BRANDS.get(b, b)))
    tokens = {
        "brand": _maybe(brand, 0.85, rng),
        "line": _maybe(_rewrite(t.line_name[line], rng, alt), 0.75, rng),
        "model": _maybe(_reformat_models(p.model[rows], rng), 0.93, rng),
        "adjective": _maybe(_rewrite(p.adjective[rows], rng, alt), 0.5, rng),
        "noun": _maybe(_rewrite(p.noun[rows], rng, alt), 0.95, rng),
    }
    return tokens, attrs


def _marketing(n: int, rng: np.random.Generator, language: str) -> tuple[ObjArray, ObjArray]:
    """Marketing words for about 30% of titles, as a prefix or a suffix."""
    words = _obj(vocab.ZH_MARKETING if language == "zh" else vocab.MARKETING)
    word = words[rng.integers(0, words.size, size=n)]
    has = rng.random(n) < 0.3
    front = rng.random(n) < 0.5
    prefix = np.where(has & front, word, "").astype(object)
    suffix = np.where(has & ~front, word, "").astype(object)
    return prefix, suffix


def _typo(text: str, u: float, op: int) -> str:
    """One keyboard slip: swap, drop, double or replace the character at fraction u."""
    if len(text) < 4:
        return text
    i = min(int(u * (len(text) - 1)), len(text) - 2)
    if op == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if op == 1:
        return text[:i] + text[i + 1 :]
    if op == 2:
        return text[:i] + text[i] + text[i:]
    return text[:i] + "aeioustrn"[int(u * 1e6) % 9] + text[i + 1 :]


def _noisy_case(title: ObjArray, rng: np.random.Generator, typo_rate: float = 0.04) -> ObjArray:
    """Typos in a few titles, then other casing (all lower, all upper) in some."""
    out = title.copy()
    n = title.size
    hit = np.flatnonzero(rng.random(n) < typo_rate)
    us, ops = rng.random(hit.size), rng.integers(0, 4, size=hit.size)
    out[hit] = [_typo(str(s), float(u), int(o)) for s, u, o in zip(out[hit], us, ops, strict=True)]
    case = rng.random(n)
    lower = np.flatnonzero(case < 0.1)
    upper = np.flatnonzero((case >= 0.1) & (case < 0.18))
    out[lower] = [str(s).lower() for s in out[lower]]
    out[upper] = [str(s).upper() for s in out[upper]]
    return out


def _render_b(
    p: _Products, rows: IntArray, rng: np.random.Generator, language: str
) -> dict[str, ObjArray]:
    """Platform B listings of products ``rows``: reworded, reordered, partly missing."""
    t = _tables()
    n = rows.size
    tokens, attrs = _title_tokens_b(p, rows, rng, language)
    prefix, suffix = _marketing(n, rng, language)
    noise = _ORDER_NOISE
    title = _shuffle_tokens(
        [
            prefix,
            tokens["brand"],
            tokens["line"],
            tokens["model"],
            *attrs,
            tokens["adjective"],
            tokens["noun"],
            suffix,
        ],
        [-10.0, 0.0, 1.0, 2.0, *([3.0] * len(attrs)), 4.0, 5.0, 50.0],
        [
            0.0,
            noise["brand"],
            noise["line"],
            noise["model"],
            *([noise["attr"]] * len(attrs)),
            noise["adjective"],
            noise["noun"],
            0.0,
        ],
        rng,
    )
    brand = t.line_brand[p.line[rows]]
    if language == "zh":
        brand = _rewrite(brand, rng, lambda b: (b, vocab.ZH_BRANDS.get(b, b)))
    case = rng.random(n)
    brand = np.where(case < 0.1, [str(b).upper() for b in brand], brand).astype(object)
    return {
        "title": _noisy_case(title, rng),
        "brand": _maybe(brand, 0.85, rng),
        "description": _maybe(_description_b(p, rows, tokens, attrs, rng, language), 0.65, rng),
        "price": _maybe(_price_b(p.price[rows], rng), 0.9, rng),
    }


def _description_b(
    p: _Products,
    rows: IntArray,
    tokens: dict[str, ObjArray],
    attrs: list[ObjArray],
    rng: np.random.Generator,
    language: str,
) -> ObjArray:
    """A short description: one feature and a spec line (Chinese template for ``zh``)."""
    t = _tables()
    cat = p.category[rows]
    spec = _join(attrs, sep=" | ")
    if language == "zh":
        sentences = _obj(vocab.ZH_SENTENCES)
        closing = sentences[rng.integers(0, sentences.size, size=rows.size)]
        head = _join([tokens["noun"], p.model[rows]])
        text: ObjArray = _join([head, *attrs], sep=_ZH_COMMA) + _ZH_STOP + closing
        return text
    feature = t.features.flat[t.features.pick(cat, rng)]
    return _join([feature, "Model: " + p.model[rows] + ".", spec])


def _price_b(price: FloatArray, rng: np.random.Generator) -> ObjArray:
    """Platform B's price: a few percent off platform A's, ending in .99 or .00 (or cents)."""
    jittered = price * (1.0 + rng.uniform(-0.04, 0.04, size=price.size))
    style = rng.random(price.size)
    cents = np.where(
        style < 0.5,
        np.floor(jittered) + 0.99,
        np.where(style < 0.8, np.round(jittered), np.round(jittered, 2)),
    )
    return _format_prices(cents)


# ---------------------------------------------------------------------------------------------
# Blocks: one seeded generator per block of products


@dataclass(frozen=True)
class _Block:
    """One block of the run: its products, both catalogs, gold and the truth table."""

    products: _Products
    left: pd.DataFrame
    right: pd.DataFrame
    gold: pd.DataFrame
    truth: pd.DataFrame


@dataclass(frozen=True)
class _RunConfig:
    """Settings shared by every block of one generation run."""

    n_products: int
    seed: int
    overlap: float
    near_miss_rate: float
    language: str
    chunk_size: int


def _check_settings(
    n_products: int,
    overlap: float,
    near_miss_rate: float,
    language: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> None:
    """Reject settings that would silently produce nonsense (the CLI prints one line)."""
    if n_products < 1:
        raise ProdmatchError(f"n_products must be at least 1, got {n_products}")
    if not 0.0 <= overlap <= 1.0:
        raise ProdmatchError(f"overlap must be between 0 and 1, got {overlap}")
    if not 0.0 <= near_miss_rate <= 1.0:
        raise ProdmatchError(f"near_miss_rate must be between 0 and 1, got {near_miss_rate}")
    if language not in ("en", "zh"):
        raise ProdmatchError(f"language must be 'en' or 'zh', got {language!r}")
    if chunk_size < 1:
        raise ProdmatchError(f"chunk_size must be at least 1, got {chunk_size}")


def _line_offsets(seed: int) -> IntArray:
    """Per-line offsets for model numbers, shared by all blocks of a run."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    return rng.integers(0, 9000, size=_tables().line_name.size).astype(np.int64)


def _split_listings(n: int, overlap: float, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
    """Which products each side lists: ``overlap`` of them on both, the rest split evenly."""
    both = round(overlap * n)
    left_only = (n - both + 1) // 2
    perm = rng.permutation(n).astype(np.int64)
    left = rng.permutation(perm[: both + left_only])
    right = rng.permutation(np.concatenate([perm[:both], perm[both + left_only :]]))
    return left, right


def _frame(ids: ObjArray, fields: dict[str, ObjArray]) -> pd.DataFrame:
    """A catalog frame in the shared column order."""
    return pd.DataFrame({"id": ids, **{c: fields[c] for c in CATALOG_COLUMNS[1:]}})


def _make_block(
    cfg: _RunConfig, chunk: int, offsets: tuple[int, int], line_offset: IntArray
) -> _Block:
    """Generate block ``chunk``; ``offsets`` are the numbers of left/right ids already used."""
    n_chunks = math.ceil(cfg.n_products / cfg.chunk_size)
    start = chunk * cfg.chunk_size
    plan = _BlockPlan(start, min(cfg.chunk_size, cfg.n_products - start), chunk, n_chunks)
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(1, chunk)))
    products = _make_products(plan, cfg.near_miss_rate, line_offset, rng)
    left_rows, right_rows = _split_listings(plan.size, cfg.overlap, rng)
    width = _id_width(cfg.n_products)
    left_ids = _ids("L", offsets[0] + np.arange(left_rows.size, dtype=np.int64), width)
    right_ids = _ids("R", offsets[1] + np.arange(right_rows.size, dtype=np.int64), width)
    left = _frame(left_ids, _render_a(products, left_rows, rng))
    right = _frame(right_ids, _render_b(products, right_rows, rng, cfg.language))
    truth = _truth(products, left_rows, left_ids, right_rows, right_ids, width)
    both = (truth["left_id"] != "") & (truth["right_id"] != "")
    gold = truth.loc[both, ["left_id", "right_id"]].sort_values("left_id").reset_index(drop=True)
    return _Block(products, left, right, gold, truth)


def _truth(
    p: _Products,
    left_rows: IntArray,
    left_ids: ObjArray,
    right_rows: IntArray,
    right_ids: ObjArray,
    width: int,
) -> pd.DataFrame:
    """One row per product with its listing ids ('' where not listed)."""
    t = _tables()
    left_of = np.full(len(p), "", dtype=object)
    left_of[left_rows] = left_ids
    right_of = np.full(len(p), "", dtype=object)
    right_of[right_rows] = right_ids
    return pd.DataFrame(
        {
            "product_id": _ids("P", p.number, width),
            "family_id": p.family,
            "category": t.categories[p.category],
            "brand": t.line_brand[p.line],
            "line": t.line_name[p.line],
            "model": p.model,
            "price": p.price,
            "left_id": left_of,
            "right_id": right_of,
        }
    )


def _iter_blocks(cfg: _RunConfig) -> Iterator[_Block]:
    """Blocks of a run in order, carrying id offsets so ids are unique across blocks."""
    line_offset = _line_offsets(cfg.seed)
    offsets = (0, 0)
    for chunk in range(math.ceil(cfg.n_products / cfg.chunk_size)):
        block = _make_block(cfg, chunk, offsets, line_offset)
        offsets = (offsets[0] + len(block.left), offsets[1] + len(block.right))
        yield block


# ---------------------------------------------------------------------------------------------
# Public generators


def iter_catalog_chunks(
    n_products: int,
    *,
    seed: int = 0,
    overlap: float = 0.8,
    near_miss_rate: float = 0.3,
    language: str = "en",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]:
    """Stream (left, right, gold) blocks of about ``chunk_size`` products each.

    Memory stays bounded by one block whatever ``n_products`` is. Ids are unique across
    blocks and gold never crosses blocks. Right rows are shuffled only within a block (use
    :func:`generate_catalogs` for one global shuffle). With the default chunk size the blocks
    concatenate to generate_catalogs' left and gold, and to its right up to the right ids.
    """
    _check_settings(n_products, overlap, near_miss_rate, language, chunk_size)
    cfg = _RunConfig(n_products, seed, overlap, near_miss_rate, language, chunk_size)
    for block in _iter_blocks(cfg):
        yield block.left, block.right, block.gold


def generate_catalogs(
    n_products: int,
    *,
    seed: int = 0,
    overlap: float = 0.8,
    near_miss_rate: float = 0.3,
    language: str = "en",
    keep_products: bool | None = None,
) -> SyntheticCatalogs:
    """Two catalogs (platform A left, platform B right) of ``n_products`` products.

    ``overlap`` is the share of products listed on both sides (the rest is split evenly
    between left-only and right-only); ``near_miss_rate`` the share of products that have
    siblings differing in one detail; ``language="zh"`` writes the right catalog in Chinese
    where the vocabulary allows. ``keep_products`` (default: only up to
    :data:`PRODUCT_OBJECT_LIMIT` products) controls whether ``products`` is filled.

    Cost grows linearly: about 12 s and 1.7 GB peak for a million products on one core,
    nearly all of it the strings returned. For bounded memory use :func:`iter_catalog_chunks`.
    """
    _check_settings(n_products, overlap, near_miss_rate, language)
    cfg = _RunConfig(n_products, seed, overlap, near_miss_rate, language, DEFAULT_CHUNK_SIZE)
    keep = n_products <= PRODUCT_OBJECT_LIMIT if keep_products is None else keep_products
    products: list[Product] | None = [] if keep else None
    parts: dict[str, list[pd.DataFrame]] = {"left": [], "right": [], "gold": [], "truth": []}
    for block in _iter_blocks(cfg):  # one block alive at a time; its arrays are freed after
        if products is not None:
            products.extend(_product_objects(block))
        for name, frame in (
            ("left", block.left),
            ("right", block.right),
            ("gold", block.gold),
            ("truth", block.truth),
        ):
            parts[name].append(frame)
    left, right, gold, truth = (_concat(parts[k]) for k in ("left", "right", "gold", "truth"))
    if len(parts["left"]) > 1:
        right, gold, truth = _reshuffle_right(right, gold, truth, cfg)
    return SyntheticCatalogs(products, left, right, gold, truth)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate block frames with a fresh index (no copy when there is one block)."""
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def _reshuffle_right(
    right: pd.DataFrame, gold: pd.DataFrame, truth: pd.DataFrame, cfg: _RunConfig
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Shuffle right rows across blocks and renumber them, so ids leak no block structure."""
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(3,)))
    right = right.iloc[rng.permutation(len(right))].reset_index(drop=True)
    new_ids = _ids("R", np.arange(len(right), dtype=np.int64), _id_width(cfg.n_products))
    mapping = pd.Series(new_ids, index=right["id"].to_numpy())
    mapping[""] = ""
    right["id"] = new_ids
    gold = gold.assign(right_id=gold["right_id"].map(mapping))
    truth = truth.assign(right_id=truth["right_id"].map(mapping))
    return right, gold, truth


def _product_objects(block: _Block) -> list[Product]:
    """Product dataclasses for a block (only built for sizes where they are affordable)."""
    t = _tables()
    p = block.products
    ids = block.truth["product_id"].tolist()
    out = []
    for i in range(len(p)):
        vids = [v for v in p.values[i].tolist() if v >= 0]
        line = int(p.line[i])
        out.append(
            Product(
                product_id=ids[i],
                category=str(t.categories[p.category[i]]),
                brand=str(t.line_brand[line]),
                line=str(t.line_name[line]),
                model=str(p.model[i]),
                attributes={str(t.value_attr[v]): str(t.values[v]) for v in vids},
                price=float(p.price[i]),
            )
        )
    return out


def generate_duplicates(
    n_products: int, *, seed: int = 0, dup_rate: float = 0.3, max_copies: int = 3
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One catalog in which some products are listed several times (deduplication task).

    ``dup_rate`` of the products get 2..``max_copies`` listings. Each product's first listing
    is in either platform's style; its extra copies are platform B rewordings, so copies differ
    in text. Near-miss siblings (30% of products) are distinct clusters. Returns the catalog
    (id, title, brand, description, price) and clusters (id, cluster_id).
    """
    _check_settings(n_products, 0.0, 0.0, "en")
    if not 0.0 <= dup_rate <= 1.0:
        raise ProdmatchError(f"dup_rate must be between 0 and 1, got {dup_rate}")
    if max_copies < 1:
        raise ProdmatchError(f"max_copies must be at least 1, got {max_copies}")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))
    plan = _BlockPlan(0, n_products, 0, 1)
    products = _make_products(plan, 0.3, _line_offsets(seed), rng)
    extra = (
        rng.integers(1, max_copies, size=n_products)
        if max_copies > 1
        else np.zeros(n_products, dtype=np.int64)
    )
    copies = np.where(rng.random(n_products) < dup_rate, 1 + extra, 1)
    listing = np.repeat(np.arange(n_products, dtype=np.int64), copies)
    first = np.ones(listing.size, dtype=bool)
    first[1:] = listing[1:] != listing[:-1]
    style_a = first & (rng.random(listing.size) < 0.5)
    fields = _render_mixed(products, listing, style_a, rng)
    order = rng.permutation(listing.size)
    width = _id_width(listing.size)
    ids = _ids("D", np.arange(listing.size, dtype=np.int64), width)
    catalog = _frame(ids, {k: v[order] for k, v in fields.items()})
    clusters = pd.DataFrame({"id": ids, "cluster_id": _ids("C", listing[order], width)})
    return catalog, clusters


def _render_mixed(
    p: _Products, rows: IntArray, style_a: BoolArray, rng: np.random.Generator
) -> dict[str, ObjArray]:
    """Render ``rows`` in platform A style where ``style_a`` holds, platform B elsewhere."""
    a = _render_a(p, rows[style_a], rng)
    b = _render_b(p, rows[~style_a], rng, "en")
    out: dict[str, ObjArray] = {}
    for key in CATALOG_COLUMNS[1:]:
        col = np.empty(rows.size, dtype=object)
        col[style_a] = a[key]
        col[~style_a] = b[key]
        out[key] = col
    return out


# ---------------------------------------------------------------------------------------------
# Labelled pairs (DeepMatcher format)


@dataclass(frozen=True)
class _Candidates:
    """Right-listed products sorted by a group key, for 'random other member of my group'."""

    keys: IntArray
    right_ids: ObjArray
    position: IntArray  # position of candidate i (in truth-row order) in the sorted arrays


def _candidates(keys: IntArray, right_ids: ObjArray) -> _Candidates:
    """Sort candidates by key, remembering where each landed."""
    order = np.argsort(keys, kind="stable")
    position = np.empty(order.size, dtype=np.int64)
    position[order] = np.arange(order.size)
    return _Candidates(keys[order], right_ids[order], position)


def _draw_other(c: _Candidates, anchors: IntArray, rng: np.random.Generator) -> ObjArray:
    """For each anchor (a candidate index), a random *other* candidate with the same key.

    Returns '' where the anchor's group has no other member. Drawing an offset among the
    other members and skipping over the anchor's own slot keeps it uniform and loop-free.
    """
    key = c.keys[c.position[anchors]]
    low = np.searchsorted(c.keys, key, side="left")
    high = np.searchsorted(c.keys, key, side="right")
    others = high - low - 1
    pick = low + (rng.random(anchors.size) * np.maximum(others, 1)).astype(np.int64)
    pick = pick + (pick >= c.position[anchors])
    out = c.right_ids[np.minimum(pick, c.keys.size - 1)]
    return np.where(others > 0, out, "").astype(object)


def _group_keys(truth: pd.DataFrame) -> list[IntArray]:
    """Keys from hardest to easiest negative: family, brand+line, category, everything."""
    family = truth["family_id"].to_numpy(dtype=np.int64)
    line = pd.factorize(truth["brand"].astype(str) + "\x00" + truth["line"].astype(str))[0]
    category = pd.factorize(truth["category"])[0]
    return [
        family,
        line.astype(np.int64),
        category.astype(np.int64),
        np.zeros(len(truth), dtype=np.int64),
    ]


def _negatives(
    truth: pd.DataFrame, anchors: IntArray, k: int, rng: np.random.Generator
) -> ObjArray:
    """(n_anchors, k) right ids of hard negatives: negative j starts at tier min(j, 2)
    (sibling, same line, same category) and falls back to easier tiers when a group is empty."""
    right_ids = truth["right_id"].to_numpy(dtype=object)
    tiers = [_candidates(key, right_ids) for key in _group_keys(truth)]
    out = np.empty((anchors.size, k), dtype=object)
    for j in range(k):
        col = np.full(anchors.size, "", dtype=object)
        for tier in tiers[min(j, 2) :]:
            missing = np.flatnonzero(col == "")
            if missing.size == 0:
                break
            col[missing] = _draw_other(tier, anchors[missing], rng)
        out[:, j] = col
    return out


def _split_of(families: IntArray, split: Sequence[float], rng: np.random.Generator) -> IntArray:
    """Assign each family (hence each product and its siblings) to one split at random."""
    fractions = np.asarray(split, dtype=np.float64)
    if fractions.size != 3 or (fractions < 0).any() or fractions.sum() <= 0:
        raise ProdmatchError(f"split must be three non-negative fractions, got {tuple(split)}")
    uniques, inverse = np.unique(families, return_inverse=True)
    cuts = np.cumsum(fractions / fractions.sum())[:2] * uniques.size
    rank = rng.permutation(uniques.size)
    return np.searchsorted(np.round(cuts), rank, side="right").astype(np.int64)[inverse]


def generate_pairs(
    synth: SyntheticCatalogs,
    *,
    negatives_per_positive: int = 3,
    seed: int = 0,
    split: tuple[float, float, float] = (0.6, 0.2, 0.2),
) -> dict[str, pd.DataFrame]:
    """Labelled pairs for training matchers: {'train', 'valid', 'test'} with columns
    ltable_id (left id), rtable_id (right id), label (1 match, 0 not).

    Positives are the gold matches. Negatives are hard: the first pairs a left listing with a
    near-miss sibling, the second with a product of the same brand and line, the rest with
    the same category (easier groups only when a group has no other listed member). Splits
    are by product family, so no product, nor any sibling of it, is a positive in two splits.
    """
    if negatives_per_positive < 0:
        raise ProdmatchError(f"negatives_per_positive must be >= 0, got {negatives_per_positive}")
    truth = synth.truth
    if truth.empty and not synth.gold.empty:
        raise ProdmatchError("generate_pairs needs the truth table that generate_catalogs fills")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(4,)))
    listed = truth[truth["right_id"] != ""].reset_index(drop=True)
    anchors = np.flatnonzero((listed["left_id"] != "").to_numpy())
    split_of = _split_of(listed["family_id"].to_numpy(dtype=np.int64)[anchors], split, rng)
    negatives = _negatives(listed, anchors, negatives_per_positive, rng)
    left_ids = listed["left_id"].to_numpy(dtype=object)[anchors]
    right_ids = listed["right_id"].to_numpy(dtype=object)[anchors]
    frames = {}
    for s, name in enumerate(("train", "valid", "test")):
        mask = split_of == s
        frames[name] = _pair_frame(left_ids[mask], right_ids[mask], negatives[mask], rng)
    return frames


def _pair_frame(
    left_ids: ObjArray, right_ids: ObjArray, negatives: ObjArray, rng: np.random.Generator
) -> pd.DataFrame:
    """Positives plus their negatives, duplicates and empty draws removed, rows shuffled."""
    k = negatives.shape[1]
    frame = pd.DataFrame(
        {
            "ltable_id": np.concatenate([left_ids, np.repeat(left_ids, k)]),
            "rtable_id": np.concatenate([right_ids, negatives.reshape(-1)]),
            "label": np.concatenate(
                [
                    np.ones(left_ids.size, dtype=np.int64),
                    np.zeros(left_ids.size * k, dtype=np.int64),
                ]
            ),
        }
    )
    frame = frame[frame["rtable_id"] != ""].drop_duplicates(["ltable_id", "rtable_id"])
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Writing files


def _write_csv_atomic(frame: pd.DataFrame, path: Path) -> Path:
    """Write CSV under a temporary name in the same folder, then rename over ``path``, so a
    reader never sees a half-written file and a crash leaves the old file intact."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        frame.to_csv(tmp, index=False, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_catalogs(synth: SyntheticCatalogs, folder: str | Path) -> dict[str, Path]:
    """Write left.csv, right.csv and gold.csv into ``folder``; returns their paths by name."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    frames = {"left": synth.left, "right": synth.right, "gold": synth.gold}
    return {name: _write_csv_atomic(f, out / f"{name}.csv") for name, f in frames.items()}


def write_deepmatcher(
    synth: SyntheticCatalogs, pairs: dict[str, pd.DataFrame], folder: str | Path
) -> None:
    """Write the DeepMatcher/Magellan layout: tableA.csv (left), tableB.csv (right) and
    train/valid/test.csv with header ltable_id,rtable_id,label."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    _write_csv_atomic(synth.left, out / "tableA.csv")
    _write_csv_atomic(synth.right, out / "tableB.csv")
    for name in ("train", "valid", "test"):
        frame = pairs.get(name, pd.DataFrame(columns=["ltable_id", "rtable_id", "label"]))
        _write_csv_atomic(frame[["ltable_id", "rtable_id", "label"]], out / f"{name}.csv")
