"""The fusion trainer on made-up vectors: where the photo carries what the text lacks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from prodmatch.decide import best_threshold
from prodmatch.errors import ProdmatchError
from prodmatch.images import FusionHead
from prodmatch.train.fusion_trainer import (
    FusionInputs,
    FusionTrainingConfig,
    identity_start,
    train_fusion,
)


def test_identity_start_returns_the_text_vector_whatever_the_photo() -> None:
    torch.manual_seed(0)
    head = identity_start(6, 4, image_hidden=5)
    text = np.random.default_rng(0).normal(size=(3, 6)).astype(np.float32)
    photo = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    expected = text / np.linalg.norm(text, axis=1, keepdims=True)
    for has in ([True] * 3, [False] * 3):
        np.testing.assert_allclose(head.fuse(text, photo, np.array(has)), expected, atol=1e-6)


def _world(n: int = 60, seed: int = 0) -> tuple[FusionInputs, FusionInputs, pd.DataFrame]:
    """Products in pairs of siblings: siblings share a text vector (the colour is not in the
    text) and differ in the photo; each product is listed once per side, a few without photo."""
    rng = np.random.default_rng(seed)
    family = rng.normal(size=(n // 2, 16))
    colour = rng.normal(size=(n, 8)) * 2
    text = np.repeat(family, 2, axis=0)

    def side(prefix: str) -> FusionInputs:
        noisy_text = text + rng.normal(scale=0.1, size=text.shape)
        photo = colour + rng.normal(scale=0.3, size=colour.shape)
        has = rng.random(n) > 0.1
        ids = [f"{prefix}{i}" for i in range(n)]
        return FusionInputs(ids, noisy_text.astype(np.float32), photo.astype(np.float32), has)

    left, right = side("L"), side("R")
    sibling = np.arange(n) ^ 1
    pairs = pd.DataFrame(
        {
            "left_id": [f"L{i}" for i in range(n)] * 2,
            "right_id": [f"R{i}" for i in range(n)] + [f"R{j}" for j in sibling],
            "label": [1] * n + [0] * n,
        }
    )
    return left, right, pairs


def _split(pairs: pd.DataFrame, n: int) -> tuple[pd.DataFrame, ...]:
    """Train, valid and test pairs on disjoint sibling families (60%, 20%, 20% of them): a
    head that only remembered the training products would not pass on valid or test."""
    family = pairs["left_id"].str[1:].astype(int) // 2
    cuts = (int(0.6 * n / 2), int(0.8 * n / 2))
    return (
        pairs[family < cuts[0]],
        pairs[(family >= cuts[0]) & (family < cuts[1])],
        pairs[family >= cuts[1]],
    )


def _best_f1(
    head: FusionHead, left: FusionInputs, right: FusionInputs, pairs: pd.DataFrame
) -> float:
    """The best F1 of the fused cosine on `pairs` (identity head: the text cosine)."""
    fused = [
        pd.DataFrame(head.fuse(side.text, side.image, side.has_image), index=side.ids)
        for side in (left, right)
    ]
    a = fused[0].loc[pairs["left_id"]].to_numpy()
    b = fused[1].loc[pairs["right_id"]].to_numpy()
    return best_threshold((a * b).sum(axis=1), pairs["label"].to_numpy())[1]


@pytest.mark.parametrize("loss", ["supcon", "infonce"])
def test_fusion_learns_what_only_the_photo_says(loss: str) -> None:
    n = 100
    left, right, pairs = _world(n)
    train, valid, test = _split(pairs, n)
    assert not set(train["left_id"]) & (set(valid["left_id"]) | set(test["left_id"]))
    config = FusionTrainingConfig(loss=loss, epochs=40, batch_size=32, seed=1)  # type: ignore[arg-type]
    result = train_fusion(left, right, train, valid, config, progress=False)
    assert result.metrics["text_f1"] < 0.8  # siblings look alike in text
    assert result.metrics["f1"] > result.metrics["text_f1"] + 0.1
    assert result.metrics["epoch"] > 0
    # the gain holds on products neither training nor the choice of epoch saw
    start = identity_start(16, 8)
    text_test = _best_f1(start, left, right, test)
    fused_test = _best_f1(result.head, left, right, test)
    assert fused_test > text_test + 0.1, (text_test, fused_test)
    again = train_fusion(left, right, train, valid, config, progress=False)
    for a, b in zip(
        result.head.state_dict().values(), again.head.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b)  # the same seed gives the same head


def test_selfsup_trains_without_labels_and_keeps_the_last_epoch() -> None:
    left, right, _ = _world(20)
    views = _world(20, seed=1)[:2]
    config = FusionTrainingConfig(loss="selfsup", epochs=3, batch_size=8)
    result = train_fusion(left, right, None, None, config, views=views, progress=False)
    assert result.metrics == {"epoch": 3.0}
    assert [row["epoch"] for row in result.history] == [0.0, 1.0, 2.0, 3.0]
    assert all("valid_f1" not in row for row in result.history)
    with pytest.raises(ProdmatchError, match="second view"):
        train_fusion(left, right, None, None, config, progress=False)


def test_supervised_losses_need_labels() -> None:
    left, right, _ = _world(10)
    with pytest.raises(ProdmatchError, match="needs labelled training pairs"):
        train_fusion(left, right, None, None, FusionTrainingConfig(), progress=False)


def test_training_moves_only_what_reads_the_photo() -> None:
    left, right, pairs = _world()
    config = FusionTrainingConfig(epochs=5, batch_size=32, image_hidden=8)
    head = train_fusion(left, right, pairs, None, config, progress=False).head
    start = identity_start(16, 8, image_hidden=8)
    first, start_first = head.net[0], start.net[0]
    last, start_last = head.net[-1], start.net[-1]
    torch.testing.assert_close(first.weight[:32], start_first.weight[:32])  # text path pinned
    torch.testing.assert_close(last.weight[:, :32], start_last.weight[:, :32])
    assert not first.weight[32:, :16].any()  # the other units read no text
    assert not torch.equal(last.weight[:, 32:], start_last.weight[:, 32:])  # photo units learn
    assert not torch.equal(first.weight[32:, 16:], start_first.weight[32:, 16:])
