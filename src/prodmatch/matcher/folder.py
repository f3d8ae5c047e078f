"""A trained matcher as one self-describing folder.

    my-matcher/
      prodmatch.json   format, the MatchSettings to use, how it was trained, its metrics
      encoder/         the fine-tuned sentence-transformers encoder, weights in safetensors
                       (absent when the encoder is an unchanged packaged model: prodmatch.json
                       then names it under "packaged_encoder")
      head/            projection head and pair classifier (safetensors + JSON)
      fusion/          with photos: the head joining text and image vectors (safetensors + JSON)
      image/           with a trained image block: the image encoder's weights (safetensors)
      cross/           with --cross-encoder: the cross-encoder that re-reads doubtful pairs and
                       its blend with the pair classifier (safetensors + JSON)
      lexical/         the TF-IDF vocabulary and IDF of the training catalogs, so the `sparse`
                       signal is computed alike in training and matching (JSON + safetensors)
      README.md        a model card

Every command that takes `--model` accepts such a folder: its settings become the defaults,
its encoder encodes and its head scores. A folder may come from anywhere, so loading one runs
no code and reads nothing outside it: weights are safetensors, settings JSON, every path it
names must stay inside it (no absolute paths, no `..`, no symbolic link leading out), and the
only thing it may name outside itself is a packaged encoder, by its package name.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from prodmatch.errors import ProdmatchError
from prodmatch.io import atomic_write_text
from prodmatch.settings import MatchSettings

MATCHER_FILE = "prodmatch.json"
MATCHER_FORMAT = "prodmatch-matcher/1"
ENCODER_DIR = "encoder"
HEAD_DIR = "head"
FUSION_DIR = "fusion"
IMAGE_DIR = "image"
CROSS_DIR = "cross"
LEXICAL_DIR = "lexical"
CARD_FILE = "README.md"
# Files that unpickle (or run) when loaded: a matcher holds none, so a crafted one is refused
# before any library gets a chance to fall back on it.
PICKLED_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".pt2", ".pkl", ".pickle", ".ckpt", ".joblib"})
# What a matcher folder may hold; --overwrite replaces only a folder holding nothing else.
MATCHER_ENTRIES = frozenset(
    {MATCHER_FILE, CARD_FILE, ENCODER_DIR, HEAD_DIR, FUSION_DIR, IMAGE_DIR, CROSS_DIR, LEXICAL_DIR}
)


def is_matcher(path: str | Path) -> bool:
    return (Path(path) / MATCHER_FILE).is_file()


def read_matcher_info(folder: str | Path) -> dict[str, Any]:
    """The matcher's description, checked for its format and for links leading out of it."""
    path = Path(folder) / MATCHER_FILE
    check_contained(folder)  # first: prodmatch.json itself may be a link leading out
    try:
        info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ProdmatchError(f"{path}: cannot read the matcher: {error}") from error
    if not isinstance(info, dict) or info.get("format") != MATCHER_FORMAT:
        raise ProdmatchError(f"{path}: not a {MATCHER_FORMAT} folder")
    return info


def worse_than_untrained(info: dict[str, Any]) -> str | None:
    """One warning line when training measured the matcher worse end to end than the untrained
    default on its validation listings (recorded under metrics.end_to_end), else None."""
    record = (info.get("metrics") or {}).get("end_to_end") or {}
    if not record.get("worse_than_untrained"):
        return None
    return (
        f"warning: this trained matcher did worse end to end than the untrained default on its "
        f"validation listings (F1 {record['trained_f1']:.3f} vs {record['untrained_f1']:.3f} "
        "untrained); matching without --model may be better"
    )


def check_contained(folder: str | Path) -> None:
    """Refuse a matcher folder that could read outside itself or run code when loaded: a
    symbolic link leading out, a pickled weights file, or an encoder whose modules.json names
    code other than sentence-transformers' own modules."""
    root = Path(folder).resolve()
    for parent, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            entry = Path(parent) / name
            if entry.is_symlink() and not entry.resolve().is_relative_to(root):
                raise ProdmatchError(
                    f"{entry}: a link leading outside the matcher folder; refusing to load it"
                )
            if name in files and entry.suffix.lower() in PICKLED_SUFFIXES:
                raise ProdmatchError(
                    f"{entry}: a pickled file in a matcher folder (matchers hold safetensors "
                    "and JSON only); refusing to load it"
                )
            if name == "modules.json":
                _check_modules(entry)


