"""Where torch runs: the CPU, or a CUDA GPU when one is there and asked for.

Nothing in prodmatch needs a GPU; the CPU path is the reference and the tested one. `auto`
(the default) takes CUDA when torch sees a device, else the CPU, so the same command runs
everywhere. On CUDA the transformers run under mixed precision (bfloat16 where the GPU has it,
else float16 for inference only, as float16 training would need loss scaling); on the CPU
nothing changes, so CPU results are the same as before devices existed. The ONNX engines run
on the CPU whatever the device. A run on a GPU is not bit-for-bit repeatable (its kernels and
its random state, which checkpoints do not keep, differ from the CPU's); the CPU run is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from prodmatch.errors import ProdmatchError

if TYPE_CHECKING:
    import torch

__all__ = ["Device", "autocast", "resolve_device"]

Device = Literal["auto", "cpu", "cuda"]


def resolve_device(requested: str = "auto") -> str:
    """``cpu`` or ``cuda`` for the requested device; cuda without CUDA is one line."""
    if requested == "cpu":
        return "cpu"
    if requested not in ("auto", "cuda"):
        raise ProdmatchError(f"device must be auto, cpu or cuda; got '{requested}'")
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if requested == "cuda":
        raise ProdmatchError(
            "device cuda was asked for, but torch sees no CUDA GPU (a CPU-only torch build, or "
            "no driver); use --device cpu or auto"
        )
    return "cpu"


def mixed_precision(device: str, *, training: bool = False) -> torch.dtype | None:
    """The autocast dtype on `device`: None (full float32) on the CPU, bfloat16 on a GPU that
    has it, float16 on an older GPU for inference (None for training there)."""
    if device != "cuda":
        return None
    import torch

    if torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None if training else torch.float16


@contextlib.contextmanager
def autocast(device: str, *, training: bool = False) -> Iterator[None]:
    """Run the block under mixed precision on a GPU; a no-op on the CPU."""
    dtype = mixed_precision(device, training=training)
    if dtype is None:
        yield
        return
    import torch

    with torch.autocast(device_type=device, dtype=dtype):
        yield
