"""The `prodmatch` command line: match, dedupe, evaluate and demo.

Every command turns a `ProdmatchError` into one red line and exit status 2, so bad input never
ends in a traceback.
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand

from prodmatch.decide.assign import Assignment
from prodmatch.encode.onnx import Engine
from prodmatch.errors import ProdmatchError
from prodmatch.retrieve.dense import IndexKind
from prodmatch.retrieve.hybrid import Retrieval
from prodmatch.score import Scorer
from prodmatch.settings import MatchSettings

# Old option names that still work, hidden from --help so that each idea has one name there.
OPTION_ALIASES = {"--assign": "--assignment", "--out": "--output"}
# `train`'s choices; the same as prodmatch.train's Mode and ContrastiveLoss (checked by a
# test), spelled here so that the command line starts without importing torch.
TrainMode = Literal["full", "head"]
TrainLoss = Literal["supcon", "infonce", "selfsup"]


class _Command(TyperCommand):
    """A command that reads the old option names in OPTION_ALIASES as their new ones."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        renamed = []
        for arg in args:
            name, eq, value = arg.partition("=")
            renamed.append(OPTION_ALIASES.get(name, name) + eq + value if arg[:2] == "--" else arg)
        return list(super().parse_args(ctx, renamed))


app = typer.Typer(
    help="Find the same product across e-commerce catalogs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
evaluate_app = typer.Typer(help="Measure a matcher on labelled data.", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")
console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

Sep = Annotated[str | None, typer.Option(help="Field separator; sniffed when omitted.")]
IdCol = Annotated[str, typer.Option(help="The id column.")]
EncodingOpt = Annotated[
    str | None,
    typer.Option(
        help="Text encoding of the input files (e.g. latin-1, cp1252).", show_default="UTF-8"
    ),
]
Columns = Annotated[
    str | None,
    typer.Option(help="Comma-separated columns that describe the product.", show_default="all"),
]
Model = Annotated[
    str | None,
    typer.Option(
        help="Encoder: a packaged model name, a local model folder or a trained matcher.",
        show_default=MatchSettings.model,
    ),
]
_MATCHERS = "or a trained matcher's"
ScorerOpt = Annotated[
    Scorer | None,
    typer.Option(
        help="hybrid (dense + lexical + model numbers), dense, the baselines tfidf and fuzzy, "
        "or learned (a trained matcher's classifier).",
        show_default=f"{MatchSettings.scorer}, {_MATCHERS}",
    ),
]
EngineOpt = Annotated[
    Engine | None,
    typer.Option(
        help="Encoder engine (onnx-int8 is the fastest).", show_default=MatchSettings.engine
    ),
]
RetrievalOpt = Annotated[
    Retrieval | None,
    typer.Option(
        help="Candidates from dense + lexical (hybrid), dense or sparse search.",
        show_default=MatchSettings.retrieval,
    ),
]
AssignmentOpt = Annotated[
    Assignment | None,
    typer.Option(
        "--assignment",
        help="one-to-one: each listing matched at most once, best score first; best: each "
        "left listing's best; all: every pair above the threshold.",
        show_default=f"{MatchSettings.assignment}, {_MATCHERS}",
    ),
]
IndexOpt = Annotated[
    IndexKind | None,
    typer.Option(
        help="Vector index: exact (flat), ivf, ivfpq (less memory) or hnsw; auto picks by size.",
        show_default=MatchSettings.index,
    ),
]
SettingsOpt = Annotated[Path | None, typer.Option(help="A settings JSON file to start from.")]
ImageCol = Annotated[
    str | None,
    typer.Option(
        "--image-col",
        help="Column of product photos (paths, relative to the file, or URLs; several "
        "separated by |). Never read as text.",
    ),
]
PlotOpt = Annotated[Path | None, typer.Option(help="Write a PNG of the scores here.")]
ShowCols = Annotated[
    str | None,
    typer.Option(
        help="Comma-separated columns of each listing to write beside its id "
        "(left_<col>, right_<col>).",
        show_default="a title or name column",
    ),
]


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
    from prodmatch.settings import MatchSettings

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
    return MatchSettings.from_dict(merged)


def _threshold(value: str | None) -> float | None:
    if value is None or value == "auto":
        return None
    try:
        return float(value)
    except ValueError:
        raise ProdmatchError(f"--threshold must be a number or 'auto', got '{value}'") from None


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
    work_dir: Annotated[
        Path | None,
        typer.Option(
            help="Stream both files in chunks through this folder (for catalogs larger than "
            "memory); the same command again resumes a stopped run."
        ),
    ] = None,
    chunk_rows: Annotated[int, typer.Option(help="Listings per chunk with --work-dir.")] = 20_000,
) -> None:
    """Match two catalogs: which listings are the same product, with a score for each.

    The output has a row per match: the ids, each listing's title (or --show-cols), the
    score (4 decimals), the right listing's rank and the signals behind the score.
    """
    from prodmatch.data import load_pairs, parse_pair_cols
    from prodmatch.decide import best_threshold
    from prodmatch.io import check_outputs, write_table
    from prodmatch.linker import Linker, with_ids
    from prodmatch.progress import peak_rss_mb

    check_outputs([left, right, labels, settings], [output], work_dir)
    config = _settings(
        settings,
        model,
        scorer,
        columns,
        retrieval=retrieval,
        engine=engine,
        assignment=assignment,
        k=k,
        threshold=_threshold(threshold),
        image_column=image_col,
        index=index,
    )
    if work_dir is not None:
        if threshold == "auto" or all_candidates:
            raise ProdmatchError(
                "--work-dir takes a numeric --threshold and writes matches only "
                "(every candidate stays in WORK_DIR/candidates/*.parquet)"
            )
        console.print(_threshold_line(config, threshold, settings, model), soft_wrap=True)
        read = (sep, id_col, encoding)
        _match_streamed(left, right, output, config, work_dir, chunk_rows, *read)
        return
    left_cat, right_cat = _load_pair(left, right, sep, id_col, encoding)
    _warn_large_k(k, left_cat, right_cat)
    linker = Linker(config)
    left_side, right_side = linker.prepare(left_cat, right_cat)
    if threshold == "auto":
        if labels is None:
            raise ProdmatchError("--threshold auto needs labelled pairs: pass --labels FILE")
        pairs = load_pairs(
            labels,
            left_ids=left_cat.ids,
            right_ids=right_cat.ids,
            sep=sep,
            cols=parse_pair_cols(labels_cols, "--labels-cols"),
            encoding=encoding,
        )
        scores = linker.score_id_pairs(left_side, right_side, pairs)
        config.threshold, f1 = best_threshold(scores, pairs["label"])
        console.print(
            f"threshold {config.threshold:.4f}: chosen on --labels "
            f"(F1 {f1:.3f} on {len(pairs)} labelled pairs)"
        )
    else:
        console.print(_threshold_line(config, threshold, settings, model), soft_wrap=True)
    decided = linker.decide(linker.candidates(left_side, right_side))
    kept = decided if all_candidates else decided[decided["decision"]]
    kept = with_ids(kept, left_side, right_side)
    write_table(_reviewable(kept, left_cat, right_cat, show_cols), output)
    console.print(
        f"{int(decided['decision'].sum())} matches among {len(decided)} candidates "
        f"({len(left_cat)} x {len(right_cat)} listings, peak {peak_rss_mb():.0f} MB) -> {output}"
    )


def _match_streamed(
    left: Path,
    right: Path,
    output: Path,
    config: Any,
    work_dir: Path,
    chunk_rows: int,
    sep: str | None,
    id_col: str,
    encoding: str | None,
) -> None:
    from prodmatch.io import write_table
    from prodmatch.review import rounded
    from prodmatch.stream import ReadOptions, StreamMatcher

    read = ReadOptions(sep=sep, id_col=id_col, encoding=encoding)
    matcher = StreamMatcher(work_dir, config, chunk_rows=chunk_rows, read=read)
    result = matcher.run(left, right)
    write_table(rounded(result.matches), output)
    r = result.report
    console.print(
        f"{len(result.matches)} matches ({r['left_rows']} x {r['right_rows']} listings, "
        f"{r['total_seconds']:.0f} s, peak {r['peak_rss_mb']:.0f} MB) -> {output}; "
        f"per-stage figures in {work_dir / 'report.json'}",
        soft_wrap=True,
    )


DedupThreshold = Annotated[
    float | None,
    typer.Option(
        help="Dedup threshold for pairs within the catalog (or within one source); default "
        "the scorer's dedup default, not the linking threshold."
    ),
]
CrossThreshold = Annotated[
    float | None,
    typer.Option(help="With --source-col: threshold for pairs across sources (default: linking)."),
]
SourceCol = Annotated[
    str | None,
    typer.Option(
        "--source-col",
        help="Column naming each listing's platform/source; never read as product text.",
    ),
]
OnePerSource = Annotated[
    bool,
    typer.Option(
        "--one-per-source",
        help="With --source-col: each source lists a product at most once (one-to-one "
        "across sources, nothing merged within one).",
    ),
]
MaxCluster = Annotated[
    int,
    typer.Option(
        help="Clusters past this many listings are cut stricter, with a warning; 0: no cap."
    ),
]


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


def _thresholds_line(thresholds: dict[str, float], options: Any) -> str:
    """Which thresholds decided, and where they came from."""
    within = "given" if options.threshold is not None else "dedup default"
    parts = [f"within {thresholds['within']:.3f} ({within})"]
    if options.one_per_source:
        parts = ["nothing merged within a source (--one-per-source)"]
    if "across" in thresholds:
        across = "given" if options.cross_threshold is not None else "linking threshold"
        mode = ", one-to-one" if options.one_per_source else ""
        parts.append(f"across sources {thresholds['across']:.3f} ({across}{mode})")
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
) -> None:
    """Find duplicate listings in one catalog and group them into clusters.

    Clusters are average-linkage groups (a chain of look-alike products is not one cluster),
    each with a representative listing and each listing's confidence (its mean score with
    the rest of its cluster). With --source-col, pairs across sources are linked as `match`
    links two catalogs and pairs within a source use the dedup threshold.

    With --image-col, listings that reuse one photo are flagged (same_photo) in the pairs
    output, duplicates or not; a shared photo alone never puts two listings in one cluster.
    """
    from prodmatch.data import load_catalog
    from prodmatch.dedup import dedupe_catalog
    from prodmatch.io import check_outputs, write_table
    from prodmatch.linker import Linker
    from prodmatch.progress import peak_rss_mb

    check_outputs([catalog, settings], [output, pairs_output])
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
    )
    cat = load_catalog(catalog, sep=sep, id_col=id_col, encoding=encoding)
    result = dedupe_catalog(Linker(config), cat, options)
    clusters, pairs = result.clusters, result.pairs
    write_table(clusters, output)
    shown = pairs["decision"] | pairs["same_photo"] if "same_photo" in pairs else pairs["decision"]
    if pairs_output is not None:
        write_table(_reviewable(pairs[shown], cat, cat, show_cols), pairs_output)
    groups = clusters.groupby("cluster_id").size()
    console.print(
        f"{len(cat)} listings -> {len(groups)} products; {int((groups > 1).sum())} clusters "
        f"hold duplicates, the largest {int(groups.max()) if len(groups) else 0} listings"
        f"{_photo_summary(pairs)} (peak {peak_rss_mb():.0f} MB) -> {output}",
        soft_wrap=True,
    )
    console.print(_thresholds_line(result.thresholds, options), highlight=False, soft_wrap=True)


