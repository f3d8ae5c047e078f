"""Full-mode fine-tuning on tiny data with the tiny model: it learns, resumes and repeats."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from prodmatch.errors import ProdmatchError
from prodmatch.train.fine_tune import FineTuneConfig, Listings, fine_tune, valid_f1

Data = tuple[Listings, pd.DataFrame, pd.DataFrame]


@pytest.fixture(scope="module")
def data(training_data: Callable[[int, int], Data]) -> Data:
    return training_data(60, 2)


CONFIG = FineTuneConfig(epochs=2, batch_size=8, lr=1e-3, max_seq_length=32, checkpoint_every=3)


@pytest.mark.parametrize("loss", ["supcon", "infonce", "selfsup"])
def test_each_loss_trains_and_lowers_its_loss(
    tiny_model: Path, tmp_path: Path, data: tuple[Listings, pd.DataFrame, pd.DataFrame], loss: str
) -> None:
    listings, train, valid = data
    config = FineTuneConfig(loss=loss, epochs=3, batch_size=8, lr=2e-3, max_seq_length=32)  # type: ignore[arg-type]
    result = fine_tune(tiny_model, listings, train, valid, tmp_path, config, progress=False)
    losses = [row["loss"] for row in result.history]
    assert len(losses) >= 2
    assert losses[-1] < losses[0]
    # the kept epoch is the one with the best validation F1, and it is the model returned
    f1s = [row["valid_f1"] for row in result.history]
    best = int(np.argmax(f1s))
    assert result.metrics["best_valid_f1"] == f1s[best]
    assert result.metrics["best_epoch"] == result.history[best]["epoch"]
    assert valid_f1(result.model, listings, valid) == pytest.approx(f1s[best], abs=1e-6)


def test_supcon_improves_validation_f1_of_the_tiny_model(
    tiny_model: Path, tmp_path: Path, data: tuple[Listings, pd.DataFrame, pd.DataFrame]
) -> None:
    from sentence_transformers import SentenceTransformer

    listings, train, valid = data
    before = valid_f1(SentenceTransformer(str(tiny_model), device="cpu"), listings, valid)
    config = FineTuneConfig(epochs=4, batch_size=16, lr=3e-3, max_seq_length=32, patience=4)
    result = fine_tune(tiny_model, listings, train, valid, tmp_path, config, progress=False)
    assert result.metrics["best_valid_f1"] > before + 0.05


# with the layer cache and the queue, the checkpoint must also hold the momentum copy and
# the queue (the cache is rebuilt), or the resumed run would contrast with other negatives
QUEUED = replace(CONFIG, freeze_layers=1, queue_size=32, momentum=0.9)


@pytest.mark.parametrize("config", [CONFIG, QUEUED], ids=["plain", "queue+cache"])
def test_resume_after_interruption_gives_the_same_weights(
    tiny_model: Path,
    tmp_path: Path,
    data: tuple[Listings, pd.DataFrame, pd.DataFrame],
    config: FineTuneConfig,
) -> None:
    listings, train, valid = data
    straight = fine_tune(tiny_model, listings, train, valid, tmp_path / "a", config, progress=False)
    fine_tune(
        tiny_model,
        listings,
        train,
        valid,
        tmp_path / "b",
        config,
        progress=False,
        stop_after_steps=5,
    )
    assert (tmp_path / "b" / "checkpoint" / "state.json").is_file()
    saved_queue = (tmp_path / "b" / "checkpoint" / "queue.safetensors").is_file()
    assert saved_queue == bool(config.queue_size)
    resumed = fine_tune(tiny_model, listings, train, valid, tmp_path / "b", config, progress=False)
    for (name, a), (_, b) in zip(
        straight.model.state_dict().items(), resumed.model.state_dict().items(), strict=True
    ):
        assert torch.allclose(a, b, atol=1e-6), name
    assert straight.history == resumed.history


def test_same_seed_same_model(
    tiny_model: Path, tmp_path: Path, data: tuple[Listings, pd.DataFrame, pd.DataFrame]
) -> None:
    listings, train, valid = data
    first = fine_tune(tiny_model, listings, train, valid, tmp_path / "1", CONFIG, progress=False)
    second = fine_tune(tiny_model, listings, train, valid, tmp_path / "2", CONFIG, progress=False)
    a = load_file(str(tmp_path / "1" / "best.safetensors"))
    b = load_file(str(tmp_path / "2" / "best.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert first.history == second.history


def test_a_checkpoint_of_other_settings_is_refused(
    tiny_model: Path, tmp_path: Path, data: tuple[Listings, pd.DataFrame, pd.DataFrame]
) -> None:
    listings, train, valid = data
    fine_tune(
        tiny_model, listings, train, valid, tmp_path, CONFIG, progress=False, stop_after_steps=2
    )
    other = FineTuneConfig(epochs=3, batch_size=8, lr=1e-3, max_seq_length=32)
    with pytest.raises(ProdmatchError, match="other settings"):
        fine_tune(tiny_model, listings, train, valid, tmp_path, other, progress=False)


def test_supervised_losses_need_labels(
    tiny_model: Path, tmp_path: Path, data: tuple[Listings, pd.DataFrame, pd.DataFrame]
) -> None:
    listings, _, _ = data
    with pytest.raises(ProdmatchError, match="needs labelled pairs"):
        fine_tune(tiny_model, listings, None, None, tmp_path, CONFIG, progress=False)


def test_freezing_lower_layers_keeps_them_fixed(
    tiny_model: Path, tmp_path: Path, data: tuple[Listings, pd.DataFrame, pd.DataFrame]
) -> None:
    from sentence_transformers import SentenceTransformer

    listings, train, valid = data
    config = FineTuneConfig(epochs=1, batch_size=8, lr=1e-2, max_seq_length=32, freeze_layers=1)
    result = fine_tune(tiny_model, listings, train, valid, tmp_path, config, progress=False)
    before = SentenceTransformer(str(tiny_model), device="cpu").state_dict()
    after = result.model.state_dict()
    frozen = [k for k in after if "encoder.layer.0." in k or "embeddings" in k]
    trained = [k for k in after if "encoder.layer.1." in k]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)
    assert any(not torch.equal(before[k], after[k]) for k in trained)
    assert np.isfinite(result.history[0]["loss"])
