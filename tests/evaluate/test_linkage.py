"""End-to-end linkage evaluation: what it leaves of the caller's objects."""

from __future__ import annotations

from dataclasses import replace

from prodmatch.data import catalog_from_frame
from prodmatch.evaluate import evaluate_linkage
from prodmatch.linker import Linker
from prodmatch.retrieve.hybrid import NOT_RANKED
from prodmatch.settings import MatchSettings
from prodmatch.synth import generate_catalogs


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
