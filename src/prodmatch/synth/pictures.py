"""Synthetic product photos for the synthetic catalogs, so image matching can be tested offline.

Each product is drawn as a simple shape for its category (a phone is a tall rounded slab, a TV
a wide dark screen, headphones two ear cups on a band) in the product's colour, with a label
printing brand and model number. Each platform photographs a product slightly differently
(position, scale, background, brightness, JPEG quality), so one product's two photos are alike
but not identical, while a near-miss sibling in another colour looks different. That is the
point of :func:`generate_multimodal`: it drops colour words from a share of the right titles,
so for those listings only the picture tells the black phone from the white one.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from prodmatch.errors import ProdmatchError
from prodmatch.synth import vocab
from prodmatch.synth.generator import Product, SyntheticCatalogs, generate_catalogs, write_catalogs

__all__ = [
    "COLOURS",
    "MultimodalCatalogs",
    "colour_rgb",
    "draw_product",
    "generate_multimodal",
    "write_pictures",
]

RGB = tuple[int, int, int]

# Every colour the vocabulary uses, as RGB; two-tone names ("Black/White") are looked up by part.
COLOURS: dict[str, RGB] = {
    "Almond Cream": (236, 222, 196),
    "Beige": (222, 204, 170),
    "Black": (28, 28, 30),
    "Blue": (36, 88, 196),
    "Camo": (96, 104, 64),
    "Cerise": (206, 36, 98),
    "Core Black": (22, 22, 22),
    "Cream": (244, 234, 204),
    "Empire Red": (168, 22, 34),
    "Gold": (212, 175, 55),
    "Graphite": (72, 74, 80),
    "Green": (40, 140, 72),
    "Grey": (128, 128, 132),
    "Lavender": (182, 160, 220),
    "Marseille Blue": (62, 112, 172),
    "Midnight": (32, 38, 58),
    "Midnight Blue": (26, 30, 112),
    "Mint": (168, 226, 196),
    "Navy": (22, 32, 84),
    "Onyx Black": (18, 18, 24),
    "Orange": (240, 128, 32),
    "Phantom Black": (36, 36, 44),
    "Pink": (240, 160, 190),
    "Platinum": (214, 214, 208),
    "Red": (200, 30, 40),
    "Rose Gold": (214, 150, 140),
    "Sierra Blue": (150, 182, 216),
    "Silver": (190, 192, 198),
    "Space Grey": (96, 96, 102),
    "Squad": (110, 122, 84),
    "Stainless Steel": (176, 182, 188),
    "Starlight": (240, 230, 210),
    "Teal": (0, 128, 128),
    "Triple White": (250, 250, 250),
    "Volcanic": (218, 88, 32),
    "White": (244, 244, 244),
}

# Colours for products whose category has no colour attribute (TVs, memory cards, toys...).
_SCREEN_BLACK: RGB = (24, 24, 28)
_BRAND_PALETTE: tuple[RGB, ...] = (
    (200, 40, 40),
    (30, 90, 190),
    (240, 190, 30),
    (40, 150, 80),
    (120, 60, 160),
    (240, 120, 30),
    (20, 150, 170),
    (60, 60, 70),
)
_DARK_BY_DEFAULT = {"tv", "monitor", "camera", "card"}

# Platform-to-platform variation: enough that two photos of one product differ, small enough
# that they stay closer than photos of a sibling in another colour.
_SHIFT = 0.05  # of the picture size
_SCALE = (0.86, 1.0)
_BRIGHTNESS = (0.93, 1.07)
_JPEG_QUALITY = (70, 95)
_SUPERSAMPLE = 2  # draw at 2x and shrink: smooth edges without anti-aliased primitives


@cache
def _colour_names() -> dict[str, str]:
    """Every spelling the generator uses for a colour (case-folded) -> the colour as the
    vocabulary names it: canonical names, platform B's abbreviations ("Blk", "Sp Gray") and
    Chinese ("黑色", "黑银色")."""
    canonical = {
        value
        for category in vocab.CATEGORIES
        for attribute in category.attributes
        if attribute.name == "colour"
        for value in attribute.values
    }
    names: dict[str, str] = {}
    for name in sorted(canonical | set(COLOURS)):
        for language in ("zh", "en"):
            for spelling in vocab.alternatives(name, language):
                names.setdefault(spelling.casefold(), name)
        names[name.casefold()] = name
    return names


def colour_rgb(name: str) -> RGB | None:
    """RGB of a colour name as written in either catalog (any case, abbreviated, Chinese or
    two-tone, where the first part counts); None for a name it does not know."""
    key = name.strip().casefold()
    known = _colour_names().get(key, key)
    if known in COLOURS:
        return COLOURS[known]
    if "/" in known:
        return colour_rgb(known.split("/", 1)[0])
    return None


def _colours(product: Product) -> tuple[RGB, RGB]:
    """Body and accent colour: from the colour attribute (second part of a two-tone name as
    accent), else dark for screens and a brand colour for the rest."""
    name = product.attributes.get("colour")
    if name:
        body = colour_rgb(name) or _BRAND_PALETTE[_stable(name) % len(_BRAND_PALETTE)]
        parts = name.split("/")
        accent = colour_rgb(parts[1]) if len(parts) > 1 else None
        return body, accent or _shade(body)
    shape = _shape(product)
    brand = _BRAND_PALETTE[_stable(product.brand) % len(_BRAND_PALETTE)]
    if shape in _DARK_BY_DEFAULT:
        return _SCREEN_BLACK, brand
    return brand, _shade(brand)


def _shade(colour: RGB) -> RGB:
    """A visibly different tone of ``colour`` for details: darker if light, lighter if dark."""
    light = sum(colour) / 3 > 128
    return tuple(int(c * 0.6) if light else min(255, c + 70) for c in colour)  # type: ignore[return-value]


def _stable(text: str) -> int:
    """A hash that is the same in every process (Python's ``hash`` of a str is salted)."""
    return zlib.crc32(text.encode("utf-8"))


@cache
def _shapes_by_category() -> dict[str, str]:
    return {c.name: c.shape for c in vocab.CATEGORIES}


def _shape(product: Product) -> str:
    return _shapes_by_category().get(product.category, "box")


# ---------------------------------------------------------------------------------------------
# Shapes: each draws into the box (x0, y0, x1, y1) of the canvas


Box = tuple[float, float, float, float]
Painter = Callable[[ImageDraw.ImageDraw, Box, RGB, RGB], None]


def _inset(box: Box, fx: float, fy: float | None = None) -> Box:
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * fx, (y1 - y0) * (fx if fy is None else fy)
    return (x0 + dx, y0 + dy, x1 - dx, y1 - dy)


def _sub(box: Box, a: float, b: float, c: float, d: float) -> Box:
    """The part of ``box`` between fractions (a, b) across and (c, d) down."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return (x0 + a * w, y0 + c * h, x0 + b * w, y0 + d * h)


def _outline(colour: RGB) -> RGB:
    return (90, 90, 90) if sum(colour) > 600 else _shade(colour)


def _headphones(d: ImageDraw.ImageDraw, box: Box, body: RGB, accent: RGB) -> None:
    width = max(3, int((box[2] - box[0]) * 0.08))
    d.arc(_sub(box, 0.1, 0.9, 0.02, 0.9), 180, 360, fill=body, width=width)
    for a in (0.02, 0.62):
        cup = _sub(box, a, a + 0.36, 0.42, 0.95)
        d.ellipse(cup, fill=body, outline=_outline(body), width=2)
        d.ellipse(_inset(cup, 0.25), fill=accent)


def _phone(d: ImageDraw.ImageDraw, box: Box, body: RGB, accent: RGB) -> None:
    slab = _sub(box, 0.28, 0.72, 0.0, 1.0)
    radius = int((slab[2] - slab[0]) * 0.18)
    d.rounded_rectangle(slab, radius, fill=body, outline=_outline(body), width=2)
    d.rounded_rectangle(_inset(slab, 0.08, 0.05), radius // 2, fill=(30, 34, 48))
    d.ellipse(_sub(slab, 0.44, 0.56, 0.06, 0.1), fill=accent)


def _laptop(d: ImageDraw.ImageDraw, box: Box, body: RGB, accent: RGB) -> None:
    lid = _sub(box, 0.12, 0.88, 0.05, 0.72)
    d.rounded_rectangle(lid, 6, fill=body, outline=_outline(body), width=2)
    d.rectangle(_inset(lid, 0.05, 0.07), fill=(30, 34, 48))
    x0, y0, x1, y1 = _sub(box, 0.0, 1.0, 0.72, 0.86)
    inset = (x1 - x0) * 0.1
    d.polygon([(x0 + inset, y0), (x1 - inset, y0), (x1, y1), (x0, y1)], fill=body)
    d.line([(x0 + inset, y0), (x1 - inset, y0)], fill=accent, width=2)


def _tv(d: ImageDraw.ImageDraw, box: Box, body: RGB, accent: RGB) -> None:
    screen = _sub(box, 0.0, 1.0, 0.08, 0.74)
    d.rectangle(screen, fill=body, outline=accent, width=3)
    d.rectangle(_inset(screen, 0.03, 0.05), fill=(40, 60, 90))
    d.polygon([_pt(box, 0.3, 0.86), _pt(box, 0.7, 0.86), _pt(box, 0.55, 0.74)], fill=body)
    d.polygon([_pt(box, 0.3, 0.86), _pt(box, 0.45, 0.74), _pt(box, 0.55, 0.74)], fill=body)


def _monitor(d: ImageDraw.ImageDraw, box: Box, body: RGB, accent: RGB) -> None:
    screen = _sub(box, 0.05, 0.95, 0.05, 0.68)
    d.rectangle(screen, fill=body, outline=accent, width=2)
    d.rectangle(_inset(screen, 0.04, 0.06), fill=(60, 80, 120))
    d.rectangle(_sub(box, 0.46, 0.54, 0.68, 0.86), fill=body)
    d.rounded_rectangle(_sub(box, 0.3, 0.7, 0.85, 0.92), 4, fill=body)


def _camera(d: ImageDraw.ImageDraw, box: Box, body: RGB, accent: RGB) -> None:
    d.rounded_rectangle(_sub(box, 0.05, 0.95, 0.25, 0.9), 10, fill=body, outline=accent, width=2)
    d.rectangle(_sub(box, 0.35, 0.65, 0.12, 0.27), fill=body)
    lens = _sub(box, 0.3, 0.7, 0.33, 0.85)
    d.ellipse(lens, fill=accent, outline=_outline(body), width=3)
    d.ellipse(_inset(lens, 0.25), fill=(20, 24, 36))


def _drive(d: ImageDraw.ImageDraw, box: Box, body: RGB, accent: RGB) -> None:
    slab = _sub(box, 0.12, 0.88, 0.18, 0.85)
    d.rounded_rectangle(slab, 12, fill=body, outline=_outline(body), width=2)
    d.ellipse(_sub(slab, 0.82, 0.9, 0.1, 0.18), fill=(60, 200, 90))
    d.line([_pt(slab, 0.1, 0.8), _pt(slab, 0.9, 0.8)], fill=accent, width=3)


def _card(d: ImageDraw.ImageDraw, box: Box, body: RGB, accent: RGB) -> None:
    x0, y0, x1, y1 = _sub(box, 0.25, 0.75, 0.1, 0.9)
    cut = (x1 - x0) * 0.25
    d.polygon([(x0, y0 + cut), (x0 + cut, y0), (x1, y0), (x1, y1), (x0, y1)], fill=body)
    d.rectangle(_sub((x0, y0, x1, y1), 0.1, 0.9, 0.45, 0.75), fill=accent)
    for i in range(4):
        d.rectangle(
            _sub((x0, y0, x1, y1), 0.3 + i * 0.15, 0.38 + i * 0.15, 0.05, 0.2), fill=(212, 175, 55)
        )


def _speaker(d: ImageDraw.ImageDraw, box: Box, body: RGB, accent: RGB) -> None:
    shell = _sub(box, 0.22, 0.78, 0.02, 0.98)
    d.rounded_rectangle(
        shell, int((shell[2] - shell[0]) * 0.35), fill=body, outline=accent, width=2
    )
    for top, bottom in ((0.12, 0.42), (0.5, 0.88)):
        cone = _sub(shell, 0.15, 0.85, top, bottom)
        d.ellipse(cone, fill=_shade(body), outline=accent, width=2)


def _watch(d: ImageDraw.ImageDraw, box: Box, body: RGB, accent: RGB) -> None:
    d.rectangle(_sub(box, 0.36, 0.64, 0.0, 1.0), fill=body)
    face = _sub(box, 0.25, 0.75, 0.25, 0.75)
    d.rounded_rectangle(face, 14, fill=_outline(body))
    d.rounded_rectangle(_inset(face, 0.1), 10, fill=(24, 28, 40))
    d.line([_pt(face, 0.5, 0.5), _pt(face, 0.5, 0.25)], fill=accent, width=3)


def _tablet(d: ImageDraw.ImageDraw, box: Box, body: RGB, accent: RGB) -> None:
    slab = _sub(box, 0.15, 0.85, 0.02, 0.98)
    d.rounded_rectangle(slab, 10, fill=body, outline=_outline(body), width=2)
    d.rounded_rectangle(_inset(slab, 0.07, 0.05), 4, fill=(36, 40, 56))
    d.ellipse(_sub(slab, 0.47, 0.53, 0.015, 0.035), fill=accent)


def _shoe(d: ImageDraw.ImageDraw, box: Box, body: RGB, accent: RGB) -> None:
    upper = [
        _pt(box, 0.05, 0.75),
        _pt(box, 0.1, 0.4),
        _pt(box, 0.35, 0.3),
        _pt(box, 0.55, 0.5),
        _pt(box, 0.9, 0.58),
        _pt(box, 0.97, 0.75),
    ]
    d.polygon(upper, fill=body, outline=_outline(body))
    d.rounded_rectangle(_sub(box, 0.03, 0.99, 0.72, 0.84), 6, fill=accent)
    d.line([_pt(box, 0.38, 0.36), _pt(box, 0.5, 0.5)], fill=accent, width=3)


def _appliance(d: ImageDraw.ImageDraw, box: Box, body: RGB, accent: RGB) -> None:
    d.polygon(
        [_pt(box, 0.2, 0.95), _pt(box, 0.8, 0.95), _pt(box, 0.7, 0.2), _pt(box, 0.3, 0.2)],
        fill=body,
        outline=_outline(body),
    )
    d.rectangle(_sub(box, 0.28, 0.72, 0.12, 0.2), fill=accent)
    d.arc(_sub(box, 0.6, 0.98, 0.3, 0.75), 270, 90, fill=body, width=8)
    d.rectangle(_sub(box, 0.15, 0.85, 0.93, 1.0), fill=_shade(body))


def _pan(d: ImageDraw.ImageDraw, box: Box, body: RGB, accent: RGB) -> None:
    d.rounded_rectangle(_sub(box, 0.62, 1.0, 0.44, 0.56), 5, fill=(40, 40, 40))
    rim = _sub(box, 0.0, 0.66, 0.17, 0.83)
    d.ellipse(rim, fill=body, outline=_outline(body), width=3)
    d.ellipse(_inset(rim, 0.12), fill=accent)


def _box(d: ImageDraw.ImageDraw, box: Box, body: RGB, accent: RGB) -> None:
    front = _sub(box, 0.08, 0.78, 0.2, 0.98)
    x0, y0, x1, y1 = front
    depth = (x1 - x0) * 0.25
    d.polygon([(x0, y0), (x0 + depth, y0 - depth), (x1 + depth, y0 - depth), (x1, y0)], fill=accent)
    d.polygon(
        [(x1, y0), (x1 + depth, y0 - depth), (x1 + depth, y1 - depth), (x1, y1)], fill=_shade(body)
    )
    d.rectangle(front, fill=body)
    d.ellipse(_sub(front, 0.2, 0.8, 0.15, 0.6), fill=accent)


def _pt(box: Box, fx: float, fy: float) -> tuple[float, float]:
    return (box[0] + fx * (box[2] - box[0]), box[1] + fy * (box[3] - box[1]))


_PAINTERS: dict[str, Painter] = {
    "headphones": _headphones,
    "phone": _phone,
    "laptop": _laptop,
    "tv": _tv,
    "monitor": _monitor,
    "camera": _camera,
    "drive": _drive,
    "card": _card,
    "speaker": _speaker,
    "watch": _watch,
    "tablet": _tablet,
    "shoe": _shoe,
    "appliance": _appliance,
    "pan": _pan,
    "box": _box,
}


# ---------------------------------------------------------------------------------------------
# A photo of one product


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at ``size`` (no system fonts needed); the bitmap one without
    FreeType."""
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError, TypeError):
        return ImageFont.load_default()


