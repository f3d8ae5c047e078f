"""One pair, one set of features: training, `evaluate pairs`, `match` and `--work-dir` all
read the `sparse` signal through the trained matcher's saved TF-IDF statistics.

Before matchers kept their statistics, each path fitted TF-IDF on whatever it loaded (train and
valid listings, valid and test listings, the whole catalogs, the first rows of a streamed file),
so the same pair got another `sparse` value on every path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from prodmatch.data import load_deepmatcher
from prodmatch.evaluate import evaluate_pairs
from prodmatch.linker import Linker, Side
from prodmatch.matcher import LEXICAL_DIR, matcher_settings
from prodmatch.settings import MatchSettings
from prodmatch.stream import StreamMatcher
from prodmatch.synth import generate_catalogs, generate_pairs, write_deepmatcher
from prodmatch.train import classifier_stage
from prodmatch.train.api import train_matcher

SIGNALS = ["sparse", "code_agreement", "code_variant"]  # exact on every path


def _spy_features(monkeypatch: pytest.MonkeyPatch) -> list[pd.DataFrame]:
    """Every frame `Linker.features` returns, with the pairs' ids added."""
    seen: list[pd.DataFrame] = []
    original = Linker.features

    def spy(self: Linker, left: Side, right: Side, li: Any, ri: Any) -> pd.DataFrame:
        frame = original(self, left, right, li, ri)
        ids = frame.assign(
            left_id=np.asarray(left.catalog.ids, dtype=object)[frame["left"]],
            right_id=np.asarray(right.catalog.ids, dtype=object)[frame["right"]],
        )
        seen.append(ids)
        return frame

    monkeypatch.setattr(Linker, "features", spy)
    return seen


def _row(frames: list[pd.DataFrame], pair: tuple[str, str]) -> pd.Series:
    joined = pd.concat(frames, ignore_index=True)
    hit = joined[(joined["left_id"] == pair[0]) & (joined["right_id"] == pair[1])]
    assert len(hit), f"{pair} was not scored"
    return hit.iloc[0]


def test_one_pair_gets_the_same_features_on_every_path(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = generate_catalogs(120, seed=9)
    write_deepmatcher(world, generate_pairs(world, seed=9), tmp_path / "dm")
    data = load_deepmatcher(tmp_path / "dm")
    # training: the valid features the classifier and its threshold are chosen on
    trained: list[pd.DataFrame] = []
    original = classifier_stage.pair_features

    def spy_pairs(*args: Any) -> pd.DataFrame:
        trained.append(original(*args))
        return trained[-1]

    monkeypatch.setattr(classifier_stage, "pair_features", spy_pairs)
    base = MatchSettings(model=str(tiny_model), max_seq_length=32, k=10)
    out = tmp_path / "matcher"
    train_matcher(
        data.left,
        data.right,
        data.train,
        data.valid,
        out,
        mode="head",
        settings=base,
        progress=False,
        valid_split="given",  # data.valid's features are looked up below
    )
    assert (out / LEXICAL_DIR / "lexical.json").is_file()
    assert "lexical/" in (out / "README.md").read_text()
    valid = next(
        frame
        for frame in trained
        if frame[["left_id", "right_id"]].equals(
            data.valid[["left_id", "right_id"]].reset_index(drop=True)
        )
    )
    settings = matcher_settings(out)
    # match: other catalogs (a third of the left listings, the right ones reversed)
    linker = Linker(settings, progress=False)
    left_part = data.left.select(list(data.left.ids[::3]))
    right_all = data.right.select(list(data.right.ids[::-1]))
    candidates = linker.match(left_part, right_all)
    keys = set(zip(candidates["left_id"], candidates["right_id"], strict=True))
    positives = valid[valid["label"] == 1]
    shared = [p for p in zip(positives["left_id"], positives["right_id"], strict=True) if p in keys]
    assert shared, "no valid match is among the match candidates"
    pair = shared[0]
    at_train = valid[(valid["left_id"] == pair[0]) & (valid["right_id"] == pair[1])].iloc[0]
    at_match = candidates[
        (candidates["left_id"] == pair[0]) & (candidates["right_id"] == pair[1])
    ].iloc[0]
    # evaluate pairs: prepared on the valid and test listings only
    seen = _spy_features(monkeypatch)
    evaluate_pairs(data, Linker(settings, progress=False))
    at_evaluate = _row(seen, pair)
    # streamed: the same other catalogs through a work folder
    left_part.records.reset_index().to_csv(tmp_path / "a.csv", index=False)
    right_all.records.reset_index().to_csv(tmp_path / "b.csv", index=False)
    StreamMatcher(tmp_path / "work", settings, sample_rows=10, progress=False).run(
        tmp_path / "a.csv", tmp_path / "b.csv"
    )
    parts = pd.concat(map(pd.read_parquet, sorted((tmp_path / "work").glob("candidates/*"))))
    at_stream = _row([parts], pair)

    for where in (at_match, at_evaluate, at_stream):
        for name in SIGNALS:
            assert where[name] == at_train[name], name
    assert at_train["sparse"] > 0
    # dense: the same up to padding within a batch (and float16 in the work folder's store)
    assert at_match["dense"] == pytest.approx(at_train["dense"], abs=1e-5)
    assert at_evaluate["dense"] == pytest.approx(at_train["dense"], abs=1e-5)
    assert at_stream["dense"] == pytest.approx(at_train["dense"], abs=2e-3)
