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
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from prodmatch.errors import ProdmatchError

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
Columns = Annotated[
    str | None, typer.Option(help="Comma-separated columns that describe the product.")
]
Model = Annotated[
    str | None, typer.Option(help="Encoder: a packaged model name or a local model folder.")
]
ScorerOpt = Annotated[
    str | None, typer.Option(help="hybrid (default), dense, or the baselines tfidf, fuzzy.")
]
EngineOpt = Annotated[
    str | None, typer.Option(help="Encoder engine: torch (default), onnx, or onnx-int8 (fastest).")
]
RetrievalOpt = Annotated[
    str | None,
    typer.Option(help="Candidates from hybrid (default: dense + lexical), dense or sparse search."),
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
    console.print(f"[yellow]warning:[/] {message}", highlight=False)


def _settings(
    settings_file: Path | None,
    model: str | None,
    scorer: str | None,
    columns: str | None,
    **overrides: Any,
) -> Any:
    """Settings from (in rising precedence) defaults, a trained matcher, a settings file and
    the options given. Only the keys a settings file names override the matcher's, so a file
    holding just {"rerank_floor": 0.01} changes that one setting of a trained matcher."""
    from prodmatch.matcher import is_matcher, matcher_settings
    from prodmatch.settings import MatchSettings

    base = MatchSettings.read(settings_file) if settings_file else {}
    if model and is_matcher(model):
        base = {**matcher_settings(model).to_dict(), **base}  # a trained matcher's own settings
    elif model:
        base["model"] = model
    if scorer:
        base["scorer"] = scorer
    if columns:
        base["columns"] = [c.strip() for c in columns.split(",") if c.strip()]
    base.update({k: v for k, v in overrides.items() if v is not None})
    return MatchSettings.from_dict(base)


def _threshold(value: str | None) -> float | None:
    if value is None or value == "auto":
        return None
    try:
        return float(value)
    except ValueError:
        raise ProdmatchError(f"--threshold must be a number or 'auto', got '{value}'") from None


@app.command()
@friendly_errors
def match(
    left: Path,
    right: Path,
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV, TSV, Parquet or JSONL.")],
    sep: Sep = None,
    id_col: IdCol = "id",
    columns: Columns = None,
    model: Model = None,
    engine: EngineOpt = None,
    scorer: ScorerOpt = None,
    retrieval: RetrievalOpt = None,
    threshold: Annotated[
        str | None, typer.Option(help="A score, or 'auto' to choose it on --labels.")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option(help="Labelled pairs (ltable_id,rtable_id,label) for 'auto'.")
    ] = None,
    assign: Annotated[str, typer.Option(help="one-to-one, best or all.")] = "one-to-one",
    k: Annotated[int, typer.Option(help="Candidates per listing and retriever.")] = 20,
    all_candidates: Annotated[
        bool, typer.Option(help="Write every scored candidate, not only the matches.")
    ] = False,
    image_col: ImageCol = None,
    settings: SettingsOpt = None,
    index: Annotated[
        str | None, typer.Option(help="auto, flat, ivf, ivfpq (less memory) or hnsw.")
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option(
            help="Stream both files in chunks through this folder (for catalogs larger than "
            "memory); the same command again resumes a stopped run."
        ),
    ] = None,
    chunk_rows: Annotated[int, typer.Option(help="Listings per chunk with --work-dir.")] = 20_000,
) -> None:
    """Match two catalogs: which listings are the same product, with a score for each."""
    from prodmatch.data import load_pairs
    from prodmatch.decide import best_threshold
    from prodmatch.io import write_table
    from prodmatch.linker import Linker, output_columns

    config = _settings(
        settings,
        model,
        scorer,
        columns,
        retrieval=retrieval,
        engine=engine,
        assignment=assign,
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
        _match_streamed(left, right, output, config, work_dir, chunk_rows, sep, id_col)
        return
    left_cat, right_cat = _load_pair(left, right, sep, id_col)
    linker = Linker(config)
    left_side, right_side = linker.prepare(left_cat, right_cat)
    if threshold == "auto":
        if labels is None:
            raise ProdmatchError("--threshold auto needs labelled pairs: pass --labels FILE")
        pairs = load_pairs(labels, left_ids=left_cat.ids, right_ids=right_cat.ids)
        scores = linker.score_id_pairs(left_side, right_side, pairs)
        config.threshold, f1 = best_threshold(scores, pairs["label"])
        console.print(
            f"threshold {config.threshold:.4f} (F1 {f1:.3f} on {len(pairs)} labelled pairs)"
        )
    decided = linker.decide(linker.candidates(left_side, right_side))
    kept = decided if all_candidates else decided[decided["decision"]]
    write_table(kept[output_columns(kept)], output)
    console.print(
        f"{int(decided['decision'].sum())} matches among {len(decided)} candidates "
        f"({len(left_cat)} x {len(right_cat)} listings) -> {output}"
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
) -> None:
    from prodmatch.io import write_table
    from prodmatch.stream import ReadOptions, StreamMatcher

    matcher = StreamMatcher(
        work_dir, config, chunk_rows=chunk_rows, read=ReadOptions(sep=sep, id_col=id_col)
    )
    result = matcher.run(left, right)
    write_table(result.matches, output)
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


@app.command()
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
    from prodmatch.io import write_table
    from prodmatch.linker import Linker, output_columns

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
    cat = load_catalog(catalog, sep=sep, id_col=id_col)
    result = dedupe_catalog(Linker(config), cat, options)
    clusters, pairs = result.clusters, result.pairs
    write_table(clusters, output)
    shown = pairs["decision"] | pairs["same_photo"] if "same_photo" in pairs else pairs["decision"]
    if pairs_output is not None:
        kept = [*output_columns(pairs), *(["kind"] if "kind" in pairs else [])]
        write_table(pairs.loc[shown, kept], pairs_output)
    groups = clusters.groupby("cluster_id").size()
    console.print(
        f"{len(cat)} listings -> {len(groups)} products; {int((groups > 1).sum())} clusters "
        f"hold duplicates, the largest {int(groups.max()) if len(groups) else 0} listings"
        f"{_photo_summary(pairs)} -> {output}",
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


@evaluate_app.command("pairs")
@friendly_errors
def evaluate_pairs_command(
    folder: Path,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here.")] = None,
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
    report = evaluate_pairs(load_deepmatcher(folder), Linker(config), plot=plot)
    _show(
        f"pairs: {folder}",
        report.to_dict(),
        ["precision", "recall", "f1", "threshold", "valid_f1", "test_pairs", "seconds"],
    )
    _write_json(json_out, report.to_dict())


@evaluate_app.command("linkage")
@friendly_errors
def evaluate_linkage_command(
    left: Path,
    right: Path,
    gold: Annotated[Path, typer.Option(help="The gold mapping: left id, right id per line.")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here.")] = None,
    sep: Sep = None,
    gold_cols: Annotated[
        str | None, typer.Option(help="Gold columns 'LEFT,RIGHT'; default the first two.")
    ] = None,
    id_col: IdCol = "id",
    columns: Columns = None,
    model: Model = None,
    engine: EngineOpt = None,
    scorer: ScorerOpt = None,
    retrieval: RetrievalOpt = None,
    threshold: Annotated[float | None, typer.Option(help="Decision threshold.")] = None,
    assign: Annotated[str, typer.Option(help="one-to-one, best or all.")] = "one-to-one",
    plot: PlotOpt = None,
    image_col: ImageCol = None,
    settings: SettingsOpt = None,
) -> None:
    """End to end on full tables: blocking recall@k, then P/R/F1 against the gold mapping."""
    from prodmatch.data import load_gold
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
        assignment=assign,
        image_column=image_col,
    )
    left_cat, right_cat = _load_pair(left, right, sep, id_col)
    cols = _gold_cols(gold_cols)
    gold_pairs = load_gold(gold, sep=sep, cols=cols, left_ids=left_cat.ids, right_ids=right_cat.ids)
    report = evaluate_linkage(left_cat, right_cat, gold_pairs, Linker(config), plot=plot)
    _show_linkage(f"linkage: {left.name} x {right.name}", report.to_dict())
    _write_json(json_out, report.to_dict())


@evaluate_app.command("dedupe")
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
    from prodmatch.data import load_catalog, load_gold
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
    cat = load_catalog(catalog, sep=sep, id_col=id_col)
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
            gold, sep=sep, cols=_gold_cols(gold_cols), left_ids=cat.ids, right_ids=cat.ids
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


@app.command()
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
    mode: Annotated[
        str, typer.Option(help="full: fine-tune the encoder too; head: only head and classifier.")
    ] = "full",
    loss: Annotated[str, typer.Option(help="supcon, infonce, or selfsup (no labels).")] = "supcon",
    epochs: Annotated[int, typer.Option(help="Fine-tuning epochs (at most).")] = 5,
    batch_size: Annotated[int, typer.Option(help="Listings (supcon) or pairs per step.")] = 32,
    lr: Annotated[float, typer.Option(help="Encoder learning rate.")] = 5e-5,
    temperature: Annotated[float, typer.Option(help="Contrastive temperature.")] = 0.07,
    max_seq_length: Annotated[int, typer.Option(help="Tokens per listing when fine-tuning.")] = 64,
    freeze_layers: Annotated[int, typer.Option(help="Lower transformer layers kept fixed.")] = 0,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same model.")] = 0,
    sep: Sep = None,
    id_col: IdCol = "id",
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
) -> None:
    """Train a matcher on labelled pairs (or none, with --loss selfsup); resumable.

    With --image-col, a fusion head joining text and photo vectors is trained with the same
    loss (the image tower frozen unless --train-image-block) and saved in fusion/. With
    --cross-encoder, a cross-encoder is trained last and saved in cross/.
    """
    from prodmatch.train.api import require_labels, train_matcher
    from prodmatch.train.cross_trainer import CrossTrainingConfig
    from prodmatch.train.fine_tune import FineTuneConfig
    from prodmatch.train.fusion_trainer import FusionTrainingConfig

    left_cat, right_cat, train_pairs, valid_pairs = _training_data(
        folder, left, right, pairs, valid, sep, id_col
    )
    require_labels(train_pairs, loss)
    if mode not in ("full", "head"):
        raise ProdmatchError(f"--mode must be full or head, got '{mode}'")
    base = _settings(None, model, None, columns, image_column=image_col)
    if train_image_block and base.image_column is None:
        raise ProdmatchError("--train-image-block needs the photo column: pass --image-col")
    config = FineTuneConfig(
        loss=loss,  # type: ignore[arg-type]  # checked by FineTuneConfig
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        temperature=temperature,
        max_seq_length=max_seq_length,
        freeze_layers=freeze_layers,
        seed=seed,
    )
    report = train_matcher(
        left_cat,
        right_cat,
        train_pairs,
        valid_pairs,
        output,
        mode=mode,  # type: ignore[arg-type]
        settings=base,
        fine_tune_config=config,
        fusion_config=FusionTrainingConfig(
            loss=config.loss, seed=seed, image_block=train_image_block
        ),
        cross_config=CrossTrainingConfig(epochs=cross_epochs, seed=seed) if cross_encoder else None,
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
) -> tuple[Any, Any, Any, Any]:
    from prodmatch.data import load_deepmatcher, load_pairs

    if folder is not None:
        dataset = load_deepmatcher(folder)
        return dataset.left, dataset.right, dataset.train, dataset.valid
    if left is None or right is None:
        raise ProdmatchError("give a DeepMatcher folder, or --left and --right catalogs")
    left_cat, right_cat = _load_pair(left, right, sep, id_col)

    def read(path: Path | None) -> Any:
        if path is None:
            return None
        return load_pairs(path, left_ids=left_cat.ids, right_ids=right_cat.ids)

    return left_cat, right_cat, read(pairs), read(valid)


@app.command()
@friendly_errors
def demo(
    size: Annotated[int, typer.Option(help="Products in the synthetic world.")] = 600,
    seed: Annotated[int, typer.Option(help="Random seed of the generator.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for the catalogs, matches and plot.")] = Path(
        "prodmatch-demo"
    ),
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
    from prodmatch.linker import Linker, output_columns

    left, right, gold = _demo_world(size, seed, out, images)
    config = _settings(None, model, None, None, image_column="image" if images else None)
    linker = Linker(config)
    report, pairs = link_and_evaluate(left, right, gold, linker, plot=out / "scores.png")
    matches = pairs[pairs["decision"]]
    write_table(matches[output_columns(matches)], out / "matches.csv")
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


def _load_pair(left: Path, right: Path, sep: str | None, id_col: str) -> tuple[Any, Any]:
    """The two catalogs of a matching run, read the same way."""
    from prodmatch.data import load_catalog

    return load_catalog(left, sep=sep, id_col=id_col), load_catalog(right, sep=sep, id_col=id_col)


def _gold_cols(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 2 or not all(parts):
        raise ProdmatchError(f"--gold-cols needs two names like 'D1,D2', got '{value}'")
    return parts[0], parts[1]


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
