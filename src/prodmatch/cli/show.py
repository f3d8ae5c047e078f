"""What several commands print or write: tables, threshold lines, the output frame."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from prodmatch.cli.app import (
    console,
)
from prodmatch.settings import MatchSettings


def _load_pair(
    left: Path, right: Path, sep: str | None, id_col: str, encoding: str | None = None
) -> tuple[Any, Any]:
    """The two catalogs of a matching run, read the same way."""
    from prodmatch.data import load_catalog

    return (
        load_catalog(left, sep=sep, id_col=id_col, encoding=encoding),
        load_catalog(right, sep=sep, id_col=id_col, encoding=encoding),
    )


def _reviewable(
    pairs: Any, left: Any, right: Any, show_cols: str | None, language: str | None = None
) -> Any:
    """The output columns, each listing's title (or --show-cols) beside its id, rounded; with
    `language`, each listing's language last (detected per listing with "auto")."""
    from prodmatch.linker import output_columns
    from prodmatch.output import rounded, with_languages, with_listing_columns

    shown = None if show_cols is None else [c.strip() for c in show_cols.split(",") if c.strip()]
    kept = [*output_columns(pairs), *(c for c in ("dedup_score", "kind") if c in pairs)]
    frame = with_listing_columns(pairs[kept], left, right, shown)
    if language is not None:
        frame = with_languages(frame, left, right, language)
    return rounded(frame)


def _threshold_line(
    config: Any, given: object, settings_file: Path | None, model: str | None, cut: Any = None
) -> str:
    """'threshold 0.3900: the default of the hybrid scorer', naming where it came from;
    `cut` is the decision's (`Linker.cut`), which says whether it was calibrated."""
    from prodmatch.matcher import is_matcher, matcher_settings

    calibration = None if cut is None else cut.calibration
    if cut is not None and cut.source == "calibrated" and calibration is not None:
        return (
            f"threshold {cut.threshold:.4f}: calibrated on these catalogs (estimated "
            f"{calibration.match_share:.0%} of left listings have a match, from "
            f"{calibration.contenders} best candidates)"
        )
    if given is not None:
        source = "given (--threshold)"
    elif settings_file is not None and "threshold" in MatchSettings.read(settings_file):
        source = f"from {settings_file}"
    elif model and is_matcher(model) and matcher_settings(model).threshold is not None:
        source = f"the trained matcher's (chosen on {_matcher_threshold_source(model)})"
    else:
        source = f"the default of the {config.scorer} scorer"
        if config.calibrated and calibration is not None:  # calibration was asked for
            source += f" ({calibration.reason})"
        elif config.decision == "fixed" and given is None:
            source += " (--decision fixed)"
    return f"threshold {config.decision_threshold:.4f}: {source}"


def _matcher_threshold_source(model: str) -> str:
    """Where a trained matcher's threshold was chosen: its validation listings' candidates
    (matchers trained since that was done) or its validation pairs."""
    from prodmatch.matcher import read_matcher_info

    record = read_matcher_info(model).get("metrics", {}).get("end_to_end")
    return "candidates retrieved for its validation listings" if record else "its validation pairs"


def _warn_worse_matcher(model: str | None) -> None:
    """The matcher's warning, when training measured it worse than no training at all."""
    from prodmatch.matcher import is_matcher, read_matcher_info, worse_than_untrained

    if model and is_matcher(model):
        line = worse_than_untrained(read_matcher_info(model))
        if line is not None:
            console.print(f"[yellow]{line}[/]", soft_wrap=True)


def _warn_large_k(k: int | None, *catalogs: Any) -> None:
    """A --k past the smallest catalog asks for more candidates than there are listings:
    harmless, but a sign that the option was meant for another run. Only a --k given on the
    command line is checked: the default does not fit every small catalog, and need not."""
    smallest = min(catalogs, key=len)
    if k is not None and k > len(smallest):
        console.print(
            f"[yellow]warning:[/] --k {k} candidates per listing is more than "
            f"{smallest.name} has ({len(smallest)} listings): each listing gets at most "
            f"{len(smallest)} from it",
            highlight=False,
            soft_wrap=True,
        )


def _show(title: str, report: dict[str, Any], keys: list[str]) -> None:
    table = Table(title=title, show_header=False)
    for key in keys:
        value = report[key]
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    Console().print(table)


def _show_linkage(title: str, report: dict[str, Any]) -> None:
    _show(
        title,
        report,
        ["precision", "recall", "f1", "threshold", "oracle_f1", "candidates", "peak_rss_mb"],
    )
    table = Table(title="blocking recall@k (share of true matches among the candidates)")
    table.add_column("retriever")
    ks = list(report["recall_at_k"])
    for k in ks:
        table.add_column(f"@{k}", justify="right")
    table.add_row("union", *(f"{report['recall_at_k'][k]:.3f}" for k in ks))
    for name, values in report["recall_at_k_by_retriever"].items():
        table.add_row(name, *(f"{values[k]:.3f}" for k in ks))
    Console().print(table)


def _show_examples(matches: Any, left: Any, right: Any, n: int = 5) -> None:
    first = left.columns[0]
    table = Table(title="the least certain accepted matches", show_lines=False)
    for column in ("score", "left", "right"):
        table.add_column(column)
    for row in matches.sort_values("score").head(n).itertuples():
        table.add_row(
            f"{row.score:.3f}",
            left.records.at[row.left_id, first],
            right.records.at[row.right_id, first],
        )
    Console().print(table)


def _write_json(path: Path | None, report: dict[str, Any]) -> None:
    if path is None:
        return
    from prodmatch.io import atomic_write_text

    atomic_write_text(path, json.dumps(report, indent=2, default=str) + "\n")
    console.print(f"report -> {path}")


def _photo_summary(pairs: Any) -> str:
    """'; 4 pairs share a photo (1 of them not duplicates)', or '' without photos."""
    if "same_photo" not in pairs:
        return ""
    shared = pairs[pairs["same_photo"]]
    apart = int((~shared["decision"]).sum())
    count = "1 pair shares" if len(shared) == 1 else f"{len(shared)} pairs share"
    return f"; {count} a photo ({apart} of them not duplicates)"
