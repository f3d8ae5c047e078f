"""Projection head, pair classifier, and their safetensors + JSON folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from prodmatch.errors import ProdmatchError
from prodmatch.matcher.head import MatchHead, PairClassifier, ProjectionHead


def _head(n_extra: int = 3, residual: bool = True) -> MatchHead:
    torch.manual_seed(0)
    projection = ProjectionHead(16, None if residual else 8, hidden_dim=12)
    with torch.no_grad():  # move off the identity so the round trip has something to keep
        for parameter in projection.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    classifier = PairClassifier(projection.out_dim, n_extra, hidden_dim=5)
    columns = ("dense", "sparse", "code_agreement")[:n_extra]
    return MatchHead(projection, classifier, extra_columns=columns, threshold=0.42)


def test_projection_output_is_normalised_and_starts_as_the_identity() -> None:
    x = torch.randn(5, 16)
    head = ProjectionHead(16)
    assert head.residual and head.out_dim == 16
    torch.testing.assert_close(head(x), torch.nn.functional.normalize(x, dim=-1))
    narrow = ProjectionHead(16, 4)
    assert not narrow.residual
    out = narrow(x)
    assert out.shape == (5, 4)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(5))
    with pytest.raises(ValueError, match="residual"):
        ProjectionHead(16, 4, residual=True)


def test_classifier_reads_vector_blocks_cosine_and_extra_columns() -> None:
    u = torch.nn.functional.normalize(torch.randn(4, 6), dim=-1)
    v = torch.nn.functional.normalize(torch.randn(4, 6), dim=-1)
    extra = torch.randn(4, 2)
    features = PairClassifier.input_rows(u, v, extra)
    assert features.shape == (4, 4 * 6 + 1 + 2)
    torch.testing.assert_close(features[:, 24], (u * v).sum(dim=1))
    for hidden in (0, 7):  # logistic regression and MLP
        logits = PairClassifier(6, 2, hidden_dim=hidden)(u, v, extra)
        assert logits.shape == (4,)
    with pytest.raises(ValueError, match="extra"):
        PairClassifier(6, 2)(u, v)


def test_save_and_load_give_identical_outputs(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    left, right = rng.normal(size=(2, 9, 16)).astype(np.float32)
    extra = rng.normal(size=(9, 3)).astype(np.float32)
    for residual in (True, False):
        head = _head(residual=residual)
        folder = head.save(tmp_path / f"head-{residual}")
        loaded = MatchHead.load(folder)
        assert np.array_equal(loaded.score(left, right, extra), head.score(left, right, extra))
        assert np.array_equal(loaded.project(left), head.project(left))
        assert loaded.extra_columns == head.extra_columns and loaded.threshold == 0.42
        assert loaded.projection.config() == head.projection.config()


def test_folder_holds_only_json_and_safetensors(tmp_path: Path) -> None:
    folder = _head().save(tmp_path / "head")
    assert sorted(p.name for p in folder.iterdir()) == [
        "classifier.safetensors",
        "head.json",
        "projection.safetensors",
    ]
    config = json.loads((folder / "head.json").read_text())
    assert config["projection"] == {"in_dim": 16, "out_dim": 16, "hidden_dim": 12, "residual": True}
    assert config["classifier"] == {"dim": 16, "n_extra": 3, "hidden_dim": 5}
    assert config["extra_columns"] == ["dense", "sparse", "code_agreement"]


def test_a_head_saved_with_the_old_codes_name_reads_code_agreement(tmp_path: Path) -> None:
    """Matchers written before the rename name the agreement sign "codes": they still load,
    and read the linker's "code_agreement" column for it (not a missing column)."""
    folder = _head().save(tmp_path / "head")
    config = json.loads((folder / "head.json").read_text())
    config["extra_columns"] = ["dense", "sparse", "codes"]
    (folder / "head.json").write_text(json.dumps(config))
    loaded = MatchHead.load(folder)
    assert loaded.extra_columns == ("dense", "sparse", "code_agreement")
    frame = pd.DataFrame({"dense": [0.5], "sparse": [0.25], "code_agreement": [-1]})
    assert loaded.extra_matrix(frame).tolist() == [[0.5, 0.25, -1.0]]


def test_broken_folders_fail_with_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProdmatchError, match="cannot read the head config"):
        MatchHead.load(tmp_path / "nothing")
    folder = _head().save(tmp_path / "head")
    (folder / "classifier.safetensors").unlink()
    with pytest.raises(ProdmatchError, match="cannot load the head"):
        MatchHead.load(folder)
    config = json.loads((folder / "head.json").read_text())
    config["format"] = "something-else"
    (folder / "head.json").write_text(json.dumps(config))
    with pytest.raises(ProdmatchError, match="not a prodmatch head"):
        MatchHead.load(folder)


def test_weights_of_another_size_are_refused(tmp_path: Path) -> None:
    folder = _head().save(tmp_path / "head")
    config = json.loads((folder / "head.json").read_text())
    config["classifier"]["hidden_dim"] = 6
    (folder / "head.json").write_text(json.dumps(config))
    with pytest.raises(ProdmatchError, match="cannot load the head"):
        MatchHead.load(folder)
