"""The Typer app, its error handling and the one place where settings are merged.

Every command turns a `ProdmatchError` into one red line and exit status 2, so bad input never
ends in a traceback.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from prodmatch.errors import ProdmatchError
from prodmatch.settings import MatchSettings

app = typer.Typer(
    help="Find the same product across e-commerce catalogs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
evaluate_app = typer.Typer(help="Measure a matcher on labelled data.", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")
console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("prodmatch")
        except PackageNotFoundError:  # run from a source tree
            from prodmatch import __version__ as number
        typer.echo(f"prodmatch {number}")
        raise typer.Exit()


@app.callback()
def main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Find the same product across e-commerce catalogs."""


def friendly_errors(command: F) -> F:
    """Print user-facing errors as one line and exit 2; Ctrl-C exits 130 without a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _warning_line
                return command(*args, **kwargs)
        except ProdmatchError as error:
            console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _warning_line(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    """A warning as one yellow line (e.g. photos that could not be used), not Python's two."""
    console.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)


def _settings(
    settings_file: Path | None,
    model: str | None,
    scorer: str | None,
    columns: str | None,
    **overrides: Any,
) -> Any:
    """The run's settings, merged here and only here, in rising precedence: the defaults, a
    trained matcher's own settings (--model MATCHER, or a settings file naming one as its
    model), the settings file, and the options typed on the command line.

    Every option that is a setting defaults to None on the command line, so an option the user
    did not type never hides the file's or the matcher's value (a default such as k=20 used to
    win over both). Only the keys a settings file names override the matcher's, so a file
    holding just {"rerank_floor": 0.01} changes that one setting of a trained matcher."""
    from prodmatch.matcher import is_matcher, matcher_settings

    from_file = MatchSettings.read(settings_file) if settings_file else {}
    chosen = model or from_file.get("model")
    merged: dict[str, Any] = {}
    if chosen and is_matcher(chosen):
        trained = matcher_settings(chosen)  # its model and image_model point into the folder
        merged = {**trained.to_dict(), **from_file, "model": trained.model}
    else:
        merged = {**from_file, **({"model": model} if model else {})}
    if scorer:
        merged["scorer"] = scorer
    if columns:
        merged["columns"] = [c.strip() for c in columns.split(",") if c.strip()]
    merged.update({k: v for k, v in overrides.items() if v is not None})
    result = MatchSettings.from_dict(merged)
    if result.device == "cuda":  # refused now, in one line, not after reading the catalogs
        from prodmatch.device import resolve_device

        resolve_device(result.device)
    _say_preset_overruled(result, overrides.get("preset") or from_file.get("preset"))
    return result


def _say_preset_overruled(settings: MatchSettings, asked: str | None) -> None:
    """One line when a preset typed or in the settings file is overruled by a named model
    (typed, in the file or a matcher's), so nobody believes they ran the other encoder. A
    matcher's own recorded preset says how it was trained and is not repeated."""
    from prodmatch.encode.presets import preset_model

    if asked is None or settings.model == preset_model(asked):
        return
    console.print(
        f"encoder {settings.model}: a named model wins over --preset {asked} "
        f"({preset_model(asked)})",
        highlight=False,
        soft_wrap=True,
    )


def _threshold(value: str | None) -> float | None:
    if value is None or value == "auto":
        return None
    try:
        return float(value)
    except ValueError:
        raise ProdmatchError(f"--threshold must be a number or 'auto', got '{value}'") from None
