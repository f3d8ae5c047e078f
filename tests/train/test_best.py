"""The one "keep the best epoch, stop early" rule every training loop follows."""

from __future__ import annotations

import math

from prodmatch.train.best import BestEpoch


def _run(scores: list[float], patience: int | None) -> tuple[BestEpoch[int], list[int]]:
    best: BestEpoch[int] = BestEpoch(patience)
    ran = []
    for epoch, f1 in enumerate(scores):
        ran.append(epoch)
        best.update(epoch, f1, keep=lambda e=epoch: e * 10)  # type: ignore[misc]
        if best.stopped:
            break
    return best, ran


def test_the_best_epoch_is_kept_and_a_tie_keeps_the_earlier() -> None:
    best, ran = _run([0.5, 0.7, 0.7, 0.6], None)
    assert ran == [0, 1, 2, 3] and not best.stopped
    assert (best.best_epoch, best.best_f1, best.kept) == (1, 0.7, 10)


def test_patience_stops_after_that_many_epochs_without_gain() -> None:
    best, ran = _run([0.5, 0.7, 0.6, 0.65, 0.9], 2)
    assert ran == [0, 1, 2, 3] and best.stopped  # epoch 4's 0.9 is never reached
    assert (best.best_epoch, best.kept) == (1, 10)
    best, ran = _run([0.5, 0.7, 0.6, 0.8, 0.7], 2)
    assert ran == [0, 1, 2, 3, 4] and not best.stopped and best.best_epoch == 3


def test_without_validation_the_last_epoch_is_kept() -> None:
    best, ran = _run([math.nan] * 4, 1)
    assert ran == [0, 1, 2, 3] and not best.stopped
    assert (best.best_epoch, best.kept) == (3, 30)


def test_a_resumed_loop_continues_from_its_saved_state() -> None:
    first, _ = _run([0.5, 0.7, 0.6], 2)
    state: dict[str, object] = {}
    first.to_state(state)
    resumed: BestEpoch[None] = BestEpoch.from_state(state, 2)
    assert resumed.bad_epochs == 1 and resumed.best_epoch == 1
    resumed.update(3, 0.65)
    assert resumed.stopped