def _photo_summary(pairs: Any) -> str:
    """'; 4 pairs share a photo (1 of them not duplicates)', or '' without photos."""
    if "same_photo" not in pairs:
        return ""
    shared = pairs[pairs["same_photo"]]
    apart = int((~shared["decision"]).sum())
    count = "1 pair shares" if len(shared) == 1 else f"{len(shared)} pairs share"
    return f"; {count} a photo ({apart} of them not duplicates)"


@evaluate_app.command("pairs", cls=_Command)
@friendly_errors
def evaluate_pairs_command(
    folder: Path,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here.")] = None,
    encoding: EncodingOpt = None,
    model: Model = None,
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

    config = _settings(settings, model, scorer, columns, engine=engine, image_column=image_col)
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


@app.command(cls=_Command)
@friendly_errors
def train(
    folder: Annotated[
        Path | None, typer.Argument(help="A DeepMatcher folder (tableA/B, train/valid).")
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The matcher folder to write.")
    ] = Path("matcher"),
    left: Annotated[Path | None, typer.Option(help="Left catalog (instead of FOLDER).")] = None,
    right: Annotated[Path | None, typer.Option(help="Right catalog (instead of FOLDER).")] = None,
    pairs: Annotated[
        Path | None, typer.Option(help="Labelled training pairs: ltable_id, rtable_id, label.")
    ] = None,
    valid: Annotated[Path | None, typer.Option(help="Labelled validation pairs.")] = None,
    pairs_cols: Annotated[
        str | None,
        typer.Option(
            help="--pairs and --valid columns 'LEFT,RIGHT' or 'LEFT,RIGHT,LABEL'.",
            show_default="ltable_id,rtable_id,label",
        ),
    ] = None,
    mode: Annotated[
        TrainMode,
        typer.Option(help="full: fine-tune the encoder too; head: only head and classifier."),
    ] = "full",
    loss: Annotated[
        TrainLoss | None,
        typer.Option(
            help="supcon (default), infonce, or selfsup (no labels; full mode). In head mode "
            "the projection head's loss."
        ),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(help="Fine-tuning epochs, at most (default 5); head mode: projection (10)."),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(help="Listings (supcon) or pairs per step (default 32; head mode 128)."),
    ] = None,
    lr: Annotated[
        float | None, typer.Option(help="Encoder learning rate (default 5e-5; full mode only).")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option(help="Contrastive temperature (default 0.07).")
    ] = None,
    max_seq_length: Annotated[
        int | None, typer.Option(help="Tokens per listing when fine-tuning (default 64).")
    ] = None,
    freeze_layers: Annotated[
        int | None, typer.Option(help="Lower transformer layers kept fixed (default 0).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same model.")] = 0,
    sep: Sep = None,
    id_col: IdCol = "id",
    encoding: EncodingOpt = None,
    columns: Columns = None,
    model: Model = None,
    image_col: ImageCol = None,
    train_image_block: Annotated[
        bool,
        typer.Option(
            "--train-image-block",
            help="With --image-col: also fine-tune the image encoder's last block with the "
            "fusion head, on augmented photos (slow: a forward pass per photo and epoch).",
        ),
    ] = False,
    cross_encoder: Annotated[
        bool,
        typer.Option(
            "--cross-encoder",
            help="Also train a cross-encoder that re-reads the pairs the classifier is unsure "
            "of (the most accurate matcher; ~7 min an epoch per 6,000 pairs on 2 cores).",
        ),
    ] = False,
    cross_epochs: Annotated[int, typer.Option(help="Cross-encoder epochs (at most).")] = 3,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace a matcher already at --output (any other non-empty folder is refused).",
        ),
    ] = False,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart",
            help="Start over: discard the checkpoints an interrupted run left in "
            "OUTPUT.partial/ instead of resuming from them.",
        ),
    ] = False,
) -> None:
    """Train a matcher on labelled pairs (or none, with --loss selfsup); resumable.

    With --image-col, a fusion head joining text and photo vectors is trained with the same
    loss (the image tower frozen unless --train-image-block) and saved in fusion/. With
    --cross-encoder, a cross-encoder is trained last and saved in cross/.
    """
    from prodmatch.io import check_outputs
    from prodmatch.train.api import require_labels, train_matcher
    from prodmatch.train.cross_trainer import CrossTrainingConfig
    from prodmatch.train.fusion_trainer import FusionTrainingConfig
    from prodmatch.train.options import TrainOptions, training_configs

    check_outputs([folder, left, right, pairs, valid], [output], work_dir=output)

    options = TrainOptions(
        loss, epochs, batch_size, temperature, seed, lr, max_seq_length, freeze_layers
    )
    config, head_config = training_configs(mode, options)
    left_cat, right_cat, train_pairs, valid_pairs = _training_data(
        folder, left, right, pairs, valid, sep, id_col, encoding, pairs_cols
    )
    require_labels(train_pairs, config.loss)
    base = _settings(None, model, None, columns, image_column=image_col)
    if train_image_block and base.image_column is None:
        raise ProdmatchError("--train-image-block needs the photo column: pass --image-col")
    report = train_matcher(
        left_cat,
        right_cat,
        train_pairs,
        valid_pairs,
        output,
        mode=mode,  # type: ignore[arg-type]
        settings=base,
        fine_tune_config=config,
        head_config=head_config,
        fusion_config=FusionTrainingConfig(
            loss=config.loss, seed=seed, image_block=train_image_block
        ),
        cross_config=CrossTrainingConfig(epochs=cross_epochs, seed=seed) if cross_encoder else None,
        overwrite=overwrite,
        restart=restart,
    )
    head = report.metrics.get("head", {})
    cross = report.metrics.get("cross_encoder", {})
    console.print(
        f"matcher -> {report.folder} in {report.seconds:.0f} s"
        + (f"; validation F1 {head['f1']:.4f}" if "f1" in head else "")
        + (f", with the cross-encoder {cross['blend_f1']:.4f}" if cross else "")
    )


