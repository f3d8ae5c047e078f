"""The trained matcher's threshold chosen on its validation listings' candidates, the
comparison with the untrained default, and the warning when training did worse."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prodmatch.cli import app
from prodmatch.data import load_deepmatcher
from prodmatch.linker import Linker
from prodmatch.matcher import matcher_settings
from prodmatch.settings import MatchSettings
from prodmatch.synth import generate_catalogs
from prodmatch.train import end_to_end
from prodmatch.train.api import train_matcher
from prodmatch.train.end_to_end import decided_f1, end_to_end_threshold, labelled_candidates

runner = CliRunner()
WORSE = "did worse end to end than the untrained default"


@pytest.fixture(scope="module")
def folder(deepmatcher_folder: Callable[[int, int], Path]) -> Path:
    return deepmatcher_folder(150, 7)


def _untrained_forced(f1: float) -> Any:
    """`decided_f1` with the untrained default's F1 forced to `f1` (the trained linker's
    decisions, scored as learned, keep their true F1)."""
    real = end_to_end.decided_f1

    def patched(linker: Linker, *args: Any, **kwargs: Any) -> float:
        if linker.settings.scorer == "hybrid":
            return f1
        return real(linker, *args, **kwargs)

    return patched


@pytest.fixture(scope="module")
def matcher(folder: Path, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A head-mode matcher whose untrained comparison is forced to lose (F1 0)."""
    data = load_deepmatcher(folder)
    out = tmp_path_factory.mktemp("trained") / "m"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(end_to_end, "decided_f1", _untrained_forced(0.0))
        train_matcher(
            data.left,
            data.right,
            data.train,
            data.valid,
            out,
            mode="head",
            settings=MatchSettings(model=str(tiny_model)),
            progress=False,
            valid_split="given",  # the tests re-read data.valid as what was chosen on
        )
    return out


def test_best_threshold_on_hand_made_candidates_is_the_one_to_one_best() -> None:
    # one-to-one drops (0, 1) (left 0 is taken by its 0.9 pair); on what is left, with 4
    # matches in all (one never retrieved), F1 at each cut: 2/5, 4/6, 4/7, 6/8, 6/9
    pairs = pd.DataFrame(
        {
            "left": [0, 0, 1, 2, 3, 4],
            "right": [0, 1, 1, 2, 3, 4],
            "score": [0.9, 0.8, 0.7, 0.6, 0.4, 0.3],
            "rank": [1, 2, 1, 1, 1, 1],
        }
    )
    labels = np.array([1, 0, 1, 0, 1, 0])
    linker = Linker(MatchSettings(), progress=False)
    best = end_to_end_threshold(linker, pairs, labels, positives=4)
    assert best.threshold == pytest.approx(0.35)
    assert best.f1 == pytest.approx(0.75)
    # decisions at a cut of 0.65: (0,0) and (1,1), both right: 2 x 2 / (2 + 4)
    assert decided_f1(linker, pairs, labels, 4, 0.65) == pytest.approx(4 / 6)


def _brute_force(linker: Linker, pairs: pd.DataFrame, labels: np.ndarray, positives: int) -> float:
    """The best end-to-end F1 over every cut, each decided afresh (cutting at the score of
    each pair accepted with no threshold: any other cut decides as the next one up)."""
    best = 0.0
    accepted_anyway = linker.decide(pairs, -np.inf)["decision"].to_numpy()
    for cut in np.unique(pairs["score"].to_numpy()[accepted_anyway]):
        accepted = linker.decide(pairs, float(cut))["decision"].to_numpy()
        true = int(labels[accepted].sum())
        best = max(best, 2 * true / (int(accepted.sum()) + positives))
    return best


def test_recorded_threshold_is_the_best_on_the_validation_candidates(
    folder: Path, matcher: Path
) -> None:
    info = json.loads((matcher / "prodmatch.json").read_text())
    record = info["metrics"]["end_to_end"]
    settings = matcher_settings(matcher)
    assert settings.threshold == pytest.approx(record["threshold"])
    assert "validation listings" in record["how"]
    # recompute independently: the matcher's candidates for the validation listings, labelled
    data = load_deepmatcher(folder)
    valid, train = data.valid, data.train
    matches, known = _known(valid), _known(train)
    linker = Linker(settings, progress=False)
    listings = data.left.select(sorted({left_id for left_id, _ in matches}))
    pairs, labels = labelled_candidates(linker, listings, data.right, matches, known - matches)
    assert labels.sum() > 0 and len(pairs) > 2 * labels.sum()  # candidates are mostly non-matches
    best = _brute_force(linker, pairs, labels, len(matches))
    assert record["trained_f1"] == pytest.approx(best, abs=1e-9)
    decided = decided_f1(linker, pairs, labels, len(matches))  # at the recorded threshold
    assert decided == pytest.approx(best, abs=1e-9)
    assert record["pair_list_threshold"] != record["threshold"]
    assert record["worse_than_untrained"] is False  # untrained forced to F1 0


def test_match_with_a_matcher_not_worse_prints_no_warning(matcher: Path, tmp_path: Path) -> None:
    result = _match(matcher, tmp_path)
    assert result.exit_code == 0, result.output
    assert WORSE not in result.output
    assert "chosen on candidates retrieved for its validation listings" in result.output


@pytest.fixture
def worse(folder: Path, tiny_model: Path, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A matcher trained by the CLI with the untrained default forced better (F1 above 1)."""
    out = tmp_path / "worse"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(end_to_end, "decided_f1", _untrained_forced(1.5))
        result = runner.invoke(
            app,
            ["train", str(folder), "-o", str(out), "--mode", "head", "--model", str(tiny_model)],
        )
    assert result.exit_code == 0, result.output
    yield out, result.output


def test_train_and_match_warn_when_the_trained_matcher_does_worse(
    worse: tuple[Path, str], tmp_path: Path
) -> None:
    out, output = worse
    lines = [line for line in output.splitlines() if WORSE in line]
    assert len(lines) == 1 and "vs 1.500 untrained" in lines[0]
    record = json.loads((out / "prodmatch.json").read_text())["metrics"]["end_to_end"]
    assert record["worse_than_untrained"] is True and record["untrained_f1"] == 1.5
    result = _match(out, tmp_path)
    assert result.exit_code == 0, result.output
    assert sum(WORSE in line for line in result.output.splitlines()) == 1


def _known(pairs: pd.DataFrame) -> set[tuple[str, str]]:
    found = pairs[pairs["label"] == 1]
    return set(zip(found["left_id"].astype(str), found["right_id"].astype(str), strict=True))


def _match(model: Path, tmp_path: Path) -> Any:
    data_dir = tmp_path / "csv"
    data_dir.mkdir(exist_ok=True)
    world = generate_catalogs(30, seed=3)
    world.left.to_csv(data_dir / "a.csv", index=False)
    world.right.to_csv(data_dir / "b.csv", index=False)
    return runner.invoke(
        app,
        [
            "match",
            str(data_dir / "a.csv"),
            str(data_dir / "b.csv"),
            "-o",
            str(tmp_path / "matches.csv"),
            "--model",
            str(model),
        ],
    )
