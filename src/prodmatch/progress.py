"""One progress bar style for all long work: count, rate and time left."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class Advance(Protocol):
    def __call__(self, amount: int) -> None: ...


class _RateColumn(TextColumn):
    """Items per second, the figure users compare between runs and machines."""

    def __init__(self, unit: str) -> None:
        super().__init__("")
        self.unit = unit

    def render(self, task):  # type: ignore[no-untyped-def]
        elapsed = task.finished_time or task.elapsed
        if not elapsed or not task.completed:
            return Text(f"? {self.unit}/s")
        return Text(f"{task.completed / elapsed:,.0f} {self.unit}/s")


@contextmanager
def progress_bar(
    description: str, total: int, *, unit: str = "items", enabled: bool = True
) -> Iterator[Advance]:
    """Show a bar while the block runs; yields a function that advances it."""
    if not enabled or total == 0:
        yield lambda amount: None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        _RateColumn(unit),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    # stderr, so a command's standard output stays clean for pipes.
    with Progress(*columns, transient=False, console=Console(stderr=True)) as bar:
        task = bar.add_task(description, total=total)
        yield lambda amount: bar.advance(task, amount)
