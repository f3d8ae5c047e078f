from __future__ import annotations

from pathlib import Path

import pytest

from prodmatch.errors import ProdmatchError
from prodmatch.settings import MatchSettings


def test_settings_round_trip_through_json(tmp_path: Path) -> None:
    settings = MatchSettings(scorer="tfidf", k=7, columns=["title"], threshold=0.42)
    settings.save(tmp_path / "s.json")
    assert MatchSettings.load(tmp_path / "s.json") == settings


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scorer", "magic"),
        ("assignment", "many"),
        ("k", 0),
        ("dense_weight", 2.0),
        ("decision", "guess"),
    ],
)
def test_bad_settings_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ProdmatchError, match=field):
        MatchSettings(**{field: value})  # type: ignore[arg-type]


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ProdmatchError, match="unknown settings: colour"):
        MatchSettings.from_dict({"colour": "red"})


def test_decision_round_trips_and_a_given_threshold_is_fixed(tmp_path: Path) -> None:
    settings = MatchSettings(decision="fixed")
    settings.save(tmp_path / "s.json")
    loaded = MatchSettings.load(tmp_path / "s.json")
    assert loaded.decision == "fixed" and not loaded.calibrated
    assert not MatchSettings(threshold=0.5).calibrated
    assert MatchSettings().calibrated  # calibrated by default (BENCHMARKS.md)


def test_default_threshold_follows_the_scorer() -> None:
    assert MatchSettings(scorer="fuzzy").decision_threshold != MatchSettings().decision_threshold
    assert MatchSettings(threshold=0.1).decision_threshold == 0.1


def test_image_column_round_trips_and_defaults_to_none(tmp_path: Path) -> None:
    assert MatchSettings().image_column is None
    settings = MatchSettings(image_column="photo", columns=["title"])
    settings.save(tmp_path / "s.json")
    assert MatchSettings.load(tmp_path / "s.json").image_column == "photo"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"image_column": ""}, "image_column must be a column name"),
        ({"image_column": "  "}, "image_column must be a column name"),
        ({"image_column": "image", "columns": ["title", "image"]}, "cannot also be a text column"),
    ],
)
def test_bad_image_columns_are_rejected(options: dict[str, object], message: str) -> None:
    with pytest.raises(ProdmatchError, match=message):
        MatchSettings(**options)  # type: ignore[arg-type]


def test_a_partial_settings_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    import json

    from prodmatch.cli import _settings
    from prodmatch.matcher import MATCHER_FILE, MATCHER_FORMAT

    matcher = tmp_path / "matcher"
    matcher.mkdir()
    trained = MatchSettings(scorer="learned", threshold=0.7, k=5).to_dict()
    payload = {"format": MATCHER_FORMAT, "settings": trained}
    (matcher / MATCHER_FILE).write_text(json.dumps(payload))
    (tmp_path / "s.json").write_text('{"rerank_floor": 0.01}')
    settings = _settings(tmp_path / "s.json", str(matcher), None, None)
    assert settings.rerank_floor == 0.01
    assert (settings.scorer, settings.threshold, settings.k) == ("learned", 0.7, 5)
    assert settings.model == str(matcher.resolve())
    (tmp_path / "bad.json").write_text('{"rerank_floor": 2}')
    with pytest.raises(ProdmatchError, match=r"bad\.json: rerank_floor"):
        MatchSettings.read(tmp_path / "bad.json")