def _training_data(
    folder: Path | None,
    left: Path | None,
    right: Path | None,
    pairs: Path | None,
    valid: Path | None,
    sep: str | None,
    id_col: str,
    encoding: str | None = None,
    pairs_cols: str | None = None,
) -> tuple[Any, Any, Any, Any]:
    from prodmatch.data import load_deepmatcher, load_pairs, parse_pair_cols

    if folder is not None:
        dataset = load_deepmatcher(folder, encoding=encoding)
        return dataset.left, dataset.right, dataset.train, dataset.valid
    if left is None or right is None:
        raise ProdmatchError("give a DeepMatcher folder, or --left and --right catalogs")
    left_cat, right_cat = _load_pair(left, right, sep, id_col, encoding)

    def read(path: Path | None) -> Any:
        if path is None:
            return None
        return load_pairs(
            path,
            left_ids=left_cat.ids,
            right_ids=right_cat.ids,
            sep=sep,
            cols=parse_pair_cols(pairs_cols, "--pairs-cols"),
            encoding=encoding,
        )

    return left_cat, right_cat, read(pairs), read(valid)


@app.command(cls=_Command)
@friendly_errors
def demo(
    size: Annotated[int, typer.Option(help="Products in the synthetic world.")] = 600,
    seed: Annotated[int, typer.Option(help="Random seed of the generator.")] = 0,
    out: Annotated[
        Path,
        typer.Option("--output", "-o", help="Folder for the catalogs, matches and plot."),
    ] = Path("prodmatch-demo"),
    model: Model = None,
    images: Annotated[
        bool,
        typer.Option(
            "--images",
            help="Draw a product photo per listing (some right titles name no colour; only "
            "the photo does) and read them as an image column.",
        ),
    ] = False,
) -> None:
    """Generate two synthetic platform catalogs, match them, and show how well it went."""
    from prodmatch.evaluate.linkage import link_and_evaluate
    from prodmatch.io import write_table
    from prodmatch.linker import Linker

    left, right, gold = _demo_world(size, seed, out, images)
    config = _settings(None, model, None, None, image_column="image" if images else None)
    linker = Linker(config)
    report, pairs = link_and_evaluate(left, right, gold, linker, plot=out / "scores.png")
    matches = pairs[pairs["decision"]]
    write_table(_reviewable(matches, left, right, None), out / "matches.csv")
    _show_examples(matches, left, right)
    _show_linkage("demo: platform-a x platform-b", report.to_dict())
    _write_json(out / "report.json", report.to_dict())
    console.print(f"matches -> {out / 'matches.csv'}, plot -> {out / 'scores.png'}")
    if images and config.scorer != "learned":
        console.print(
            "the photo signals (image, image_both) are in matches.csv; the untrained scorer does "
            "not weigh them: `prodmatch train --image-col image` learns to"
        )


