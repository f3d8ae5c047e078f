"""The `train` command's options turned into each stage's configuration, for either mode.

`--mode full` fine-tunes the encoder, then trains the head; `--mode head` trains the head
alone on the frozen encoder. The options --loss, --epochs, --batch-size, --temperature and
--seed mean the contrastive stage of whichever mode runs: the encoder's fine-tuning in full
mode, the projection head's training in head mode (``HeadTrainingConfig.loss``,
``projection_epochs``, ``batch_size``, ``temperature``; the seed also seeds the classifier).
Options that only the encoder's fine-tuning has (--lr, --max-seq-length, --freeze-layers)
are refused in head mode rather than ignored, and so is --loss selfsup, which needs no labels
and so has no head mode. An option not given keeps each stage's own default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from prodmatch.errors import ProdmatchError
from prodmatch.train.fine_tune import FineTuneConfig
from prodmatch.train.head_trainer import HeadTrainingConfig

__all__ = ["TrainOptions", "training_configs"]

Mode = Literal["head", "full"]


@dataclass(frozen=True)
class TrainOptions:
    """The options as typed; None where not given."""

    loss: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    temperature: float | None = None
    seed: int = 0
    lr: float | None = None
    max_seq_length: int | None = None
    freeze_layers: int | None = None


def training_configs(
    mode: str, options: TrainOptions
) -> tuple[FineTuneConfig, HeadTrainingConfig]:
    """(fine-tuning config, head config) that the options ask for in `mode`."""
    if mode not in ("full", "head"):
        raise ProdmatchError(f"--mode must be full or head, got '{mode}'")
    if mode == "full":
        tune = FineTuneConfig(
            **_given(
                loss=options.loss,
                epochs=options.epochs,
                batch_size=options.batch_size,
                temperature=options.temperature,
                lr=options.lr,
                max_seq_length=options.max_seq_length,
                freeze_layers=options.freeze_layers,
            ),
            seed=options.seed,
        )
        return tune, HeadTrainingConfig(seed=options.seed)
    encoder_only = {
        "--lr": options.lr,
        "--max-seq-length": options.max_seq_length,
        "--freeze-layers": options.freeze_layers,
    }
    given = [name for name, value in encoder_only.items() if value is not None]
    if given:
        raise ProdmatchError(
            f"{', '.join(given)} set the encoder's fine-tuning, which --mode head does not do; "
            "drop them or use --mode full"
        )
    if options.loss == "selfsup":
        raise ProdmatchError(
            "--mode head trains the projection head on labelled pairs (--loss supcon or "
            "infonce); --loss selfsup needs --mode full"
        )
    head = HeadTrainingConfig(
        **_given(
            loss=options.loss,
            projection_epochs=options.epochs,
            batch_size=options.batch_size,
            temperature=options.temperature,
        ),
        seed=options.seed,
    )
    # the fine-tuning config is not run in head mode; it carries the loss and seed that the
    # fusion head (with photos) trains with
    return FineTuneConfig(loss=head.loss, seed=options.seed), head


def _given(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}
