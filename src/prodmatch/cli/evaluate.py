"""`prodmatch evaluate pairs|linkage|dedupe`: measure a matcher on labelled data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prodmatch.cli.app import (
    _settings,
    console,
    evaluate_app,
    friendly_errors,
)
from prodmatch.cli.dedupe import _dedupe_options
from prodmatch.cli.options import (
    AssignmentOpt,
    Columns,
    CrossThreshold,
    DedupThreshold,
    DeviceOpt,
    EncodingOpt,
    EngineOpt,
    IdCol,
    ImageCol,
    MaxCluster,
    Model,
    OnePerSource,
    PlotOpt,
    PresetOpt,
    RetrievalOpt,
    ScorerOpt,
    Sep,
    SettingsOpt,
    SourceCol,
    _Command,
)
from prodmatch.cli.show import (
    _load_pair,
    _show,
    _show_linkage,
    _write_json,
)
from prodmatch.errors import ProdmatchError


@evaluate_app.command("pairs", cls=_Command)
@friendly_errors
def evaluate_pairs_command(
    folder: Path,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here.")] = None,
    encoding: EncodingOpt = None,
    model: Model = None,
    preset: PresetOpt = None,
    device: DeviceOpt = None,
    engine: EngineOpt = None,
    scorer: ScorerOpt = None,
    columns: Columns = None,
    plot: PlotOpt = None,
    image_col: ImageCol = None,
    settings: SettingsOpt = None,
) -> None:
    """Pair F1 on a DeepMatcher folder: threshold chosen on valid, scores on test."""
    from prodmatch.data import load_deepmatcher
    from prodmatch.evaluate import evaluate_pairs
    from prodmatch.linker import Linker

    config = _settings(
        settings,
        model,
        scorer,
        columns,
        engine=engine,
        image_column=image_col,
        preset=preset,
        device=device,
    )
    dataset = load_deepmatcher(folder, encoding=encoding)
    report = evaluate_pairs(dataset, Linker(config), plot=plot)
    _show(
        f"pairs: {folder}",
        report.to_dict(),
        ["precision", "recall", "f1", "threshold", "valid_f1", "test_pairs", "seconds"],
    )
    _write_json(json_out, report.to_dict())


@evaluate_app.command("linkage", cls=_Command)
@friendly_errors
def evaluate_linkage_command(
    left: Path,
    right: Path,
    gold: Annotated[
        Path,
        typer.Option(
            help="The gold mapping: left id, right id per line; in a file with a 'label' "
            "column, only the pairs labelled 1."
        ),
    ],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here.")] = None,
    sep: Sep = None,
    gold_cols: Annotated[
        str | None,
        typer.Option(
            help="Gold columns 'LEFT,RIGHT' or 'LEFT,RIGHT,LABEL'.",
            show_default="the first two, and 'label' if there",
        ),
    ] = None,
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
        float | None,
        typer.Option(help="Decision threshold.", show_default="the matcher's, else the scorer's"),
    ] = None,
    assignment: AssignmentOpt = None,
    plot: PlotOpt = None,
    image_col: ImageCol = None,
    settings: SettingsOpt = None,
) -> None:
    """End to end on full tables: blocking recall@k, then P/R/F1 against the gold mapping."""
    from prodmatch.data import load_gold, parse_pair_cols
    from prodmatch.evaluate import evaluate_linkage
    from prodmatch.linker import Linker

    config = _settings(
        settings,
        model,
        scorer,
        columns,
        retrieval=retrieval,
        engine=engine,
        threshold=threshold,
        assignment=assignment,
        image_column=image_col,
        preset=preset,
        device=device,
    )
    left_cat, right_cat = _load_pair(left, right, sep, id_col, encoding)
    gold_pairs = load_gold(
        gold,
        sep=sep,
        cols=parse_pair_cols(gold_cols, "--gold-cols"),
        left_ids=left_cat.ids,
        right_ids=right_cat.ids,
        encoding=encoding,
    )
    report = evaluate_linkage(left_cat, right_cat, gold_pairs, Linker(config), plot=plot)
    _show_linkage(f"linkage: {left.name} x {right.name}", report.to_dict())
    _write_json(json_out, report.to_dict())


@evaluate_app.command("dedupe", cls=_Command)
@friendly_errors
def evaluate_dedupe_command(
    catalog: Path,
    gold: Annotated[
        Path | None,
        typer.Option(help="Gold duplicate pairs: two id columns per line (joined transitively)."),
    ] = None,
    gold_col: Annotated[
        str | None, typer.Option(help="Or: a catalog column holding each listing's true cluster.")
    ] = None,
    gold_cols: Annotated[
        str | None, typer.Option(help="Gold pair columns 'A,B'; default the first two.")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here.")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write a PNG of cluster sizes and scores here.")
    ] = None,
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
    threshold: DedupThreshold = None,
    cross_threshold: CrossThreshold = None,
    source_col: SourceCol = None,
    one_per_source: OnePerSource = False,
    max_cluster_size: MaxCluster = 50,
    settings: SettingsOpt = None,
) -> None:
    """Dedupe a catalog and score its clusters: pairwise and B-cubed P/R/F1, cluster sizes."""
    from prodmatch.data import load_catalog, load_gold, parse_pair_cols
    from prodmatch.data.catalog import Catalog
    from prodmatch.dedup import dedupe_catalog
    from prodmatch.evaluate.dedupe import evaluate_dedupe, gold_labels
    from prodmatch.linker import Linker

    if (gold is None) == (gold_col is None):
        raise ProdmatchError("give the gold as --gold PAIRS_FILE or as --gold-col COLUMN")
    options = _dedupe_options(
        threshold, cross_threshold, source_col, one_per_source, max_cluster_size
    )
    config = _settings(
        settings,
        model,
        scorer,
        columns,
        retrieval=retrieval,
        engine=engine,
        threshold=cross_threshold,
        preset=preset,
        device=device,
    )
    cat = load_catalog(catalog, sep=sep, id_col=id_col, encoding=encoding)
    if gold_col is not None:
        if gold_col not in cat.columns:
            raise ProdmatchError(
                f"{catalog}: no gold column '{gold_col}'; columns are {', '.join(cat.columns)}"
            )
        labels = gold_labels(cat.ids, column=cat.records[gold_col].tolist())
        if config.columns is not None and gold_col in config.columns:
            raise ProdmatchError(f"the gold column '{gold_col}' cannot also be read as text")
        cat = Catalog(cat.name, cat.records.drop(columns=[gold_col]), cat.source)
    else:
        assert gold is not None
        pairs = load_gold(
            gold,
            sep=sep,
            cols=parse_pair_cols(gold_cols, "--gold-cols"),
            left_ids=cat.ids,
            right_ids=cat.ids,
        )
        labels = gold_labels(cat.ids, pairs=pairs)
    linker = Linker(config)
    report = evaluate_dedupe(cat, labels, lambda c: dedupe_catalog(linker, c, options), plot=plot)
    data = report.to_dict()
    data["settings"] = config.to_dict()
    _show(
        f"dedupe: {catalog.name}",
        data,
        [
            "precision",
            "recall",
            "f1",
            "bcubed_precision",
            "bcubed_recall",
            "bcubed_f1",
            "listings",
            "clusters",
            "largest_cluster",
            "gold_clusters",
        ],
    )
    sizes = ", ".join(f"{k}: {v}" for k, v in sorted(report.cluster_sizes.items()))
    console.print(f"clusters by size: {sizes}", highlight=False, soft_wrap=True)
    _write_json(json_out, data)
