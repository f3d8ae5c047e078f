"""train_matcher with product photos: the fusion head is trained, saved in fusion/, and used
again by every Linker built from the folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import torch

import prodmatch.train.classifier_stage as classifier_stage
from prodmatch.data import load_deepmatcher
from prodmatch.errors import ProdmatchError
from prodmatch.evaluate import evaluate_pairs
from prodmatch.images import FusionHead
from prodmatch.linker import Linker, output_columns
from prodmatch.matcher import matcher_settings
from prodmatch.matcher.head import MatchHead
from prodmatch.settings import MatchSettings
from prodmatch.synth import generate_pairs, write_deepmatcher
from prodmatch.synth.pictures import generate_multimodal
from prodmatch.train.api import train_matcher
from prodmatch.train.fine_tune import FineTuneConfig
from prodmatch.train.fusion_trainer import FusionTrainingConfig

# every test here encodes photos with the real EfficientNet-Lite0
pytestmark = pytest.mark.slow


TEXT_SIGNALS = ("dense", "sparse", "code_agreement", "code_variant")


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DeepMatcher folder whose tables have an image column of paths relative to it
    (about 30 small photos)."""
    target = tmp_path_factory.mktemp("mm-dm")
    world = generate_multimodal(20, 3, target, size=64)
    synth = replace(world.synth, left=world.left, right=world.right)
    write_deepmatcher(synth, generate_pairs(synth, seed=3), target)
    return target