def _demo_world(size: int, seed: int, out: Path, images: bool) -> tuple[Any, Any, Any]:
    """The demo's two catalogs (with photos beside them if asked) and their gold mapping."""
    from prodmatch.data import catalog_from_frame
    from prodmatch.synth import generate_catalogs, write_catalogs

    if images:
        from prodmatch.synth.pictures import generate_multimodal

        world = generate_multimodal(size, seed, out)
        left_frame, right_frame, gold = world.left, world.right, world.gold
        photos = f", photos in {out / 'images'}"
    else:
        synth = generate_catalogs(size, seed=seed)
        write_catalogs(synth, out)
        left_frame, right_frame, gold = synth.left, synth.right, synth.gold
        photos = ""
    console.print(
        f"generated {len(left_frame)} + {len(right_frame)} listings, {len(gold)} true "
        f"matches -> {out}{photos}"
    )
    left = catalog_from_frame(left_frame, name="platform-a", source=out / "left.csv")
    right = catalog_from_frame(right_frame, name="platform-b", source=out / "right.csv")
    return left, right, gold


def _load_pair(
    left: Path, right: Path, sep: str | None, id_col: str, encoding: str | None = None
) -> tuple[Any, Any]:
    """The two catalogs of a matching run, read the same way."""
    from prodmatch.data import load_catalog

    return (
        load_catalog(left, sep=sep, id_col=id_col, encoding=encoding),
        load_catalog(right, sep=sep, id_col=id_col, encoding=encoding),
    )


