"""One progress bar style for all long work: count, rate and time left."""

from __future__ import annotations

import resource
import time
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
    console = Console(stderr=True)
    if not console.is_terminal:
        with _log_lines(console, description, total, unit) as advance:
            yield advance
        return
    with Progress(*columns, transient=False, console=console) as bar:
        task = bar.add_task(description, total=total)
        yield lambda amount: bar.advance(task, amount)


@contextmanager
def _log_lines(console: Console, description: str, total: int, unit: str) -> Iterator[Advance]:
    """Progress for logs and CI, where a live bar cannot redraw: a plain line about every
    30 seconds and one at the end, each with count, rate and time left."""
    start = last = time.monotonic()
    done = 0

    def line(now: float) -> None:
        rate = done / max(now - start, 1e-9)
        left = (total - done) / rate if rate > 0 else float("nan")
        console.print(
            f"{description}: {done}/{total} ({done / total:.0%}), {rate:,.1f} {unit}/s, "
            f"elapsed {now - start:.0f} s, eta {left:.0f} s",
            highlight=False,
        )

    def advance(amount: int) -> None:
        nonlocal done, last
        done += amount
        now = time.monotonic()
        if now - last >= _LOG_EVERY_S and done < total:
            last = now
            line(now)

    yield advance
    line(time.monotonic())


_LOG_EVERY_S = 30.0


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MiB (Linux reports KiB), for summaries."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