@pytest.mark.parametrize("loss", ["supcon", "infonce"])
def test_head_mode_with_photos_writes_a_fusion_head_that_matching_uses(
    folder: Path, tiny_model: Path, tmp_path: Path, loss: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the text signals before the attribute signals: on 20 products (6 test pairs) nine
    # scalar signals overfit the classifier, and this test is about the photos
    monkeypatch.setattr(classifier_stage, "EXTRA_COLUMNS", TEXT_SIGNALS)
    data = load_deepmatcher(folder)
    out = tmp_path / "matcher"
    train_matcher(
        data.left,
        data.right,
        data.train,
        data.valid,
        out,
        mode="head",
        settings=MatchSettings(model=str(tiny_model), image_column="image"),
        fine_tune_config=FineTuneConfig(loss=loss),  # type: ignore[arg-type]
        fusion_config=FusionTrainingConfig(loss=loss, epochs=3, batch_size=16),  # type: ignore[arg-type]
        progress=False,
        valid_split="given",  # 20 products: too few to move some out of training
    )
    assert (out / "fusion" / "fusion.json").is_file()
    assert (out / "fusion" / "fusion.safetensors").is_file()
    info = json.loads((out / "prodmatch.json").read_text())
    assert info["settings"]["image_column"] == "image"
    assert info["fusion"]["loss"] == loss and "epoch" in info["metrics"]["fusion"]
    assert "fusion/" in (out / "README.md").read_text()
    head = MatchHead.load(out / "head")
    assert head.extra_columns == (*TEXT_SIGNALS, "image", "image_both")
    settings = matcher_settings(out)
    assert settings.image_column == "image" and settings.scorer == "learned"
    linker = Linker(settings, progress=False)
    assert isinstance(linker.fusion, FusionHead)
    pairs = linker.match(data.left, data.right)
    assert pairs["decision"].any() and {"image", "image_both"} <= set(output_columns(pairs))
    left_side, _ = linker.prepare(data.left, data.right)
    assert left_side.vectors is not None and left_side.vectors.shape[1] == 32  # fused, text size
    # the fused head kept is no worse on valid than text alone (the head it starts as), and
    # on the test pairs (only a few here) the matcher is no worse than its untrained encoder
    fusion = info["metrics"]["fusion"]
    assert fusion["f1"] >= fusion["text_f1"], fusion
    untrained = evaluate_pairs(
        data, Linker(MatchSettings(model=str(tiny_model), scorer="dense"), progress=False)
    )
    trained = evaluate_pairs(data, linker)
    assert trained.f1 >= untrained.f1, (trained.f1, untrained.f1)


def test_full_mode_selfsup_trains_fusion_on_augmented_views_without_labels(
    folder: Path, tiny_model: Path, tmp_path: Path
) -> None:
    data = load_deepmatcher(folder)
    out = tmp_path / "selfsup"
    report = train_matcher(
        data.left,
        data.right,
        None,
        None,
        out,
        mode="full",
        settings=MatchSettings(model=str(tiny_model), image_column="image"),
        fine_tune_config=FineTuneConfig(loss="selfsup", epochs=1, batch_size=16, max_seq_length=32),
        fusion_config=FusionTrainingConfig(loss="selfsup", epochs=2, batch_size=16),
        progress=False,
    )
    assert report.metrics["fusion"]["epoch"] == 2.0  # no valid pairs: the last epoch
    assert (out / "fusion" / "fusion.safetensors").is_file()
    settings = matcher_settings(out)
    assert settings.scorer == "hybrid" and settings.image_column == "image"
    assert Linker(settings, progress=False).match(data.left, data.right)["decision"].any()


def test_a_fusion_matcher_without_the_photo_column_is_a_clear_error(
    folder: Path, tiny_model: Path, tmp_path: Path
) -> None:
    data = load_deepmatcher(folder)
    out = tmp_path / "m"
    train_matcher(
        data.left,
        data.right,
        data.train,
        data.valid,
        out,
        mode="head",
        settings=MatchSettings(model=str(tiny_model), image_column="image"),
        fusion_config=FusionTrainingConfig(epochs=1, batch_size=16),
        progress=False,
    )
    settings = replace(matcher_settings(out), image_column=None)
    with pytest.raises(ProdmatchError, match="fuses text with product photos"):
        Linker(settings, progress=False)


def test_image_block_training_saves_a_tuned_tower_the_matcher_uses(
    folder: Path, tiny_model: Path, tmp_path: Path
) -> None:
    data = load_deepmatcher(folder)
    out = tmp_path / "block"
    config = FusionTrainingConfig(epochs=1, batch_size=16, image_block=True, block_epochs=1)
    report = train_matcher(
        data.left,
        data.right,
        data.train,
        None,  # no valid pairs: the last block epoch is kept, so the tower is saved
        out,
        mode="head",
        settings=MatchSettings(model=str(tiny_model), image_column="image"),
        fusion_config=config,
        progress=False,
        hold_out=None,  # none held out of train either
    )
    assert report.metrics["fusion"]["block_epoch"] == 1.0
    assert (out / "image" / "efficientnet-lite0.safetensors").is_file()
    info = json.loads((out / "prodmatch.json").read_text())
    assert info["settings"]["image_model"] == "image/efficientnet-lite0.safetensors"
    assert info["fusion"]["image_block"] is True
    settings = matcher_settings(out)
    assert settings.image_model == str(out.resolve() / "image" / "efficientnet-lite0.safetensors")
    linker = Linker(settings, progress=False)
    assert linker.image_encoder.spec.weights == Path(settings.image_model)
    assert Linker(settings, progress=False).match(data.left, data.right)["decision"].any()


def _judge_block_by_change(monkeypatch: pytest.MonkeyPatch, frozen: float, tuned: float) -> None:
    """Make the validation F1 of the image-block stage `frozen` while the tower's last block
    holds its starting weights and `tuned` once training has moved it, so a test decides
    which one wins; the text-only stage is judged for real."""
    from prodmatch.train import fusion_trainer

    real = fusion_trainer._Judge.f1
    start: dict[int, list[torch.Tensor]] = {}

    def f1(judge: fusion_trainer._Judge, head: FusionHead) -> float:
        live = judge.table.live if judge.table is not None else None
        if live is None:
            return real(judge, head)
        block = [p for p in live.tower.parameters() if p.requires_grad]
        first = start.setdefault(id(live.tower), [p.detach().clone() for p in block])
        moved = any(not torch.equal(a, b) for a, b in zip(first, block, strict=True))
        return tuned if moved else frozen

    monkeypatch.setattr(fusion_trainer._Judge, "f1", f1)


@pytest.mark.parametrize("tuned_is_better", [True, False])
def test_image_block_is_kept_only_when_it_beats_the_frozen_tower_on_valid(
    folder: Path,
    tiny_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tuned_is_better: bool,
) -> None:
    tuned_f1 = 0.6 if tuned_is_better else 0.4
    _judge_block_by_change(monkeypatch, frozen=0.5, tuned=tuned_f1)
    data = load_deepmatcher(folder)
    out = tmp_path / "judged"
    config = FusionTrainingConfig(epochs=1, batch_size=16, image_block=True, block_epochs=1)
    report = train_matcher(
        data.left,
        data.right,
        data.train,
        data.valid,
        out,
        mode="head",
        settings=MatchSettings(model=str(tiny_model), image_column="image"),
        fusion_config=config,
        progress=False,
    )
    fusion = report.metrics["fusion"]
    saved = matcher_settings(out)
    if tuned_is_better:
        assert fusion["block_epoch"] == 1.0 and fusion["block_f1"] == tuned_f1
        assert (out / "image" / "efficientnet-lite0.safetensors").is_file()
        assert saved.image_model == str(out.resolve() / "image" / "efficientnet-lite0.safetensors")
    else:  # the frozen tower (epoch 0) is kept: no tuned weights saved or used
        assert fusion["block_epoch"] == 0.0 and fusion["block_f1"] == 0.5
        assert not (out / "image").exists()
        assert saved.image_model is None