def _reviewable(pairs: Any, left: Any, right: Any, show_cols: str | None) -> Any:
    """The output columns, each listing's title (or --show-cols) beside its id, rounded."""
    from prodmatch.linker import output_columns
    from prodmatch.review import rounded, with_listing_columns

    shown = None if show_cols is None else [c.strip() for c in show_cols.split(",") if c.strip()]
    kept = [*output_columns(pairs), *(["kind"] if "kind" in pairs else [])]
    frame = with_listing_columns(pairs[kept], left, right, shown)
    return rounded(frame)


def _threshold_line(
    config: Any, given: object, settings_file: Path | None, model: str | None
) -> str:
    """'threshold 0.3900: the default of the hybrid scorer', naming where it came from."""
    from prodmatch.matcher import is_matcher, matcher_settings

    if given is not None:
        source = "given (--threshold)"
    elif settings_file is not None and "threshold" in MatchSettings.read(settings_file):
        source = f"from {settings_file}"
    elif model and is_matcher(model) and matcher_settings(model).threshold is not None:
        source = "the trained matcher's (chosen on its validation pairs)"
    else:
        source = f"the default of the {config.scorer} scorer"
    return f"threshold {config.decision_threshold:.4f}: {source}"


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


if __name__ == "__main__":
    app()
