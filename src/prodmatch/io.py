"""Atomic writes: a file a user keeps is either the old one or the complete new one, never half.

Each write goes to a temporary file in the same folder, is flushed to disk, then renamed over
the target; rename within one file system is atomic.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from prodmatch.errors import ProdmatchError, first_line

TABLE_FORMATS = (".csv", ".tsv", ".parquet", ".jsonl")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, else is removed."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise ProdmatchError(f"{target}: cannot write here: {error.strerror or error}") from error
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, _mode_for(target))  # mkstemp makes 0600: an output must read like any file
        yield tmp
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def sync_dir(folder: Path) -> None:
    """Flush a folder's entries (new names, renames) to disk, so a new or renamed file
    survives a crash too; a no-op where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _mode_for(target: Path) -> int:
    """The replaced file's permissions, or what a plain `open` would give a new file."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(target.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_weights(module: Any, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """A torch module's weights as one safetensors file, written atomically (never a pickle);
    `extra` tensors (named apart from the weights) are stored beside them."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
    tensors.update(extra or {})
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp))
    return Path(path)


def load_weights(module: Any, path: str | Path, what: str = "weights") -> None:
    """Load a safetensors file (as `save_weights` writes it) into `module`: never a pickle,
    and a missing, damaged or ill-fitting file is one line naming it, not a traceback."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        module.load_state_dict(load_file(str(path)))
    except (OSError, ValueError, RuntimeError, SafetensorError) as error:
        raise ProdmatchError(f"{path}: cannot load the {what}: {first_line(error)}") from None


def check_outputs(
    inputs: Sequence[str | Path | None],
    outputs: Sequence[str | Path | None],
    work_dir: str | Path | None = None,
) -> None:
    """Refuse to write over what a run reads: an output that is one of the inputs (the same
    file by another name too), two outputs that are one file, or a work folder holding an
    input. Checked before any work, so a typo never costs the user a catalog."""
    sources = [Path(p) for p in inputs if p is not None]
    targets = [Path(p) for p in outputs if p is not None]
    for i, target in enumerate(targets):
        for source in sources:
            if _same_file(target, source):
                raise ProdmatchError(
                    f"{target}: this output is the input {source}; writing it would destroy "
                    "the input, so choose another output"
                )
        for other in targets[i + 1 :]:
            if _same_file(target, other):
                raise ProdmatchError(f"{target}: given as two different outputs ({other})")
    if work_dir is not None:
        work = Path(work_dir).resolve()
        for source in sources:
            if source.resolve().is_relative_to(work):
                raise ProdmatchError(
                    f"{work_dir}: the work folder holds the input {source}; give another --work-dir"
                )


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: by identity when both exist (links, other spellings),
    else by their resolved paths."""
    with contextlib.suppress(OSError):
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV, TSV, Parquet or JSON Lines, chosen by the file's suffix."""
    target = Path(path)
    writer = _writer(target.suffix.lower())
    with atomic_path(target) as tmp:
        writer(frame, tmp)
    return target


def _writer(suffix: str) -> Callable[[pd.DataFrame, Path], None]:
    if suffix == ".csv":
        return lambda f, p: f.to_csv(p, index=False)
    if suffix == ".tsv":
        return lambda f, p: f.to_csv(p, index=False, sep="\t")
    if suffix == ".parquet":
        return lambda f, p: f.to_parquet(p, index=False)
    if suffix == ".jsonl":
        return lambda f, p: f.to_json(p, orient="records", lines=True, force_ascii=False)
    raise ProdmatchError(f"cannot write '{suffix}' files; use one of {', '.join(TABLE_FORMATS)}")


def read_format_json(path: Path, expected_format: str, what: str) -> dict[str, Any]:
    """A JSON object that declares ``"format": expected_format``, or one clear error.

    Every saved part of a matcher (heads, fusion) starts with such a file; checking the format
    first turns a wrong or damaged folder into one line instead of a KeyError later.
    """
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ProdmatchError(f"{path}: cannot read the {what} config: {error}") from error
    if not isinstance(config, dict) or config.get("format") != expected_format:
        raise ProdmatchError(f"{path}: not a prodmatch {what} (expected format {expected_format})")
    return config
