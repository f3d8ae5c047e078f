"""The `train` command's options turned into each stage's configuration, for either mode.

`--mode full` fine-tunes the encoder, then trains the head; `--mode head` trains the head
alone on the frozen encoder. The options --loss, --epochs, --batch-size, --temperature and
--seed mean the contrastive stage of whichever mode runs: the encoder's fine-tuning in full
mode, the projection head's training in head mode (``HeadTrainingConfig.loss``,
``projection_epochs``, ``batch_size``, ``temperature``; the seed also seeds the classifier).
Options that only the encoder's fine-tuning has (--lr, --max-seq-length, --freeze-layers,
--queue-size, --momentum) are refused in head mode rather than ignored, and so is --loss
selfsup, which needs no labels and so has no head mode. An option not given keeps each
stage's own default.

`--classifier prior` replaces the head (projection and MLP) by the few-label classifier of
`prodmatch.train.prior_head`, the one the review page retrains: it trains no projection,
so in head mode --epochs, --batch-size and --temperature are refused with it.

`--classifier auto` (the default) is `prior` in head mode unless one of those options asks
for a projection head, and `mlp` in full mode. Chosen on validation data: in head mode on
the candidates retrieved for the validation listings (what `train` chooses its threshold
on), the prior classifier reached end-to-end F1 0.979 against the MLP's 0.948 on abt-buy and
0.690 against 0.665 on amazon-google (`bench/trained_vs_untrained.py --classifier prior`,
BENCHMARKS.md "Trained matchers end to end"). Full mode was not compared: it keeps the MLP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from prodmatch.errors import ProdmatchError
from prodmatch.train.fine_tune import FineTuneConfig
from prodmatch.train.head_trainer import HeadTrainingConfig
from prodmatch.train.prior_head import PriorConfig

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
    queue_size: int | None = None
    momentum: float | None = None
    classifier: str = "auto"


def training_configs(
    mode: str, options: TrainOptions
) -> tuple[FineTuneConfig, HeadTrainingConfig | PriorConfig]:
    """(fine-tuning config, head config) that the options ask for in `mode`."""
    if mode not in ("full", "head"):
        raise ProdmatchError(f"--mode must be full or head, got '{mode}'")
    if options.classifier not in ("auto", "mlp", "prior"):
        raise ProdmatchError(f"--classifier must be auto, mlp or prior, got '{options.classifier}'")
    tune, head = _mode_configs(mode, options)
    projection = {
        "--epochs": options.epochs,
        "--batch-size": options.batch_size,
        "--temperature": options.temperature,
    }
    given = [name for name, value in projection.items() if value is not None]
    classifier = options.classifier
    if classifier == "auto":
        classifier = "prior" if mode == "head" and not given else "mlp"
    if classifier == "mlp":
        return tune, head
    if mode == "head" and given:
        raise ProdmatchError(
            f"{', '.join(given)} set the projection head's training, which --classifier prior "
            "does not do; drop them or use --classifier mlp"
        )
    return tune, PriorConfig()


def _mode_configs(mode: str, options: TrainOptions) -> tuple[FineTuneConfig, HeadTrainingConfig]:
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
                queue_size=options.queue_size,
                momentum=options.momentum,
            ),
            seed=options.seed,
        )
        return tune, HeadTrainingConfig(seed=options.seed)
    encoder_only = {
        "--lr": options.lr,
        "--max-seq-length": options.max_seq_length,
        "--freeze-layers": options.freeze_layers,
        "--queue-size": options.queue_size,
        "--momentum": options.momentum,
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
