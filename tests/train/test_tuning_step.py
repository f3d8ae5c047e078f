"""The fine-tuning step with a queue and a layer cache: today's loss when both are off or the
queue is empty, and the queue filled by the momentum copy (resuming with both:
test_fine_tune.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from prodmatch.errors import ProdmatchError
from prodmatch.matcher.head import ProjectionHead
from prodmatch.train.fine_tune import Batch, FineTuneConfig, Listings, _loss, fine_tune
from prodmatch.train.tuning_step import TuningStep

Data = tuple[Listings, pd.DataFrame, pd.DataFrame]

TEXTS = ["apple iphone 12 black", "iphone 12 apple 64gb", "sony tv 55", "canon pixma mg3620"]
SUPCON = Batch(TEXTS, [0, 0, 1, 2])
INFONCE = Batch(TEXTS[:2], [0, 1], TEXTS[2:], ["hp laserjet p1102"], [-1])


@pytest.fixture(scope="module")
def data(training_data: Callable[[int, int], Data]) -> Data:
    return training_data(40, 3)


def _model(tiny_model: Path) -> tuple[Any, ProjectionHead]:
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    model = SentenceTransformer(str(tiny_model), device="cpu")
    return model.eval(), ProjectionHead(32).eval()


@pytest.mark.parametrize(("loss", "batch"), [("supcon", SUPCON), ("infonce", INFONCE)])
def test_queue_size_zero_is_exactly_todays_loss(
    tiny_model: Path, tmp_path: Path, loss: str, batch: Batch
) -> None:
    model, projection = _model(tiny_model)
    config = FineTuneConfig(loss=loss, queue_size=0)  # type: ignore[arg-type]
    step = TuningStep(model, projection, config, TEXTS, tmp_path)
    assert step.modules() == {}
    with torch.no_grad():
        assert torch.equal(step.loss(batch), _loss(model, projection, batch, config))


@pytest.mark.parametrize(
    ("loss", "batch", "pushed"), [("supcon", SUPCON, 4), ("infonce", INFONCE, 4)]
)
def test_the_queue_starts_empty_and_then_holds_the_batchs_keys(
    tiny_model: Path, tmp_path: Path, loss: str, batch: Batch, pushed: int
) -> None:
    model, projection = _model(tiny_model)
    config = FineTuneConfig(loss=loss, queue_size=16, momentum=0.5)  # type: ignore[arg-type]
    step = TuningStep(model, projection, config, TEXTS, tmp_path)
    assert set(step.modules()) == {"key_encoder", "key_projection", "queue"}
    with torch.no_grad():
        today = _loss(model, projection, batch, config)
        first = step.loss(batch)  # the queue is still empty for the first batch
        assert torch.equal(first, today)
        assert step.queue is not None and len(step.queue) == pushed
        vectors, labels = step.queue.contents()
        # the keys are the momentum copy's embeddings of the batch (its weights equal the
        # model's so far), with the clusters of their pairs
        texts = batch.texts + (batch.positives or [])
        assert torch.allclose(vectors, projection(model.encode(texts, convert_to_tensor=True)))
        assert labels.tolist() == (batch.labels or []) * (pushed // len(batch.texts))
        second = step.loss(batch)
    assert not torch.allclose(second, first)
    assert len(step.queue) == 2 * pushed


def test_selfsup_trains_on_the_cache_but_refuses_a_queue(
    tiny_model: Path, tmp_path: Path, data: Data
) -> None:
    listings, _, valid = data
    config = FineTuneConfig(
        loss="selfsup", epochs=1, batch_size=8, max_seq_length=32, freeze_layers=1
    )
    result = fine_tune(tiny_model, listings, None, valid, tmp_path, config, progress=False)
    assert result.history[0]["loss"] > 0
    assert result.metrics["steps_seconds_epoch_1"] > 0  # the steps' own time, recorded
    with pytest.raises(ProdmatchError, match="--queue-size needs product clusters"):
        FineTuneConfig(loss="selfsup", queue_size=8)
