"""A matcher folder: never written over a user's folder, and loaded without reading outside
itself or unpickling anything."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from safetensors.torch import save_file

from prodmatch.encode.models import resolve_model_path
from prodmatch.errors import ProdmatchError
from prodmatch.linker import Linker
from prodmatch.matcher import (
    HEAD_DIR,
    MATCHER_FILE,
    MATCHER_FORMAT,
    check_output,
    matcher_settings,
    write_matcher,
)
from prodmatch.matcher import folder as folder_module
from prodmatch.matcher.head import MatchHead, PairClassifier, ProjectionHead
from prodmatch.settings import MatchSettings


def _matcher(path: Path, **settings: object) -> Path:
    """A small but complete learned matcher folder (head and prodmatch.json)."""
    head = MatchHead(
        ProjectionHead(8), PairClassifier(8, 1, hidden_dim=4), extra_columns=("dense",)
    )
    head.save(path / HEAD_DIR)
    values = MatchSettings(model=".", scorer="learned", threshold=0.5).to_dict() | settings
    info = {"format": MATCHER_FORMAT, "settings": values}
    (path / MATCHER_FILE).write_text(json.dumps(info), encoding="utf-8")
    return path


def _staged(tmp_path: Path, marker: str) -> Path:
    staging = _matcher(tmp_path / f"staging-{marker}")
    (staging / HEAD_DIR / "marker.txt").write_text(marker)  # tells the two matchers apart
    return staging


def test_a_users_folder_is_refused_and_kept(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "thesis.txt").write_text("years of work")
    for overwrite in (False, True):
        with pytest.raises(ProdmatchError, match="not a prodmatch matcher"):
            write_matcher(_staged(tmp_path, str(overwrite)), target, {}, "", overwrite=overwrite)
    assert (target / "thesis.txt").read_text() == "years of work"
    assert sorted(p.name for p in target.iterdir()) == ["thesis.txt"]
    with pytest.raises(ProdmatchError, match="not a folder"):
        check_output(target / "thesis.txt")


def test_a_matcher_is_replaced_only_with_overwrite(tmp_path: Path) -> None:
    target = write_matcher(_staged(tmp_path, "old"), tmp_path / "m", {}, "card")
    (target / "cross").mkdir()  # a part the new matcher does not have
    with pytest.raises(ProdmatchError, match="--overwrite"):
        write_matcher(_staged(tmp_path, "new"), target, {}, "card")
    assert (target / HEAD_DIR / "marker.txt").read_text() == "old"
    write_matcher(_staged(tmp_path, "new"), target, {}, "card", overwrite=True)
    assert (target / HEAD_DIR / "marker.txt").read_text() == "new"
    assert not (target / "cross").exists()  # the old matcher is gone whole, not mixed in
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no leftovers beside it


def test_a_failed_replacement_puts_the_old_matcher_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = write_matcher(_staged(tmp_path, "old"), tmp_path / "m", {}, "card")
    staging = _staged(tmp_path, "new")
    rename = os.replace

    def failing(source: Path, destination: Path) -> None:
        if Path(source) == staging:
            raise OSError(28, "No space left on device")
        rename(source, destination)

    monkeypatch.setattr(folder_module.os, "replace", failing)
    with pytest.raises(ProdmatchError, match="cannot write the matcher"):
        write_matcher(staging, target, {}, "card", overwrite=True)
    assert (target / HEAD_DIR / "marker.txt").read_text() == "old"
    assert not any(p.name.startswith(".m.old") for p in tmp_path.iterdir())


def test_overwrite_keeps_a_users_file_inside_a_matcher_and_a_look_alike_sibling(
    tmp_path: Path,
) -> None:
    target = write_matcher(_staged(tmp_path, "old"), tmp_path / "m", {}, "card")
    (target / "notes.txt").write_text("mine")
    with pytest.raises(ProdmatchError, match=r"notes\.txt"):
        write_matcher(_staged(tmp_path, "new"), target, {}, "card", overwrite=True)
    (target / "notes.txt").unlink()
    sibling = tmp_path / ".m.old"  # the name an older version used for its scratch copy
    sibling.mkdir()
    (sibling / "keep.txt").write_text("mine")
    write_matcher(_staged(tmp_path, "new"), target, {}, "card", overwrite=True)
    assert (sibling / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "image_model", ["../outside.safetensors", "/etc/outside.safetensors", "image/../../x"]
)
def test_paths_in_the_json_must_stay_inside(tmp_path: Path, image_model: str) -> None:
    path = _matcher(tmp_path / "m", image_model=image_model)
    with pytest.raises(ProdmatchError, match="inside the matcher folder"):
        matcher_settings(path)


def test_a_link_leading_outside_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.safetensors"
    save_file({}, str(secret))
    path = _matcher(tmp_path / "m", image_model="image/w.safetensors")
    (path / "image").mkdir()
    (path / "image" / "w.safetensors").symlink_to(secret)
    with pytest.raises(ProdmatchError, match="link leading outside"):
        matcher_settings(path)
    (path / "image" / "w.safetensors").unlink()
    (path / HEAD_DIR).rename(tmp_path / "elsewhere")
    (path / HEAD_DIR).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ProdmatchError, match="link leading outside"):
        Linker(MatchSettings(model=str(path), scorer="learned"), progress=False)
    (path / HEAD_DIR).unlink()
    (tmp_path / "elsewhere").rename(path / HEAD_DIR)
    (path / MATCHER_FILE).rename(tmp_path / "outside.json")
    (path / MATCHER_FILE).symlink_to(tmp_path / "outside.json")
    with pytest.raises(ProdmatchError, match="link leading outside"):
        matcher_settings(path)


@pytest.mark.parametrize(
    "crafted", ["image/tower.pt2", "image/w.pth", "head/classifier.bin", "cross/model.pkl"]
)
def test_a_pickled_file_is_refused_and_never_opened(
    tmp_path: Path, crafted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pickled file was opened")

    monkeypatch.setattr(torch, "load", never)
    monkeypatch.setattr(torch.export, "load", never)
    path = _matcher(tmp_path / "m", image_model=crafted)
    (path / crafted).parent.mkdir(exist_ok=True)
    (path / crafted).write_bytes(b"\x80\x04 crafted pickle")
    with pytest.raises(ProdmatchError, match="pickled file"):
        matcher_settings(path)
    with pytest.raises(ProdmatchError, match="pickled file"):
        Linker(MatchSettings(model=str(path), scorer="learned"), progress=False)


def test_an_image_model_must_be_safetensors(tmp_path: Path) -> None:
    path = _matcher(tmp_path / "m", image_model="image/tower.onnx")
    (path / "image").mkdir()
    (path / "image" / "tower.onnx").write_bytes(b"x")
    with pytest.raises(ProdmatchError, match=r"must be a \.safetensors file"):
        matcher_settings(path)


def test_an_encoder_naming_foreign_code_is_refused(tmp_path: Path) -> None:
    path = _matcher(tmp_path / "m")
    (path / "encoder").mkdir()
    modules = [{"idx": 0, "name": "0", "path": "", "type": "os.system"}]
    (path / "encoder" / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ProdmatchError, match=r"'os\.system' is not one of"):
        resolve_model_path(path)


def test_a_matcher_without_encoder_names_only_a_packaged_model(tmp_path: Path) -> None:
    path = _matcher(tmp_path / "m")
    info = json.loads((path / MATCHER_FILE).read_text())
    for name in (str(tmp_path), "../other-model", None):
        (path / MATCHER_FILE).write_text(json.dumps({**info, "packaged_encoder": name}))
        with pytest.raises(ProdmatchError, match="names no packaged encoder"):
            resolve_model_path(path)


def test_the_packaged_image_model_is_named_not_a_path(tmp_path: Path) -> None:
    path = _matcher(tmp_path / "m", image_model="efficientnet-lite0")
    assert matcher_settings(path).image_model == "efficientnet-lite0"
