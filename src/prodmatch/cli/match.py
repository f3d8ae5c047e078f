"""`prodmatch match`: link two catalogs, in memory or streamed through a work folder."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from prodmatch.cli.app import (
    _settings,
    _threshold,
    app,
    console,
    friendly_errors,
)
from prodmatch.cli.options import (
    _MATCHERS,
    AssignmentOpt,
    Columns,
    DecisionOpt,
    DeviceOpt,
    EncodingOpt,
    EngineOpt,
    ExchangeRatesOpt,
    IdCol,
    ImageCol,
    IndexOpt,
    LanguageOpt,
    Model,
    PresetOpt,
    RetrievalOpt,
    ScorerOpt,
    Sep,
    SettingsOpt,
    ShowCols,
    _Command,
)
from prodmatch.cli.show import (
    _load_pair,
    _reviewable,
    _threshold_line,
    _warn_large_k,
    _warn_worse_matcher,
)
from prodmatch.data.chunks import DEFAULT_CHUNK_ROWS
from prodmatch.errors import ProdmatchError
from prodmatch.settings import MatchSettings


@app.command(cls=_Command)
@friendly_errors
def match(
    left: Path,
    right: Path,
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV, TSV, Parquet or JSONL.")],
    sep: Sep = None,
    id_col: IdCol = "id",
    encoding: EncodingOpt = None,
    columns: Columns = None,
    model: Model = None,
    preset: PresetOpt = None,
    device: DeviceOpt = None,
    engine: EngineOpt = None,
    scorer: ScorerOpt = None,
    retrieval: RetrievalOpt = None,
    threshold: Annotated[
        str | None,
        typer.Option(
            help="A score, or 'auto' to choose it on --labels.",
            show_default="the matcher's, else the scorer's",
        ),
    ] = None,
    labels: Annotated[
        Path | None, typer.Option(help="Labelled pairs (left id, right id, label) for 'auto'.")
    ] = None,
    labels_cols: Annotated[
        str | None,
        typer.Option(
            help="--labels columns 'LEFT,RIGHT' or 'LEFT,RIGHT,LABEL'.",
            show_default="ltable_id,rtable_id,label",
        ),
    ] = None,
    assignment: AssignmentOpt = None,
    decision: DecisionOpt = None,
    k: Annotated[
        int | None,
        typer.Option(
            help="Candidates per listing and retriever.",
            show_default=f"{MatchSettings.k}, {_MATCHERS}",
        ),
    ] = None,
    all_candidates: Annotated[
        bool, typer.Option(help="Write every scored candidate, not only the matches.")
    ] = False,
    show_cols: ShowCols = None,
    image_col: ImageCol = None,
    settings: SettingsOpt = None,
    index: IndexOpt = None,
    language: LanguageOpt = None,
    exchange_rates: ExchangeRatesOpt = None,
    work_dir: Annotated[
        Path | None,
        typer.Option(
            help="Stream both files in chunks through this folder (for catalogs larger than "
            "memory); the same command again resumes a stopped run."
        ),
    ] = None,
    chunk_rows: Annotated[
        int, typer.Option(help="Listings per chunk with --work-dir.")
    ] = DEFAULT_CHUNK_ROWS,
    report: Annotated[
        Path | None,
        typer.Option(
            help="Write a self-contained HTML report: score histogram, precision-recall "
            "curve (with --labels), the pairs nearest the threshold explained."
        ),
    ] = None,
) -> None:
    """Match two catalogs: which listings are the same product, with a score for each.

    The output has a row per match: the ids, each listing's title (or --show-cols), the
    score (4 decimals), its match probability (estimated from these catalogs, no labels),
    the right listing's rank, the signals behind the score and each listing's language. With
    no --threshold the threshold is calibrated on these catalogs (--decision fixed: the
    scorer's default); the output says which threshold was used and why.
    """
    from prodmatch.data import load_pairs, parse_pair_cols
    from prodmatch.decide import best_threshold
    from prodmatch.io import check_outputs, write_table
    from prodmatch.linker import Linker, with_ids
    from prodmatch.progress import peak_rss_mb

    check_outputs([left, right, labels, settings, exchange_rates], [output, report], work_dir)
    config = _settings(
        settings,
        model,
        scorer,
        columns,
        retrieval=retrieval,
        engine=engine,
        assignment=assignment,
        decision=decision,
        k=k,
        threshold=_threshold(threshold),
        image_column=image_col,
        index=index,
        language=language,
        exchange_rates=str(exchange_rates) if exchange_rates else None,
        preset=preset,
        device=device,
    )
    _warn_worse_matcher(model)
    if work_dir is not None:
        if threshold == "auto" or all_candidates or report is not None:
            raise ProdmatchError(
                "--work-dir takes a numeric --threshold and writes matches only, no --report "
                "(every candidate stays in WORK_DIR/candidates/*.parquet)"
            )
        read = (sep, id_col, encoding)
        explain = partial(_threshold_line, config, threshold, settings, model)
        _match_streamed(left, right, output, config, work_dir, chunk_rows, explain, *read)
        return
    left_cat, right_cat = _load_pair(left, right, sep, id_col, encoding)
    _warn_large_k(k, left_cat, right_cat)
    linker = Linker(config)
    left_side, right_side = linker.prepare(left_cat, right_cat)
    pairs = None
    if labels is not None and (threshold == "auto" or report is not None):
        pairs = load_pairs(
            labels,
            left_ids=left_cat.ids,
            right_ids=right_cat.ids,
            sep=sep,
            cols=parse_pair_cols(labels_cols, "--labels-cols"),
            encoding=encoding,
        )
    if threshold == "auto":
        if pairs is None:
            raise ProdmatchError("--threshold auto needs labelled pairs: pass --labels FILE")
        scores = linker.score_id_pairs(left_side, right_side, pairs)
        config.threshold, f1 = best_threshold(scores, pairs["label"])
        console.print(
            f"threshold {config.threshold:.4f}: chosen on --labels "
            f"(F1 {f1:.3f} on {len(pairs)} labelled pairs)"
        )
    candidates = linker.candidates(left_side, right_side)
    decided, cut = linker.decide_explained(candidates, left_rows=len(left_cat))
    if threshold != "auto":
        line = _threshold_line(config, threshold, settings, model, cut)
        console.print(line, soft_wrap=True)
    kept = decided if all_candidates else decided[decided["decision"]]
    kept = with_ids(kept, left_side, right_side)
    write_table(_reviewable(kept, left_cat, right_cat, show_cols, config.language), output)
    if report is not None:
        _write_report(linker, (left_side, right_side), decided, cut.threshold, pairs, report)
    console.print(
        f"{int(decided['decision'].sum())} matches among {len(decided)} candidates "
        f"({len(left_cat)} x {len(right_cat)} listings, peak {peak_rss_mb():.0f} MB) -> {output}"
    )


def _write_report(
    linker: Any, sides: Any, decided: Any, threshold: float, labelled: Any, path: Path
) -> None:
    from prodmatch.io import atomic_write_text
    from prodmatch.linker import with_ids
    from prodmatch.review.report import build_report

    left, right = sides
    title = f"{left.catalog.name} x {right.catalog.name}"
    pairs = with_ids(decided, left, right)
    page = build_report(
        linker, left, right, pairs, labelled=labelled, title=title, threshold=threshold
    )
    atomic_write_text(path, page)
    console.print(f"report -> {path}")


def _match_streamed(
    left: Path,
    right: Path,
    output: Path,
    config: Any,
    work_dir: Path,
    chunk_rows: int,
    explain: Callable[[Any], str],
    sep: str | None,
    id_col: str,
    encoding: str | None,
) -> None:
    from prodmatch.io import write_table
    from prodmatch.output import rounded
    from prodmatch.stream import ReadOptions, StreamMatcher

    read = ReadOptions(sep=sep, id_col=id_col, encoding=encoding)
    matcher = StreamMatcher(work_dir, config, chunk_rows=chunk_rows, read=read)
    result = matcher.run(left, right)
    console.print(explain(result.cut), soft_wrap=True)
    write_table(rounded(result.matches), output)
    r = result.report
    console.print(
        f"{len(result.matches)} matches ({r['left_rows']} x {r['right_rows']} listings, "
        f"{r['total_seconds']:.0f} s, peak {r['peak_rss_mb']:.0f} MB) -> {output}; "
        f"per-stage figures in {work_dir / 'report.json'}",
        soft_wrap=True,
    )
