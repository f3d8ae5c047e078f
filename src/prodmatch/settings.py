"""One declarative settings object for a matching run, saved beside every output as JSON.

Everything that changes a result lives here, so a run can be repeated from its settings file
and a trained matcher folder can carry the settings it was tuned with.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args

from prodmatch.decide.assign import Assignment
from prodmatch.device import Device
from prodmatch.encode.onnx import Engine
from prodmatch.encode.presets import PresetName, preset_model
from prodmatch.errors import ProdmatchError
from prodmatch.retrieve.dense import IndexKind
from prodmatch.retrieve.hybrid import Retrieval
from prodmatch.score import DEFAULT_THRESHOLDS, Scorer

# How the threshold is chosen when none is given: fitted to the candidates of the catalogs
# being matched (`prodmatch.decide.calibrate`), or the scorer's fixed default.
Decision = Literal["calibrated", "fixed"]


@dataclass
class MatchSettings:
    """How to encode, retrieve, score and decide.

    threshold: pairs scoring at least this are matches; a given threshold is always used as
    it is (a fixed decision).
    decision: with no threshold, "calibrated" (the default) fits one to the candidates of the
    catalogs being matched, without labels (`prodmatch.decide.calibrate`); "fixed" uses the
    scorer's default, chosen on the built-in synthetic data. Calibrated is the default because
    it measured better on the development sets built from the abt-buy and amazon-google
    train/valid pairs and on synthetic catalogs, where the share of listings with a match is
    30%, 60% or 100% (mean 98.7% of the best-threshold F1 against 95.2%, worst 96.5% against
    83.7%: bench/results/calibration.json; BENCHMARKS.md "How each default was chosen"): a
    fixed threshold carries the score scale of the catalogs it was chosen on.
    engine: torch (reference), onnx, or onnx-int8 (fastest; see `prodmatch.encode.onnx`).
    dense_weight, code_weight: the hybrid scorer's mix (see `prodmatch.score`); the defaults
    were chosen on the validation splits of abt-buy and amazon-google, never their test splits,
    by `bench/choose_hybrid_weights.py` (bench/results/hybrid_weights.json): among the weights
    within a point of the best validation pair F1, the best rank of the validation matches
    against the whole right table, as `match` ranks candidates.
    image_column: the column holding each listing's photo(s) (paths or URLs); None reads no
    images. It is never part of the product text, so it cannot be one of ``columns``.
    image_model: the image encoder's weights file; None is the packaged EfficientNet-Lite0
    (a matcher trained with its last image block keeps its own, relative to its folder).
    rerank_floor: with a matcher that has a cross-encoder, candidates the pair classifier
    gives less than this probability are settled without it; 0 re-reads every candidate. The
    default 0.01 was chosen with test F1 among the evidence in an earlier session and is not
    yet re-decided on validation data (`bench/choose_rerank_floor.py` does; BENCHMARKS.md).
    language: "auto" detects each listing's language (`prodmatch.text.language`) and records
    it in the output; a code such as "zh" or "en" states it for every listing.
    exchange_rates: a JSON table of currency -> value of one unit in a common currency; prices
    are then compared in that currency (`prodmatch.text.price`). None keeps each shop's own.
    preset: the encoder chosen by name (fast, accurate; `prodmatch.encode.presets`); it fills
    ``model`` when none is named (an empty ``model``), and a named model wins over it.
    device: where torch runs (auto, cpu, cuda; `prodmatch.device`): the torch engine's
    encoding and the cross-encoder; the onnx engines stay on the CPU.
    """

    model: str = ""
    columns: list[str] | None = None
    max_seq_length: int = 128
    batch_size: int = 64
    engine: Engine = "torch"
    retrieval: Retrieval = "hybrid"
    k: int = 20
    index: IndexKind = "auto"
    scorer: Scorer = "hybrid"
    dense_weight: float = 0.2
    code_weight: float = 0.1
    threshold: float | None = None
    decision: Decision = "calibrated"
    assignment: Assignment = "one-to-one"
    image_column: str | None = None
    image_model: str | None = None
    rerank_floor: float = 0.01
    language: str = "auto"
    exchange_rates: str | None = None
    preset: PresetName | None = None
    device: Device = "auto"

    def __post_init__(self) -> None:
        if self.preset is not None:
            _check_choice("preset", self.preset, PresetName)
        _check_choice("device", self.device, Device)
        if not self.model:
            self.model = preset_model(self.preset)
        _check_choice("engine", self.engine, Engine)
        _check_choice("retrieval", self.retrieval, Retrieval)
        _check_choice("index", self.index, IndexKind)
        _check_choice("scorer", self.scorer, Scorer)
        _check_choice("assignment", self.assignment, Assignment)
        _check_choice("decision", self.decision, Decision)
        if self.k < 1:
            raise ProdmatchError(f"k must be at least 1, got {self.k}")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ProdmatchError(f"dense_weight must be in [0, 1], got {self.dense_weight}")
        if not 0.0 <= self.rerank_floor < 1.0:
            raise ProdmatchError(f"rerank_floor must be in [0, 1), got {self.rerank_floor}")
        self._check_image_column()
        if not isinstance(self.language, str) or not self.language.strip():
            raise ProdmatchError(f"language must be 'auto' or a code, got {self.language!r}")

    def _check_image_column(self) -> None:
        """A named, non-empty column that is not also read as text (a path is no description)."""
        column = self.image_column
        if column is None:
            return
        if not isinstance(column, str) or not column.strip():
            raise ProdmatchError(f"image_column must be a column name, got {column!r}")
        if self.columns is not None and column in self.columns:
            raise ProdmatchError(
                f"image_column '{column}' cannot also be a text column; leave it out of columns"
            )

    @property
    def decision_threshold(self) -> float:
        """The fixed threshold: the given one, else the scorer's default (also the fallback
        of a calibrated decision on too few candidates)."""
        return self.threshold if self.threshold is not None else DEFAULT_THRESHOLDS[self.scorer]

    @property
    def calibrated(self) -> bool:
        """Whether the threshold is fitted to the catalogs: only when none is given."""
        return self.threshold is None and self.decision == "calibrated"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ProdmatchError(f"unknown settings: {', '.join(unknown)}")
        return cls(**data)

    def save(self, path: Path) -> None:
        from prodmatch.io import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> MatchSettings:
        return cls.from_dict(cls.read(path))

    @classmethod
    def read(cls, path: Path) -> dict[str, Any]:
        """The settings a JSON file names (checked), without filling in the defaults."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ProdmatchError(f"{path}: cannot read settings: {error}") from error
        if not isinstance(data, dict):
            raise ProdmatchError(f"{path}: settings must be a JSON object")
        try:
            cls.from_dict(data)
        except (ProdmatchError, TypeError) as error:
            raise ProdmatchError(f"{path}: {error}") from None
        return data


def _check_choice(name: str, value: object, choices: object) -> None:
    allowed = get_args(choices)
    if value not in allowed:
        raise ProdmatchError(f"{name} must be one of {', '.join(allowed)}; got '{value}'")
