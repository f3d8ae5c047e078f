"""Joining a model split across PyPI packages: found through the installed file lists,
hash-checked, unpacked by one rename, assembled once."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from prodmatch.encode import split_model
from prodmatch.encode.split_model import SplitModel, installed_parts, split_model_path
from prodmatch.errors import ProdmatchError

FILES = {
    "tiny-model/": b"",
    "tiny-model/modules.json": b"[]",
    "tiny-model/config.json": b'{"hidden_size": 4}',
    "tiny-model/1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
    "tiny-model/model.safetensors": bytes(range(256)) * 40,
    "tiny-model/desktop.ini": b"[.ShellClassInfo]",
    "elsewhere/ignored.txt": b"not the model",
}
DISTS = ("tiny-model-part-001", "tiny-model-part-002", "tiny-model-part-003")


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _install_parts(site: Path, blob: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three fake installed distributions, each with one piece of `blob` in its RECORD, as
    the all-mpnet-base-v2 part packages are laid out (a folder name that is not importable)."""
    size = len(blob) // 3 + 1
    for n, dist in enumerate(DISTS, start=1):
        folder = f"tiny-model-part_{n:03d}"
        piece = site / folder / "input" / f"tiny-model.zip.{n:03d}"
        piece.parent.mkdir(parents=True)
        piece.write_bytes(blob[(n - 1) * size : n * size])
        info = site / f"{dist.replace('-', '_')}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.0.1\n")
        record = f"{folder}/__init__.py,,\n{folder}/input/tiny-model.zip.{n:03d},,\n"
        (info / "RECORD").write_text(record)
    monkeypatch.syspath_prepend(str(site))


def _model(blob: bytes, **changes: str) -> SplitModel:
    fields = {"sha256": hashlib.sha256(blob).hexdigest(), "root": "tiny-model", "extra": "tiny"}
    fields.update(changes)
    return SplitModel(name="tiny-model", distributions=DISTS, **fields)  # type: ignore[arg-type]


@pytest.fixture
def blob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    data = _zip(FILES)
    _install_parts(tmp_path / "site", data, monkeypatch)
    return data


def test_the_pieces_are_found_in_order_and_joined_into_the_model(
    blob: bytes, tmp_path: Path
) -> None:
    parts = installed_parts(_model(blob))
    assert [p.name for p in parts] == [
        "tiny-model.zip.001",
        "tiny-model.zip.002",
        "tiny-model.zip.003",
    ]
    assert b"".join(p.read_bytes() for p in parts) == blob

    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    (cache / "models" / "other.txt").write_text("keep me")
    folder = split_model_path(_model(blob), cache)

    assert folder == cache / "models" / f"tiny-model-{hashlib.sha256(blob).hexdigest()[:12]}"
    found = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert found == {"modules.json", "config.json", "1_Pooling/config.json", "model.safetensors"}
    assert (folder / "model.safetensors").read_bytes() == FILES["tiny-model/model.safetensors"]
    # nothing else in the cache was touched, and no temporary folder is left behind
    assert sorted(p.name for p in (cache / "models").iterdir()) == sorted(
        ["other.txt", folder.name]
    )
    assert (cache / "models" / "other.txt").read_text() == "keep me"


def test_a_second_call_uses_the_assembled_folder_without_unpacking_again(
    blob: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = split_model_path(_model(blob), tmp_path / "cache")
    stamp = (first / "model.safetensors").stat().st_mtime_ns

    def refuse(*_: object) -> str:
        raise AssertionError("joined again")

    monkeypatch.setattr(split_model, "_join", refuse)
    assert split_model_path(_model(blob), tmp_path / "cache") == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp


def test_a_wrong_hash_stops_before_anything_appears(blob: bytes, tmp_path: Path) -> None:
    model = _model(blob, sha256="0" * 64)
    with pytest.raises(
        ProdmatchError, match=r"sha256 .* expected 0000.*pip install 'prodmatch\[tiny\]'"
    ):
        split_model_path(model, tmp_path / "cache")
    assert list((tmp_path / "cache" / "models").iterdir()) == []  # no model, no leftovers


def test_a_damaged_piece_fails_the_hash(blob: bytes, tmp_path: Path) -> None:
    piece = installed_parts(_model(blob))[1]
    data = bytearray(piece.read_bytes())
    data[10] ^= 0xFF
    piece.write_bytes(bytes(data))
    with pytest.raises(ProdmatchError, match="damaged or from another release"):
        split_model_path(_model(blob), tmp_path / "cache")


def test_a_failure_while_unpacking_leaves_no_folder(
    blob: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(split_model.shutil, "copyfileobj", crash)
    with pytest.raises(OSError, match="disk full"):
        split_model_path(_model(blob), tmp_path / "cache")
    assert list((tmp_path / "cache" / "models").iterdir()) == []


def test_a_path_leaving_the_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evil = _zip({**FILES, "tiny-model/../../escape.txt": b"x"})
    _install_parts(tmp_path / "site", evil, monkeypatch)
    with pytest.raises(ProdmatchError, match="unsafe path"):
        split_model_path(_model(evil), tmp_path / "cache")
    assert not (tmp_path / "escape.txt").exists()
    assert list((tmp_path / "cache" / "models").iterdir()) == []


def test_missing_packages_are_named_with_what_to_install(tmp_path: Path) -> None:
    model = SplitModel(
        "absent", ("prodmatch-absent-part-1", "prodmatch-absent-part-2"), "0" * 64, "absent", "x"
    )
    with pytest.raises(ProdmatchError) as error:
        split_model_path(model, tmp_path / "cache")
    line = str(error.value)
    assert "\n" not in line
    assert "missing prodmatch-absent-part-1, prodmatch-absent-part-2" in line
    pieces = "prodmatch-absent-part-1 prodmatch-absent-part-2"
    assert f"pip install 'prodmatch[x]' (or: pip install {pieces})" in line
