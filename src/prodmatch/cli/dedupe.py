"""`prodmatch dedupe`: the duplicate listings of one catalog, as clusters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from prodmatch.cli.app import (
    _settings,
    app,
    console,
    friendly_errors,
)
from prodmatch.cli.options import (
    Columns,
    CrossThreshold,
    DedupThreshold,
    DeviceOpt,
    EncodingOpt,
    EngineOpt,
    ExchangeRatesOpt,
    IdCol,
    ImageCol,
    LanguageOpt,
    MaxCluster,
    Model,
    OnePerSource,
    PresetOpt,
    RetrievalOpt,
    ScorerOpt,
    Sep,
    SettingsOpt,
    ShowCols,
    SourceCol,
    _Command,
)
from prodmatch.cli.show import (
    _photo_summary,
    _reviewable,
)
from prodmatch.errors import ProdmatchError


def _dedupe_options(
    threshold: float | None,
    cross_threshold: float | None,
    source_col: str | None,
    one_per_source: bool,
    max_cluster_size: int,
) -> Any:
    from prodmatch.dedup import DedupeOptions

    if max_cluster_size < 0:
        raise ProdmatchError(f"--max-cluster-size must be 0 or more, got {max_cluster_size}")
    if source_col is None and (one_per_source or cross_threshold is not None):
        raise ProdmatchError("--one-per-source and --cross-threshold need --source-col")
    return DedupeOptions(
        threshold=threshold,
        cross_threshold=cross_threshold,
        source_column=source_col,
        one_per_source=one_per_source,
        max_cluster_size=max_cluster_size or None,
    )


def _thresholds_line(result: Any, options: Any) -> str:
    """Which thresholds decided, and where they came from."""
    thresholds: dict[str, float] = result.thresholds
    within = "given" if options.threshold is not None else "dedup default"
    if options.threshold is None and options.source_column is not None:
        within = "dedup default within one source"
    parts = [f"within {thresholds['within']:.3f} ({within})"]
    if options.one_per_source:
        parts = ["nothing merged within a source (--one-per-source)"]
    mode = ", one-to-one" if options.one_per_source else ""
    for name, value in thresholds.items():
        if name.startswith("across"):
            which = name.removeprefix("across").strip()
            label = f"across sources {which}" if which else "across sources"
            reason = result.reasons.get(name, "given")
            why = "given" if reason == "given" else f"linking threshold, {reason}"
            parts.append(f"{label} {value:.3f} ({why}{mode})")
    return "thresholds: " + "; ".join(parts)


@app.command(cls=_Command)
@friendly_errors
def dedupe(
    catalog: Path,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Clusters: cluster_id, product_id, representative_id, cluster_size, "
            "confidence, then the catalog's columns.",
        ),
    ],
    pairs_output: Annotated[
        Path | None, typer.Option(help="Also write the duplicate pairs here.")
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
    show_cols: ShowCols = None,
    image_col: ImageCol = None,
    settings: SettingsOpt = None,
    language: LanguageOpt = None,
    exchange_rates: ExchangeRatesOpt = None,
) -> None:
    """Find duplicate listings in one catalog and group them into clusters.

    Clusters are average-linkage groups (a chain of look-alike products is not one cluster),
    each with a representative listing and each listing's confidence (its mean score with
    the rest of its cluster). With --source-col, pairs across sources are linked as `match`
    links two catalogs and pairs within a source use a stricter dedup threshold of their own.

    With --image-col, listings that reuse one photo are flagged (same_photo) in the pairs
    output, duplicates or not; a shared photo alone never puts two listings in one cluster.
    """
    from prodmatch.data import load_catalog
    from prodmatch.dedup import dedupe_catalog
    from prodmatch.io import check_outputs, write_table
    from prodmatch.linker import Linker
    from prodmatch.progress import peak_rss_mb

    check_outputs([catalog, settings, exchange_rates], [output, pairs_output])
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
        image_column=image_col,
        language=language,
        exchange_rates=str(exchange_rates) if exchange_rates else None,
        preset=preset,
        device=device,
    )
    cat = load_catalog(catalog, sep=sep, id_col=id_col, encoding=encoding)
    result = dedupe_catalog(Linker(config), cat, options)
    clusters, pairs = result.clusters, result.pairs
    write_table(clusters, output)
    shown = pairs["decision"] | pairs["same_photo"] if "same_photo" in pairs else pairs["decision"]
    if pairs_output is not None:
        write_table(_reviewable(pairs[shown], cat, cat, show_cols, config.language), pairs_output)
    groups = clusters.groupby("cluster_id").size()
    console.print(
        f"{len(cat)} listings -> {len(groups)} products; {int((groups > 1).sum())} clusters "
        f"hold duplicates, the largest {int(groups.max()) if len(groups) else 0} listings"
        f"{_photo_summary(pairs)} (peak {peak_rss_mb():.0f} MB) -> {output}",
        soft_wrap=True,
    )
    console.print(_thresholds_line(result, options), highlight=False, soft_wrap=True)