def _rng(product: Product, platform: str, seed: int) -> np.random.Generator:
    """One generator per (seed, product, platform): a photo does not depend on what else is
    drawn, so any subset of a catalog can be redrawn identically."""
    key = [seed, _stable(product.product_id), _stable(platform)]
    return np.random.default_rng(np.random.SeedSequence(key))


def _background(rng: np.random.Generator) -> RGB:
    """Near-white studio backgrounds with a faint tint."""
    base = int(rng.integers(232, 256))
    tint = rng.integers(-6, 7, size=3)
    return tuple(int(np.clip(base + t, 0, 255)) for t in tint)  # type: ignore[return-value]


def _label(draw: ImageDraw.ImageDraw, product: Product, width: int, height: int) -> None:
    """A white plate at the bottom with brand and model number, like a product shot caption."""
    top = int(height * 0.8)
    draw.rectangle((0, top, width, height), fill=(255, 255, 255))
    draw.line((0, top, width, top), fill=(200, 200, 200), width=max(1, width // 128))
    text = f"{product.brand.upper()} {product.model}"
    size = max(8, int(height * 0.075))
    font = _font(size)
    while size > 8 and draw.textlength(text, font=font) > width * 0.94:
        size -= 1
        font = _font(size)
    draw.text((width / 2, (top + height) / 2), text, fill=(20, 20, 20), font=font, anchor="mm")


def draw_product(product: Product, *, platform: str, seed: int, size: int = 128) -> Image.Image:
    """A ``size`` x ``size`` RGB photo of ``product`` as ``platform`` would show it.

    Deterministic in (product, platform, seed). Two platforms get different positions,
    scales, backgrounds, brightness and JPEG artefacts of the same drawing.
    """
    if size < 16:
        raise ProdmatchError(f"picture size must be at least 16 pixels, got {size}")
    rng = _rng(product, platform, seed)
    big = size * _SUPERSAMPLE
    canvas = Image.new("RGB", (big, big), _background(rng))
    draw = ImageDraw.Draw(canvas)
    scale = float(rng.uniform(*_SCALE))
    side = big * 0.72 * scale
    cx = big / 2 + float(rng.uniform(-_SHIFT, _SHIFT)) * big
    cy = big * 0.42 + float(rng.uniform(-_SHIFT, _SHIFT)) * big
    box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    body, accent = _colours(product)
    _PAINTERS.get(_shape(product), _box)(draw, box, body, accent)
    _label(draw, product, big, big)
    image = canvas.resize((size, size), Image.Resampling.LANCZOS)
    image = ImageEnhance.Brightness(image).enhance(float(rng.uniform(*_BRIGHTNESS)))
    return _jpeg_round_trip(image, int(rng.integers(_JPEG_QUALITY[0], _JPEG_QUALITY[1] + 1)))


def _jpeg_round_trip(image: Image.Image, quality: int) -> Image.Image:
    """The image as a shop's JPEG pipeline leaves it: compressed at ``quality`` and decoded."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


# ---------------------------------------------------------------------------------------------
# Catalogs with pictures


@dataclass(frozen=True, eq=False)
class MultimodalCatalogs:
    """Catalogs with an ``image`` column (paths relative to ``folder``) and their gold.

    ``colour_dropped`` lists the right ids whose title and description lost their colour
    words: for those, only the picture says which colour the product is.
    """

    left: pd.DataFrame
    right: pd.DataFrame
    gold: pd.DataFrame
    folder: Path
    colour_dropped: list[str]
    synth: SyntheticCatalogs


@dataclass(frozen=True)
class _PictureOptions:
    """How to draw a catalog's photos: seed, pixel size and the share left without one."""

    seed: int
    size: int
    missing_rate: float


def _products_by_listing(synth: SyntheticCatalogs, side: str) -> dict[str, Product]:
    if synth.products is None:
        raise ProdmatchError("pictures need the Product objects: generate with keep_products=True")
    by_id = {p.product_id: p for p in synth.products}
    truth = synth.truth[synth.truth[f"{side}_id"] != ""]
    return {
        str(listing): by_id[str(product)]
        for listing, product in zip(truth[f"{side}_id"], truth["product_id"], strict=True)
    }


def _write_side(
    catalog: pd.DataFrame,
    products: dict[str, Product],
    folder: Path,
    side: str,
    options: _PictureOptions,
) -> pd.DataFrame:
    """Draw and save one catalog's photos; returns a copy of it with the ``image`` column."""
    rng = np.random.default_rng(np.random.SeedSequence([options.seed, _stable(side)]))
    suffix, fmt = (".png", "PNG") if side == "left" else (".jpg", "JPEG")
    target = folder / "images" / side
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for listing, missing in zip(
        catalog["id"], rng.random(len(catalog)) < options.missing_rate, strict=True
    ):
        product = products.get(str(listing))
        if product is None or missing:
            paths.append("")
            continue
        image = draw_product(product, platform=side, seed=options.seed, size=options.size)
        name = f"{listing}{suffix}"
        image.save(target / name, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        paths.append(f"images/{side}/{name}")
    return catalog.assign(image=paths)


def _colour_pattern(colour: str) -> re.Pattern[str]:
    """Every spelling of ``colour`` either platform may print, as whole words, any case."""
    spellings = {colour, *vocab.alternatives(colour, "en"), *vocab.alternatives(colour, "zh")}
    alternatives = "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
    return re.compile(rf"(?<![\w/-])(?:{alternatives})(?![\w/-])", re.IGNORECASE)


def _strip_colour(text: str, pattern: re.Pattern[str]) -> str:
    """``text`` without the colour, tidying the separators it leaves behind ("a |  | b")."""
    out = pattern.sub("", text)
    out = re.sub(r"\s*\|\s*(?=\||$)", "", out)
    out = re.sub(r"(^|\.\s)\s*\|\s*", r"\1", out)
    return re.sub(r"\s{2,}", " ", out).strip()


def _drop_colour_words(
    right: pd.DataFrame, products: dict[str, Product], rate: float, seed: int
) -> tuple[pd.DataFrame, list[str]]:
    """Remove colour words from the title and description of about ``rate`` of the right
    listings whose product has a colour; returns the new catalog and the ids changed."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, _stable("colour-drop")]))
    chosen = rng.random(len(right)) < rate
    columns = {c: right[c].tolist() for c in ("title", "description") if c in right.columns}
    dropped: list[str] = []
    for row, (listing, pick) in enumerate(zip(right["id"], chosen, strict=True)):
        product = products.get(str(listing))
        colour = product.attributes.get("colour") if product is not None else None
        if not pick or not colour:
            continue
        pattern = _colour_pattern(colour)
        for values in columns.values():
            if isinstance(values[row], str):
                values[row] = _strip_colour(values[row], pattern)
        dropped.append(str(listing))
    return right.assign(**columns), dropped


def _write_all(
    synth: SyntheticCatalogs,
    folder: Path,
    options: _PictureOptions,
    colour_drop_rate: float,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    if not 0.0 <= options.missing_rate <= 1.0:
        raise ProdmatchError(f"missing_rate must be between 0 and 1, got {options.missing_rate}")
    left_products = _products_by_listing(synth, "left")
    right_products = _products_by_listing(synth, "right")
    left = _write_side(synth.left, left_products, folder, "left", options)
    right = _write_side(synth.right, right_products, folder, "right", options)
    dropped: list[str] = []
    if colour_drop_rate > 0:
        right, dropped = _drop_colour_words(right, right_products, colour_drop_rate, options.seed)
    return left, right, dropped


def write_pictures(
    synth: SyntheticCatalogs,
    folder: str | Path,
    *,
    missing_rate: float = 0.1,
    text_colour_drop: bool = True,
    colour_drop_rate: float = 0.5,
    seed: int = 0,
    size: int = 128,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw every listing's photo into ``folder``/images/{left,right}/ and return copies of
    the catalogs with an ``image`` column of paths relative to ``folder``.

    Left photos are PNG, right ones JPEG (as shops differ). ``missing_rate`` of the listings
    get no photo (an empty cell). With ``text_colour_drop``, ``colour_drop_rate`` of the right
    listings with a colour lose their colour words, so only the image carries the colour.
    """
    options = _PictureOptions(seed=seed, size=size, missing_rate=missing_rate)
    rate = colour_drop_rate if text_colour_drop else 0.0
    left, right, _ = _write_all(synth, Path(folder), options, rate)
    return left, right


def generate_multimodal(
    n: int,
    seed: int,
    folder: str | Path,
    *,
    missing_rate: float = 0.1,
    colour_drop_rate: float = 0.5,
    near_miss_rate: float = 0.3,
    size: int = 128,
) -> MultimodalCatalogs:
    """Synthetic catalogs of ``n`` products with photos, where the right titles of a share of
    products do not name the colour; writes left.csv, right.csv, gold.csv and the photos into
    ``folder`` (so the image paths resolve against the CSVs' folder)."""
    synth = generate_catalogs(n, seed=seed, near_miss_rate=near_miss_rate, keep_products=True)
    target = Path(folder)
    options = _PictureOptions(seed=seed, size=size, missing_rate=missing_rate)
    left, right, dropped = _write_all(synth, target, options, colour_drop_rate)
    write_catalogs(replace(synth, left=left, right=right), target)
    return MultimodalCatalogs(left, right, synth.gold, target, dropped, synth)
