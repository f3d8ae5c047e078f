"""`prodmatch explain`: why one pair of listings got its score."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from prodmatch.cli.app import _settings, app, console, friendly_errors
from prodmatch.cli.options import (
    Columns,
    DeviceOpt,
    EncodingOpt,
    IdCol,
    ImageCol,
    Model,
    PresetOpt,
    ScorerOpt,
    Sep,
    SettingsOpt,
    _Command,
)
from prodmatch.cli.show import _load_pair


@app.command(cls=_Command)
@friendly_errors
def explain(
    left: Path,
    right: Path,
    left_id: Annotated[str, typer.Argument(help="The listing's id in LEFT.")],
    right_id: Annotated[str, typer.Argument(help="The listing's id in RIGHT.")],
    sep: Sep = None,
    id_col: IdCol = "id",
    encoding: EncodingOpt = None,
    columns: Columns = None,
    model: Model = None,
    preset: PresetOpt = None,
    device: DeviceOpt = None,
    scorer: ScorerOpt = None,
    image_col: ImageCol = None,
    settings: SettingsOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    tokens: Annotated[int, typer.Option(help="Words shown per listing (text output).")] = 8,
) -> None:
    """Explain a pair's score: what each signal added, the score with each attribute left
    out, and the words whose removal changes it most (occlusion).

    The score is the one `prodmatch match` gives the pair under the same options.
    """
    from prodmatch.linker import Linker
    from prodmatch.review.explain import Explainer

    config = _settings(
        settings, model, scorer, columns, image_column=image_col, preset=preset, device=device
    )
    left_cat, right_cat = _load_pair(left, right, sep, id_col, encoding)
    linker = Linker(config, progress=not as_json)
    left_side, right_side = linker.prepare(left_cat, right_cat)
    threshold = None  # the fixed or given one, else the one `match` calibrates on these
    if config.calibrated:
        candidates = linker.candidates(left_side, right_side)
        threshold = linker.cut(candidates, left_rows=len(left_cat)).threshold
    explainer = Explainer(linker, left_side, right_side, threshold=threshold)
    result = explainer.explain(left_id, right_id)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    show_explanation(result, tokens)


def show_explanation(result: Any, tokens: int = 8) -> None:
    """An explanation as three small tables on stdout."""
    from rich.console import Console
    from rich.table import Table

    out = Console()
    verdict = "match" if result.above_threshold else "no match"
    out.print(
        f"{result.left_id} x {result.right_id}: score {result.score:.4f} "
        f"(threshold {result.threshold:.4f}, {verdict}; scorer {result.scorer})"
    )
    signals = result.signals
    unit = "logit" if signals.space == "logit" else "score"
    table = Table(title=f"signals ({signals.method})")
    for column in ("signal", "value", f"adds ({unit})"):
        table.add_column(column)
    table.add_row("baseline", "", f"{signals.baseline:+.4f}")
    for part in signals.parts:
        value = "" if part.value is None else f"{part.value:.4f}"
        table.add_row(part.label, value, f"{part.contribution:+.4f}")
    table.add_row("total", "", f"{signals.total():.4f}")
    out.print(table)
    attrs = Table(title="attributes left out of both listings")
    for column in ("attribute", "score without", "change"):
        attrs.add_column(column)
    for a in sorted(result.attributes, key=lambda a: -abs(a.change)):
        attrs.add_row(a.attribute, f"{a.score_without:.4f}", f"{a.change:+.4f}")
    out.print(attrs)
    words = Table(title="words removed one at a time (score drop)")
    for column in ("side", "attribute", "word", "drop"):
        words.add_column(column)
    for side in ("left", "right"):
        for t in sorted((t for t in result.tokens if t.side == side), key=lambda t: -abs(t.change))[
            :tokens
        ]:
            words.add_row(side, t.attribute, t.token, f"{t.change:+.4f}")
    out.print(words)
    console.print(
        "[dim]signals: exact where the scorer is linear; attributes and words: occlusion[/]",
        highlight=False,
    )
