"""A trained matcher as one self-describing folder.

    my-matcher/
      prodmatch.json   format, the MatchSettings to use, how it was trained, its metrics
      encoder/         the (fine-tuned) sentence-transformers encoder, weights in safetensors
      head/            projection head and pair classifier (safetensors + JSON)
      fusion/          with photos: the head joining text and image vectors (safetensors + JSON)
      image/           with a trained image block: the image encoder's weights (safetensors)
      lexical/         the TF-IDF vocabulary and IDF of the training catalogs, so the `sparse`
                       signal is computed alike in training and matching (JSON + safetensors)
      cross/           with --cross-encoder: the cross-encoder that re-reads doubtful pairs and
                       its blend with the pair classifier (safetensors + JSON)
      README.md        a model card

Every command that takes `--model` accepts such a folder: its settings become the defaults,
its encoder encodes and its head scores. Nothing in it is pickled, so a folder from elsewhere
can be loaded without running its code.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from prodmatch.errors import ProdmatchError
from prodmatch.settings import MatchSettings

MATCHER_FILE = "prodmatch.json"
MATCHER_FORMAT = "prodmatch-matcher/1"
ENCODER_DIR = "encoder"
HEAD_DIR = "head"
FUSION_DIR = "fusion"
IMAGE_DIR = "image"
CROSS_DIR = "cross"
LEXICAL_DIR = "lexical"


def is_matcher(path: str | Path) -> bool:
    return (Path(path) / MATCHER_FILE).is_file()


def read_matcher_info(folder: str | Path) -> dict[str, Any]:
    """The matcher's description, checked for its format."""
    path = Path(folder) / MATCHER_FILE
    try:
        info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ProdmatchError(f"{path}: cannot read the matcher: {error}") from error
    if info.get("format") != MATCHER_FORMAT:
        raise ProdmatchError(f"{path}: not a {MATCHER_FORMAT} folder")
    return info


def matcher_settings(folder: str | Path) -> MatchSettings:
    """The settings a matcher was trained for, pointing at the folder itself."""
    info = read_matcher_info(folder)
    settings = MatchSettings.from_dict(info["settings"])
    settings.model = str(Path(folder).resolve())
    if settings.image_model is not None and not Path(settings.image_model).is_absolute():
        settings.image_model = str((Path(folder) / settings.image_model).resolve())
    return settings


def write_matcher(staging: Path, target: Path, info: dict[str, Any], card: str) -> Path:
    """Finish a matcher built in `staging` (encoder/ and head/ already there) and move it to
    `target` in one rename, so `target` is never a half-written matcher."""
    (staging / MATCHER_FILE).write_text(
        json.dumps({"format": MATCHER_FORMAT, **info}, indent=2, default=str) + "\n",
        encoding="utf-8",
    )
    (staging / "README.md").write_text(card, encoding="utf-8")
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
    return target
