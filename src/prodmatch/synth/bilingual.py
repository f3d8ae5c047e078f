"""Bilingual synthetic catalogs: one platform in Chinese, the other in English.

The generator's ``language="zh"`` mode already writes platform B's titles, brands and
descriptions with its own Chinese vocabulary (`synth.vocab`, written for this project, nothing
downloaded). This module makes a cross-border pair of shops from it: the Chinese shop prices in
yuan the way Taobao and JD do ("¥2,399", "2399元"), either side may be the Chinese one, and
the exchange-rate table that brings both prices into one currency comes with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from prodmatch.errors import ProdmatchError
from prodmatch.synth.generator import SyntheticCatalogs, generate_catalogs

LANGUAGES = ("en", "zh")
# A fixed rate for the synthetic yuan prices (about the 2024-2026 level): the demo's table says
# the same, so converted prices line up as real ones would with a current table.
YUAN_PER_DOLLAR = 7.2
BILINGUAL_RATES: dict[str, float] = {"USD": 1.0, "CNY": 1.0 / YUAN_PER_DOLLAR}


def parse_languages(text: str) -> tuple[str, str]:
    """'zh,en' as ('zh', 'en'): the left and the right catalog's language."""
    parts = tuple(p.strip().lower() for p in text.split(",") if p.strip())
    if len(parts) != 2 or any(p not in LANGUAGES for p in parts) or parts == ("zh", "zh"):
        raise ProdmatchError(
            "--languages takes the left and right catalog's language, en or zh, at most one "
            f"of them zh (en,en  zh,en  en,zh), got '{text}'"
        )
    return parts[0], parts[1]


def generate_bilingual(
    n_products: int, *, seed: int = 0, languages: Sequence[str] = ("zh", "en"), **options: object
) -> SyntheticCatalogs:
    """Two catalogs of `n_products` products in `languages` (left, right), gold matches known.

    "en,en" is the ordinary generator; any pair with "zh" has the Chinese side priced in yuan.
    `options` go to `generate_catalogs` (overlap, near_miss_rate, keep_products).
    """
    left_lang, right_lang = parse_languages(",".join(languages))
    if "zh" not in (left_lang, right_lang):
        return generate_catalogs(n_products, seed=seed, **options)  # type: ignore[arg-type]
    synth = generate_catalogs(n_products, seed=seed, language="zh", **options)  # type: ignore[arg-type]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(16,)))
    chinese = synth.right.assign(price=_yuan(synth.right["price"], rng))
    if right_lang == "zh":
        return replace(synth, right=chinese)
    # the Chinese shop on the left: swap the sides and the pairs' columns
    return replace(
        synth,
        left=chinese,
        right=synth.left,
        gold=_swapped(synth.gold),
        truth=_swapped(synth.truth),
    )


def _yuan(dollars: pd.Series, rng: np.random.Generator) -> list[str]:
    """Each dollar price as a Chinese shop writes yuan: "¥2,399", "2399元" or "¥2399.00"."""
    out: list[str] = []
    styles = rng.integers(0, 3, size=len(dollars))
    for value, style in zip(dollars.tolist(), styles.tolist(), strict=True):
        if not value:
            out.append("")
            continue
        yuan = round(float(value) * YUAN_PER_DOLLAR)
        out.append([f"\u00a5{yuan:,}", f"{yuan}\u5143", f"\u00a5{yuan}.00"][style])
    return out


def _swapped(pairs: pd.DataFrame) -> pd.DataFrame:
    """A pairs table with its left and right columns exchanged (other columns kept)."""
    names = {
        c: c.replace("left", "\0").replace("right", "left").replace("\0", "right")
        for c in pairs.columns
    }
    return pairs.rename(columns=names)[list(pairs.columns)]