def _check_modules(path: Path) -> None:
    """sentence-transformers imports each module type named in modules.json by its dotted
    name: allow only its own modules, so a folder cannot name code to import."""
    try:
        modules = json.loads(path.read_text(encoding="utf-8"))
        types = [str(module["type"]) for module in modules]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ProdmatchError(f"{path}: cannot read the encoder's modules: {error}") from None
    for name in types:
        if not name.startswith("sentence_transformers."):
            raise ProdmatchError(
                f"{path}: module type '{name}' is not one of sentence-transformers' own; "
                "refusing to load it"
            )


def inside(folder: str | Path, relative: str, what: str) -> Path:
    """`relative` (a path named in the folder's JSON) resolved inside `folder`, or an error."""
    root = Path(folder).resolve()
    path = Path(relative)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ProdmatchError(
            f"{root / MATCHER_FILE}: {what} '{relative}' must be a path inside the matcher folder"
        )
    resolved = (root / path).resolve()
    if not resolved.is_relative_to(root):
        raise ProdmatchError(
            f"{root / MATCHER_FILE}: {what} '{relative}' leads outside the matcher folder"
        )
    return resolved


def part(folder: str | Path, name: str) -> Path:
    """One of the matcher's fixed sub-folders (head/, fusion/, ...), checked to lie inside."""
    return inside(folder, name, "part")


def matcher_settings(folder: str | Path) -> MatchSettings:
    """The settings a matcher was trained for, pointing at the folder itself."""
    info = read_matcher_info(folder)
    try:
        settings = MatchSettings.from_dict(info["settings"])
    except (KeyError, TypeError) as error:
        raise ProdmatchError(f"{Path(folder) / MATCHER_FILE}: bad settings: {error}") from None
    settings.model = str(Path(folder).resolve())
    if settings.image_model is not None and not _packaged_image_model(settings.image_model):
        weights = inside(folder, settings.image_model, "image_model")
        if weights.suffix != ".safetensors":
            raise ProdmatchError(f"{weights}: a matcher's image model must be a .safetensors file")
        settings.image_model = str(weights)
    return settings


def _packaged_image_model(name: str) -> bool:
    """Whether `name` is the packaged image model's name rather than a path."""
    from prodmatch.images.encoder import DEFAULT_IMAGE_MODEL, LITE0_ALIASES

    return name.lower() in LITE0_ALIASES | {DEFAULT_IMAGE_MODEL}


def check_output(target: Path, *, overwrite: bool = False) -> None:
    """Refuse to write a matcher where it would destroy what the user did not offer: a file,
    a folder of theirs, or (without `overwrite`) a matcher already there."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ProdmatchError(f"{target}: exists and is not a folder; choose another output")
    if not target.is_dir() or not any(target.iterdir()):
        return
    if not is_matcher(target):
        raise ProdmatchError(
            f"{target}: a folder that is not a prodmatch matcher and not empty; "
            "choose a new or empty folder for the matcher"
        )
    foreign = sorted(p.name for p in target.iterdir() if p.name not in MATCHER_ENTRIES)
    if foreign:
        raise ProdmatchError(
            f"{target}: the matcher folder also holds {', '.join(foreign[:3])}, which is not "
            "part of a matcher; move it out or choose another output"
        )
    if not overwrite:
        raise ProdmatchError(
            f"{target}: a matcher is already there; pass --overwrite to replace it"
        )


def write_matcher(
    staging: Path, target: Path, info: dict[str, Any], card: str, *, overwrite: bool = False
) -> Path:
    """Finish a matcher built in `staging` (encoder/ and head/ already there) and move it to
    `target` by renames, so `target` is never a half-written matcher: an old matcher (only
    with `overwrite`) is moved aside first and put back if the new one cannot take its place."""
    atomic_write_text(
        staging / MATCHER_FILE,
        json.dumps({"format": MATCHER_FORMAT, **info}, indent=2, default=str) + "\n",
    )
    atomic_write_text(staging / CARD_FILE, card)
    check_output(target, overwrite=overwrite)
    aside = None
    if target.is_dir():
        aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, aside)  # onto the empty folder just made: a fresh, unused name
    try:
        os.replace(staging, target)
    except OSError as error:
        if aside is not None:
            os.replace(aside, target)
        raise ProdmatchError(f"{target}: cannot write the matcher: {error}") from error
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
    return target
