from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from prodmatch.data import catalog_from_frame
from prodmatch.linker import Linker
from prodmatch.matcher.head import MatchHead, PairClassifier, ProjectionHead
from prodmatch.review import Explainer, explain_pair
from prodmatch.settings import MatchSettings

LEFT = catalog_from_frame(
    pd.DataFrame(
        {
            "id": ["a1", "a2", "a3"],
            "title": [
                "Sony Turntable PSLX350H belt drive",
                "Samsung 55 inch 4K TV UN55TU8000",
                "Canon PowerShot SX620 HS camera black",
            ],
            "brand": ["sony", "samsung", "canon"],
        }
    ),
    name="left",
)
RIGHT = catalog_from_frame(
    pd.DataFrame(
        {
            "id": ["b1", "b2", "b3"],
            "title": [
                "canon powershot sx620hs 20mp digital camera blk",
                'samsung un55tu8000 55" crystal uhd smart tv',
                "sony pslx350h stereo turntable",
            ],
            "brand": ["canon", "samsung", "sony"],
        }
    ),
    name="right",
)


def _head(dim: int, hidden: int, seed: int = 0) -> MatchHead:
    torch.manual_seed(seed)
    classifier = PairClassifier(dim, n_extra=4, hidden_dim=hidden)
    for p in classifier.parameters():
        torch.nn.init.normal_(p, std=0.3)
    return MatchHead(
        ProjectionHead(dim),
        classifier,
        extra_columns=("dense", "sparse", "code_agreement", "code_variant"),
    )


def test_hybrid_explained_score_is_the_match_score_and_its_parts_add_up(
    tiny_model: Path,
) -> None:
    linker = Linker(MatchSettings(model=str(tiny_model)), progress=False)
    matched = linker.match(LEFT, RIGHT)
    left, right = linker.prepare(LEFT, RIGHT)
    explainer = Explainer(linker, left, right)
    for row in matched.itertuples():
        e = explainer.explain(row.left_id, row.right_id, tokens=False, attributes=False)
        assert e.score == pytest.approx(row.score, abs=1e-9)
        assert e.signals.space == "score"
        assert e.signals.total() == pytest.approx(e.score, abs=1e-9)
    one = matched.iloc[0]
    parts = {p.signal: p for p in explainer.explain(one.left_id, one.right_id).signals.parts}
    s = linker.settings
    assert parts["dense"].contribution == pytest.approx(s.dense_weight * one["dense"], abs=1e-6)
    assert parts["code_agreement"].contribution == pytest.approx(
        s.code_weight * one["code_agreement"]
    )


@pytest.mark.parametrize("hidden", [0, 16])
def test_learned_parts_add_up_to_the_logit(tiny_model: Path, hidden: int) -> None:
    linker = Linker(MatchSettings(model=str(tiny_model)), progress=False)
    left, right = linker.prepare(LEFT, RIGHT)
    assert left.vectors is not None
    linker.head = _head(left.vectors.shape[1], hidden)
    matched = linker.candidates(left, right)
    explainer = Explainer(linker, left, right)
    for row in matched.head(4).itertuples():
        e = explainer.explain(LEFT.ids[row.left], RIGHT.ids[row.right], tokens=False)
        # the head runs in float32: one pair alone and in a batch may differ in the 8th digit
        assert e.score == pytest.approx(row.score, abs=1e-6)
        assert e.signals.space == "logit"
        logit = np.log(e.score / (1 - e.score))
        assert e.signals.total() == pytest.approx(logit, abs=1e-5)
        names = {p.signal for p in e.signals.parts}
        if hidden == 0:  # exact: no remainder, each extra column is weight * value
            assert "rest" not in names
            weight = linker.head.classifier.net.weight[0].detach().numpy()
            dim = left.vectors.shape[1]
            sparse = next(p for p in e.signals.parts if p.signal == "sparse")
            assert sparse.contribution == pytest.approx(weight[4 * dim + 2] * row.sparse, 1e-4)
        else:  # integrated gradients: completeness up to a small remainder
            rest = [p.contribution for p in e.signals.parts if p.signal == "rest"]
            assert not rest or abs(rest[0]) < 0.05


def test_attributes_are_left_out_of_both_listings_and_words_one_at_a_time(
    tiny_model: Path,
) -> None:
    linker = Linker(MatchSettings(model=str(tiny_model)), progress=False)
    left, right = linker.prepare(LEFT, RIGHT)
    e = explain_pair(linker, left, right, "a1", "b3")
    by_attribute = {a.attribute: a for a in e.attributes}
    assert set(by_attribute) == {"title", "brand"}
    title = by_attribute["title"]
    assert title.change == pytest.approx(e.score - title.score_without, abs=1e-6)
    # without titles both listings read "[brand] sony": identical, so cosines of 1 and no
    # model numbers, 0.2 * 1 + 0.8 * 1 + 0
    assert title.score_without == pytest.approx(1.0, abs=1e-5)
    assert by_attribute["brand"].score_without < e.score
    words = {(t.side, t.token): t for t in e.tokens}
    # every word of both listings was occluded once
    assert len([t for t in e.tokens if t.side == "left"]) == 6  # title 5 words, brand 1
    # the shared model number is the left word whose removal costs most
    assert e.top_tokens("left", 1)[0].token == "PSLX350H"
    assert words[("left", "PSLX350H")].change > words[("left", "belt")].change


def test_removing_words_at_once_agrees_with_one_at_a_time(tiny_model: Path) -> None:
    linker = Linker(MatchSettings(model=str(tiny_model)), progress=False)
    left, right = linker.prepare(LEFT, RIGHT)
    explainer = Explainer(linker, left, right)
    e = explainer.explain("a1", "b3", attributes=False)
    code = next(t for t in e.tokens if t.token == "PSLX350H")
    alone = explainer.score_without("a1", "b3", "left", [(code.attribute, code.position)])
    assert alone == pytest.approx(e.score - code.change, abs=1e-6)
    both = explainer.score_without("a1", "b3", "left", [("title", 0), ("title", 2)])
    assert both < alone  # without "Sony" too it falls further
