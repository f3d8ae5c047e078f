from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prodmatch import linker as linker_module
from prodmatch.data import catalog_from_frame
from prodmatch.errors import ProdmatchError
from prodmatch.linker import Linker, output_columns, with_ids
from prodmatch.settings import MatchSettings

LEFT = catalog_from_frame(
    pd.DataFrame(
        {
            "id": ["a1", "a2", "a3", "a4"],
            "title": [
                "Sony Turntable PSLX350H belt drive",
                "Bose Acoustimass 5 Series III speaker system AM53BK",
                "Samsung 55 inch 4K TV UN55TU8000",
                "Canon PowerShot SX620 HS camera black",
            ],
            "price": ["$149.99", "399", "", "279.00"],
        }
    ),
    name="left",
)
RIGHT = catalog_from_frame(
    pd.DataFrame(
        {
            "id": ["b1", "b2", "b3", "b4"],
            "title": [
                "canon powershot sx620hs 20mp digital camera blk",
                'samsung un55tu8000 55" crystal uhd smart tv',
                "sony pslx350h stereo turntable",
                "sony pslx250h turntable",
            ],
            "price": ["275", "499.99", "150", "99"],
        }
    ),
    name="right",
)
TRUTH = {("a1", "b3"), ("a3", "b2"), ("a4", "b1")}


def _matches(frame: pd.DataFrame) -> set[tuple[str, str]]:
    chosen = frame[frame["decision"]]
    return set(zip(chosen["left_id"], chosen["right_id"], strict=True))


def test_hybrid_match_finds_the_true_pairs_one_to_one(tiny_model: Path) -> None:
    # hand-set: under the default mix every true pair scores above it, a4-b1 (codes differing
    # by a suffix) the lowest
    linker = Linker(MatchSettings(model=str(tiny_model), threshold=0.4), progress=False)
    result = linker.match(LEFT, RIGHT)
    assert _matches(result) == TRUTH
    assert result.groupby("left_id")["rank"].min().eq(1).all()
    assert set(output_columns(result)) >= {"left_id", "right_id", "score", "rank", "decision"}


def test_lexical_scorers_never_load_the_encoder() -> None:
    for scorer in ("tfidf", "fuzzy"):
        settings = MatchSettings(scorer=scorer, retrieval="sparse", threshold=0.4)
        linker = Linker(settings, progress=False)
        assert ("a1", "b3") in _matches(linker.match(LEFT, RIGHT))
        assert linker._encoder is None


def test_every_left_listing_gets_candidates_and_ranks_follow_scores(tiny_model: Path) -> None:
    linker = Linker(MatchSettings(model=str(tiny_model), k=2), progress=False)
    pairs = linker.candidates(*linker.prepare(LEFT, RIGHT))
    assert set(pairs["left"]) == set(range(len(LEFT)))
    for _, group in pairs.sample(frac=1.0, random_state=0).groupby("left"):
        ranks, scores = group["rank"].to_numpy(), group["score"].to_numpy()
        assert sorted(ranks) == list(range(1, len(group) + 1))
        # a listing's rank is one more than the number of its candidates scoring higher
        # (ties: any order among themselves), counted here without sorting
        higher = (scores[None, :] > scores[:, None]).sum(axis=1)
        tied = (scores[None, :] == scores[:, None]).sum(axis=1)
        assert ((ranks >= higher + 1) & (ranks <= higher + tied)).all(), group


def test_score_id_pairs_matches_candidate_scores(tiny_model: Path) -> None:
    linker = Linker(MatchSettings(model=str(tiny_model)), progress=False)
    left, right = linker.prepare(LEFT, RIGHT)
    pairs = with_ids(linker.candidates(left, right), left, right)
    again = linker.score_id_pairs(left, right, pairs[["left_id", "right_id"]])
    assert again == pytest.approx(pairs["score"].to_numpy())


def test_candidates_are_compact_arrays_and_ids_come_only_with_output(tiny_model: Path) -> None:
    linker = Linker(MatchSettings(model=str(tiny_model)), progress=False)
    left, right = linker.prepare(LEFT, RIGHT)
    pairs = linker.candidates(left, right)
    dtypes = pairs.dtypes.astype(str).to_dict()
    assert "object" not in dtypes.values(), dtypes
    assert dtypes["left"] == dtypes["right"] == "int64"
    assert dtypes["dense"] == dtypes["sparse"] == "float32"
    assert dtypes["code_agreement"] == dtypes["code_variant"] == "int8"
    assert {dtypes[c] for c in ("rank", "dense_lr", "dense_rl", "sparse_lr", "sparse_rl")} == {
        "int32"
    }
    shown = with_ids(pairs, left, right)
    assert list(shown["left_id"]) == [LEFT.ids[i] for i in pairs["left"]]
    assert list(shown["right_id"]) == [RIGHT.ids[i] for i in pairs["right"]]
    assert {"left_id", "right_id"} <= set(linker.match(LEFT, RIGHT))


def test_vectors_gathered_in_chunks_give_the_same_features_and_scores(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    linker = Linker(MatchSettings(model=str(tiny_model)), progress=False)
    sides = linker.prepare(LEFT, RIGHT)
    whole = linker.candidates(*sides)
    monkeypatch.setattr(linker_module, "PAIR_CHUNK", 3)
    chunked = linker.candidates(*sides)
    pd.testing.assert_frame_equal(chunked, whole)
    li, ri = whole["left"].to_numpy(), whole["right"].to_numpy()
    left, right = sides[0].vectors, sides[1].vectors
    assert left is not None and right is not None
    expected = np.einsum("ij,ij->i", left[li], right[ri])
    np.testing.assert_allclose(chunked["dense"], expected, rtol=1e-6)


def test_dedupe_groups_duplicates_into_clusters() -> None:
    catalog = catalog_from_frame(
        pd.DataFrame(
            {
                "id": ["1", "2", "3", "4", "5"],
                "title": [
                    "Sony Turntable PSLX350H",
                    "sony pslx350h turntable",
                    "Bose speaker AM53BK",
                    "SONY PSLX-350H belt turntable",
                    "Canon camera SX620",
                ],
            }
        )
    )
    settings = MatchSettings(scorer="tfidf", retrieval="sparse", threshold=0.5)
    pairs, clusters = Linker(settings, progress=False).dedupe(catalog, threshold=0.5)
    label = dict(zip(clusters["product_id"], clusters["cluster_id"], strict=True))
    assert label["1"] == label["2"] == label["4"]
    assert len({label["1"], label["3"], label["5"]}) == 3
    assert (pairs["left"] < pairs["right"]).all()


def test_unknown_column_is_a_clear_error() -> None:
    settings = MatchSettings(scorer="tfidf", columns=["title", "colour"])
    with pytest.raises(ProdmatchError, match="no column 'colour'"):
        Linker(settings, progress=False).match(LEFT, RIGHT)
