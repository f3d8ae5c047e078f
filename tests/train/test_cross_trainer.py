"""Cross-encoder training on tiny data with the tiny model: it learns, resumes and repeats."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from prodmatch.decide import best_threshold
from prodmatch.encode.models import resolve_model_path
from prodmatch.errors import ProdmatchError
from prodmatch.rerank import CrossEncoder
from prodmatch.train.cross_trainer import CrossTrainingConfig, pair_texts, train_cross_encoder
from prodmatch.train.fine_tune import Listings

Data = tuple[Listings, pd.DataFrame, pd.DataFrame]


@pytest.fixture(scope="module")
def data(training_data: Callable[[int, int], Data]) -> Data:
    return training_data(80, 3)


CONFIG = CrossTrainingConfig(
    epochs=2, batch_size=16, lr=2e-3, max_seq_length=48, checkpoint_every=4, patience=2
)


def _valid_f1(model: CrossEncoder, listings: Listings, valid: pd.DataFrame) -> float:
    return best_threshold(model.logits(*pair_texts(valid, listings)), valid["label"])[1]


def test_training_lowers_the_loss_and_improves_validation_f1(tmp_path: Path, data: Data) -> None:
    # The real MiniLM: a random tiny transformer cannot learn to compare two texts in a few
    # steps, and a learning test that cannot fail proves nothing. About 20 s on two cores.
    model = resolve_model_path(None)
    listings, train, valid = data
    before = _valid_f1(CrossEncoder.from_encoder(model, 48), listings, valid)
    config = CrossTrainingConfig(epochs=2, batch_size=16, lr=1e-4, max_seq_length=48, patience=2)
    result = train_cross_encoder(model, listings, train, valid, tmp_path, config, progress=False)
    losses = [row["loss"] for row in result.history]
    assert losses[-1] < losses[0]
    assert result.metrics["best_valid_f1"] > before + 0.05
    assert result.valid_logits is not None and len(result.valid_logits) == len(valid)
    # the model returned is the best epoch's, and its valid logits are the ones kept
    np.testing.assert_allclose(
        result.model.logits(*pair_texts(valid, listings)), result.valid_logits, atol=1e-4
    )


def test_an_interrupted_run_resumes_to_the_same_weights(
    tiny_model: Path, tmp_path: Path, data: Data
) -> None:
    listings, train, valid = data
    whole = train_cross_encoder(
        tiny_model, listings, train, valid, tmp_path / "a", CONFIG, progress=False
    )
    stopped = train_cross_encoder(
        tiny_model,
        listings,
        train,
        valid,
        tmp_path / "b",
        CONFIG,
        progress=False,
        stop_after_steps=5,
    )
    assert stopped.metrics == {} and (tmp_path / "b" / "cross-checkpoint").is_dir()
    resumed = train_cross_encoder(
        tiny_model, listings, train, valid, tmp_path / "b", CONFIG, progress=False
    )
    assert resumed.history == whole.history
    for name, tensor in whole.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], tensor)


def test_resuming_with_other_settings_or_without_matches_is_refused(
    tiny_model: Path, tmp_path: Path, data: Data
) -> None:
    listings, train, valid = data
    train_cross_encoder(
        tiny_model, listings, train, valid, tmp_path, CONFIG, progress=False, stop_after_steps=1
    )
    other = CrossTrainingConfig(epochs=3, batch_size=16, lr=2e-3, max_seq_length=48)
    with pytest.raises(ProdmatchError, match="other settings"):
        train_cross_encoder(tiny_model, listings, train, valid, tmp_path, other, progress=False)
    no_matches = train.assign(label=0)
    with pytest.raises(ProdmatchError, match="some matches"):
        train_cross_encoder(
            tiny_model, listings, no_matches, valid, tmp_path / "x", CONFIG, progress=False
        )


def test_batches_hold_every_pair_once_group_similar_lengths_and_repeat_by_seed() -> None:
    from prodmatch.train.cross_trainer import _batches

    rng = np.random.default_rng(0)
    pairs = [("a" * int(n), "b", i % 2) for i, n in enumerate(rng.integers(1, 400, 800))]
    config = CrossTrainingConfig(batch_size=8)
    batches = _batches(pairs, 0, config)
    sizes = [[len(a) + len(b) for a, b in zip(f, s, strict=True)] for f, s, _ in batches]
    assert sorted(n for batch in sizes for n in batch) == sorted(len(a) + 1 for a, _, _ in pairs)
    spread = np.mean([np.ptp(batch) for batch in sizes])
    assert spread < 100  # random batches of lengths 1-400 would spread about 300
    again = _batches(pairs, 0, config)
    assert all(a[0] == b[0] for a, b in zip(batches, again, strict=True))
    assert _batches(pairs, 1, config)[0][0] != batches[0][0]
