"""What each Spark Python worker loads once and reuses for every batch: the linker.

The driver stages the model folder (with its ONNX graph for the onnx engines, exported there
once) and ships it with the job (`SparkContext.addFile`), so executors never download
anything and never export a graph each. Each worker then builds one `Linker` (encoder, pair
classifier, TF-IDF statistics) per run, the first time a batch needs it.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prodmatch.encode import TextEncoder
from prodmatch.encode.models import model_fingerprint, resolve_model_path
from prodmatch.encode.onnx import ensure_onnx, onnx_path
from prodmatch.errors import ProdmatchError
from prodmatch.linker import Linker
from prodmatch.retrieve import SparseIndex
from prodmatch.settings import MatchSettings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_LINKERS: dict[str, Linker] = {}  # per worker process: run key -> its linker
_SHIPPED: dict[str, str] = {}  # per driver: staged model key -> name registered with addFile


@dataclass(frozen=True)
class Job:
    """What workers need to rebuild the run's linker: pickled into every task.

    `shipped` is the name the model folder was registered under with `addFile` (None: the
    settings' model is used as it is, e.g. a packaged model installed on every executor).
    `lexical` is a Spark broadcast of the run's `SparseIndex` (None for scorers without it).
    """

    key: str
    settings: MatchSettings
    shipped: str | None
    lexical: Any = None

    def sparse(self) -> SparseIndex | None:
        return None if self.lexical is None else self.lexical.value  # type: ignore[no-any-return]


def new_job(
    spark: SparkSession, settings: MatchSettings, lexical: SparseIndex | None, ship: bool = True
) -> Job:
    """The run's job description: model staged and shipped, TF-IDF statistics broadcast."""
    shipped = ship_model(spark, settings) if ship else None
    broadcast = spark.sparkContext.broadcast(lexical) if lexical is not None else None
    return Job(uuid.uuid4().hex, settings, shipped, broadcast)


def ship_model(spark: SparkSession, settings: MatchSettings) -> str:
    """Stage the model folder (plus the ONNX graph the engine runs) and register it with
    `addFile`; returns the name workers look it up by. Staged once per model and engine."""
    folder = Path(settings.model).expanduser()
    source = folder.resolve() if folder.is_dir() else resolve_model_path(settings.model)
    encoder = resolve_model_path(str(source))
    key = f"{model_fingerprint(source)}-{settings.engine}"
    if key in _SHIPPED:
        return _SHIPPED[key]
    graph = None if settings.engine == "torch" else ensure_onnx(encoder, settings.engine)
    name = f"prodmatch-model-{key}"
    staged = Path(tempfile.mkdtemp(prefix="prodmatch-spark-")) / name
    shutil.copytree(source, staged)
    if graph is not None and encoder.is_relative_to(source):
        inside = staged / encoder.relative_to(source)
        target = onnx_path(inside, settings.engine)
        if not target.is_file():  # the graph was exported into the cache: ship it beside
            target = inside / "onnx" / graph.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(graph, target)
    spark.sparkContext.addFile(str(staged), recursive=True)
    _SHIPPED[key] = name
    return name


def linker_for(job: Job) -> Linker:
    """This worker's linker for `job`, built on first use (one per run and process)."""
    linker = _LINKERS.get(job.key)
    if linker is None:
        settings = job.settings
        if job.shipped is not None:
            from pyspark import SparkFiles

            settings = replace(settings, model=SparkFiles.get(job.shipped))
        encoder = TextEncoder(
            settings.model,
            max_seq_length=settings.max_seq_length,
            batch_size=settings.batch_size,
            engine=settings.engine,
            cache=False,
        )
        linker = Linker(settings, encoder=encoder, lexical=job.sparse(), progress=False)
        _LINKERS.clear()  # a worker serves one run at a time; drop an earlier run's model
        _LINKERS[job.key] = linker
    return linker


def check_supported(linker: Linker) -> None:
    """What the Spark path does not run yet, said before any work (as streamed runs do)."""
    if linker.settings.image_column is not None:
        raise ProdmatchError("Spark matching reads no images; leave out image_column")
    if linker.reranker is not None:
        raise ProdmatchError(
            f"{linker.settings.model}: Spark matching does not run cross-encoders yet; "
            "use a matcher trained without --cross-encoder"
        )
