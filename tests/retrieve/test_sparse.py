"""TF-IDF statistics saved and loaded: the same rows whatever corpus is being matched."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from prodmatch.errors import ProdmatchError
from prodmatch.retrieve import SparseIndex
from prodmatch.retrieve.sparse import IDF_FILE, LEXICAL_FILE

CORPUS = ["sony bravia kdl-40 40 inch lcd tv", "canon pixma ip4600 printer", "sony dvd player"]
QUERY = ["sony kdl-40 television", "canon ip4600 ink"]


def test_loaded_statistics_give_the_fitted_rows_whatever_else_is_loaded(tmp_path: Path) -> None:
    fitted = SparseIndex(CORPUS)
    loaded = SparseIndex.load(fitted.save(tmp_path / "lexical"))
    assert not list((tmp_path / "lexical").glob("*.pkl"))
    rows = loaded.transform(QUERY)
    assert rows.dtype == np.float32
    np.testing.assert_array_equal(rows.toarray(), fitted.transform(QUERY).toarray())


def test_pair_cosine_depends_on_the_statistics_not_on_the_corpus(tmp_path: Path) -> None:
    stats = SparseIndex.load(SparseIndex(CORPUS).save(tmp_path / "lexical"))
    pair = (["sony kdl-40 tv"], ["sony bravia kdl-40"])
    li = ri = np.zeros(1, dtype=np.int64)
    alone = SparseIndex.pair_scores(stats.transform(pair[0]), stats.transform(pair[1]), li, ri)
    refit_small = SparseIndex(pair[0] + pair[1])
    refit_large = SparseIndex(pair[0] + pair[1] + CORPUS * 3)
    small = SparseIndex.pair_scores(
        refit_small.transform(pair[0]), refit_small.transform(pair[1]), li, ri
    )
    large = SparseIndex.pair_scores(
        refit_large.transform(pair[0]), refit_large.transform(pair[1]), li, ri
    )
    assert small[0] != pytest.approx(large[0], abs=1e-4)  # why the statistics are saved
    again = SparseIndex.pair_scores(stats.transform(pair[0]), stats.transform(pair[1]), li, ri)
    assert again[0] == alone[0]


@pytest.mark.parametrize("damage", ["idf", "vocabulary", "format", "truncated"])
def test_damaged_statistics_are_one_line_naming_the_file(tmp_path: Path, damage: str) -> None:
    folder = SparseIndex(CORPUS).save(tmp_path / "lexical")
    config = json.loads((folder / LEXICAL_FILE).read_text())
    if damage == "idf":
        config["vocabulary"] = config["vocabulary"][:-1]
    elif damage == "vocabulary":
        config["vocabulary"][1] = config["vocabulary"][0]
    elif damage == "format":
        config["format"] = "something-else/1"
    if damage == "truncated":
        data = (folder / IDF_FILE).read_bytes()
        (folder / IDF_FILE).write_bytes(data[: len(data) // 2])
    else:
        (folder / LEXICAL_FILE).write_text(json.dumps(config))
    with pytest.raises(ProdmatchError, match="lexical") as error:
        SparseIndex.load(folder)
    assert "\n" not in str(error.value)


def test_fitted_rows_are_those_of_fitting_then_transforming() -> None:
    corpus = ["canon sd990 silver", "nikon p100 black", "canon sd990 camera", "canon sd990 silver"]
    index, rows = SparseIndex.fitted(corpus)
    again = SparseIndex(corpus)
    assert (rows != again.transform(corpus)).nnz == 0
    assert (index.transform(corpus[:1]) != rows[:1]).nnz == 0
