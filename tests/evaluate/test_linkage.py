"""End-to-end evaluation: the gold mapping's sanity checks (lexical scorer, no encoder)."""

from __future__ import annotations

import warnings
from dataclasses import replace

import pandas as pd
import pytest

from prodmatch.data import catalog_from_frame
from prodmatch.evaluate.linkage import GoldWarning, evaluate_linkage
from prodmatch.linker import Linker
from prodmatch.retrieve.hybrid import NOT_RANKED
from prodmatch.settings import MatchSettings
from prodmatch.synth import generate_catalogs

TITLES = [
    "sony turntable pslx350h belt drive",
    "bose acoustimass 5 speaker system am53bk",
    "linksys etherfast ezxs88w ethernet switch",
    "canon pixma ip4300 photo printer",
    "panasonic lumix dmc fz8 camera",
    "garmin nuvi 350 gps navigator",
]


def _catalogs() -> tuple[object, object]:
    """Ids 0..5 on both sides (as in the JedAI abt-buy files): left i matches right i + 1."""
    left = pd.DataFrame({"id": [str(i) for i in range(6)], "title": TITLES})
    right = pd.DataFrame({"id": [str((i + 1) % 6) for i in range(6)], "title": TITLES})
    return (
        catalog_from_frame(left, name="left"),
        catalog_from_frame(right, name="right"),
    )


def _linker() -> Linker:
    return Linker(MatchSettings(scorer="tfidf", retrieval="sparse", k=1), progress=False)


def test_swapped_gold_columns_warn_with_counts() -> None:
    left, right = _catalogs()
    # the true mapping is left i -> right i + 1; written the other way round, every id still
    # exists on both sides, so only the candidates can tell
    gold = pd.DataFrame({"left_id": ["1", "2", "4"], "right_id": ["2", "3", "5"]})
    swapped = gold.rename(columns={"left_id": "right_id", "right_id": "left_id"})
    with pytest.warns(GoldWarning) as caught:
        report = evaluate_linkage(left, right, swapped, _linker(), ks=(1,))  # type: ignore[arg-type]
    message = str(caught[0].message)
    assert "only 0 of 3 gold pairs are their left listing's best candidate, but 3 are" in message
    assert "swapped" in message and "--gold-cols" in message
    assert report.f1 == 0.0


def test_right_gold_gives_no_warning() -> None:
    left, right = _catalogs()
    gold = pd.DataFrame({"left_id": ["1", "2", "4"], "right_id": ["2", "3", "5"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", GoldWarning)
        report = evaluate_linkage(left, right, gold, _linker(), ks=(1,))  # type: ignore[arg-type]
    assert report.recall == 1.0


def test_unrelated_gold_warns_without_a_swap_hint() -> None:
    left, right = _catalogs()
    gold = pd.DataFrame({"left_id": ["1", "2"], "right_id": ["4", "0"]})
    with pytest.warns(GoldWarning, match="only 0 of 2 gold pairs") as caught:
        evaluate_linkage(left, right, gold, _linker(), ks=(1,))  # type: ignore[arg-type]
    assert "swapped" not in str(caught[0].message)


def test_evaluate_linkage_leaves_the_callers_settings_as_they_were() -> None:
    world = generate_catalogs(60, seed=4)
    left, right = catalog_from_frame(world.left), catalog_from_frame(world.right)
    gold = world.gold.astype(str)
    settings = MatchSettings(scorer="tfidf", retrieval="sparse", k=3)
    before = replace(settings)
    linker = Linker(settings, progress=False)
    report = evaluate_linkage(left, right, gold, linker, ks=(1, 10))
    assert settings == before and linker.settings.k == 3
    assert report.settings["k"] == 10  # recall@10 needed 10 candidates a listing
    assert report.recall_at_k[10] > report.recall_at_k[1] > 0.5
    # the same linker still retrieves 3 a listing afterwards
    pairs = linker.match(left, right)
    ranked = pairs["sparse_lr"][pairs["sparse_lr"] < NOT_RANKED]
    assert ranked.max() == 2
