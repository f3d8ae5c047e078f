"""The cross-encoder module: it reads pairs in any batching alike and round-trips its folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prodmatch.errors import ProdmatchError
from prodmatch.rerank import CrossEncoder

LEFT = ["sony bravia 40in lcd tv kdl40", "apple ipod nano 8gb", "x", "canon eos 50d body only"]
RIGHT = ["bravia kdl-40 lcd television", "ipod nano 8 gb silver", "y z", "canon 50d"]


def test_logits_do_not_depend_on_batching(tiny_model: Path) -> None:
    model = CrossEncoder.from_encoder(tiny_model, max_seq_length=32)
    together = model.logits(LEFT, RIGHT, batch_size=64)
    one_by_one = np.concatenate([model.logits([a], [b]) for a, b in zip(LEFT, RIGHT, strict=True)])
    assert together.shape == (4,)
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def test_folder_round_trips_to_the_same_logits(tiny_model: Path, tmp_path: Path) -> None:
    model = CrossEncoder.from_encoder(tiny_model, max_seq_length=24)
    model.save(tmp_path / "cross")
    assert not list((tmp_path / "cross").rglob("*.bin"))
    loaded = CrossEncoder.load(tmp_path / "cross")
    assert loaded.max_seq_length == 24
    np.testing.assert_allclose(loaded.logits(LEFT, RIGHT), model.logits(LEFT, RIGHT), atol=1e-6)


def test_a_long_pair_is_cut_to_max_seq_length(tiny_model: Path) -> None:
    model = CrossEncoder.from_encoder(tiny_model, max_seq_length=16)
    batch = model.tokenize(["word " * 100], ["other " * 100])
    assert batch["input_ids"].shape == (1, 16)


def test_bad_folders_and_inputs_are_clear_errors(tmp_path: Path, tiny_model: Path) -> None:
    with pytest.raises(ProdmatchError, match="cross-encoder"):
        CrossEncoder.load(tmp_path)
    with pytest.raises(ProdmatchError, match="cannot load a transformer"):
        CrossEncoder.from_encoder(tmp_path)
    with pytest.raises(ValueError, match="same length"):
        CrossEncoder.from_encoder(tiny_model).logits(["a"], [])
