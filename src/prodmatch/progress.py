"""One progress bar style for all long work: count, rate and time left.

``total`` is what the caller expects; the bar trusts the counts over it. A count that
passes the total raises the total (an estimate, such as rows from line breaks, was short),
and a block that ends normally leaves the bar full at the count it reached (training that
stopped early, or an estimate that was long, is finished all the same, not stuck at 18%).
A block left by an exception (Ctrl-C) keeps the bar where it stopped.
"""

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
        done = 0

        def advance(amount: int) -> None:
            nonlocal done
            done += amount
            if done > (bar.tasks[task].total or 0):
                bar.update(task, total=done)
            bar.advance(task, amount)

        yield advance
        bar.update(task, total=done)  # finished: full, at the count it reached


@contextmanager
def _log_lines(console: Console, description: str, total: int, unit: str) -> Iterator[Advance]:
    """Progress for logs and CI, where a live bar cannot redraw: a plain line about every
    30 seconds and one at the end, each with count, rate and time left."""
    start = last = time.monotonic()
    done = 0
    expected = total

    def line(now: float) -> None:
        rate = done / max(now - start, 1e-9)
        left = (expected - done) / rate if rate > 0 else float("nan")
        console.print(
            f"{description}: {done}/{expected} ({done / max(expected, 1):.0%}), "
            f"{rate:,.1f} {unit}/s, "
            f"elapsed {now - start:.0f} s, eta {left:.0f} s",
            highlight=False,
        )

    def advance(amount: int) -> None:
        nonlocal done, last, expected
        done += amount
        expected = max(expected, done)
        now = time.monotonic()
        if now - last >= _LOG_EVERY_S and done < expected:
            last = now
            line(now)

    yield advance
    expected = done  # finished: whatever the estimate said, this is all there was
    line(time.monotonic())


_LOG_EVERY_S = 30.0


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MiB (Linux reports KiB), for summaries."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
