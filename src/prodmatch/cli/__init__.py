"""The `prodmatch` command line: one module per command, registered on one Typer app."""

# Importing a command's module registers it.
from prodmatch.cli import dedupe, demo, evaluate, match, spark, train  # noqa: F401
from prodmatch.cli.app import _settings, app
from prodmatch.cli.options import OPTION_ALIASES, TrainLoss, TrainMode
from prodmatch.cli.train import _training_data

__all__ = ["OPTION_ALIASES", "TrainLoss", "TrainMode", "_settings", "_training_data", "app"]
