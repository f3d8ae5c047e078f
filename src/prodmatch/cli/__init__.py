"""The `prodmatch` command line: one module per command, registered on one Typer app."""

from prodmatch.cli import (  # noqa: F401  (registers them)
    dedupe,
    demo,
    evaluate,
    explain,
    match,
    review,
    serve,
    spark,
    train,
)
from prodmatch.cli.app import _settings, app
from prodmatch.cli.options import OPTION_ALIASES, TrainLoss, TrainMode
from prodmatch.cli.train import _training_data

__all__ = ["OPTION_ALIASES", "TrainLoss", "TrainMode", "_settings", "_training_data", "app"]
