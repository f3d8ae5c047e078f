"""The linker with an image column: photos encoded beside the text, pair signals, bad files
that never stop a run, catalogs without the column, and photos shared in dedup."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from prodmatch.data import catalog_from_frame, load_catalog
from prodmatch.errors import ProdmatchError
from prodmatch.images import ImageEncoder, ImageWarning
from prodmatch.linker import Linker, output_columns
from prodmatch.settings import MatchSettings
from prodmatch.synth.pictures import MultimodalCatalogs, generate_multimodal

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """One torch thread: the machine is small and shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> MultimodalCatalogs:
    """About 30 small product photos beside left.csv and right.csv (relative paths)."""
    return generate_multimodal(20, 2, tmp_path_factory.mktemp("mm"), missing_rate=0.1, size=64)


def _linker(model: Path, **options: object) -> Linker:
    settings = MatchSettings(model=str(model), image_column="image", **options)  # type: ignore[arg-type]
    return Linker(settings, image_encoder=ImageEncoder(threads=1), progress=False)


@pytest.mark.slow
def test_image_column_adds_photo_signals_and_stays_out_of_the_text(
    world: MultimodalCatalogs, tiny_model: Path
) -> None:
    left = load_catalog(world.folder / "left.csv")
    right = load_catalog(world.folder / "right.csv")
    linker = _linker(tiny_model)
    left_side, _ = linker.prepare(left, right)
    assert not any("images/" in text or "[image]" in text for text in left_side.texts)
    assert left_side.image_vectors is not None and left_side.has_image is not None
    assert left_side.image_vectors.shape == (len(left), 1280)
    expected = (world.left["image"] != "").to_numpy()  # relative paths found via left.csv
    assert left_side.has_image.tolist() == expected.tolist()
    pairs = linker.match(left, right)
    assert {"image", "image_both"} <= set(output_columns(pairs))
    both = pairs["image_both"] == 1.0
    assert both.any() and (pairs.loc[~both, "image"] == 0.0).all()
    assert pairs.loc[both, "image"].between(-1.0, 1.0001).all()
    gold = set(zip(world.gold["left_id"], world.gold["right_id"], strict=True))
    is_gold = [p in gold for p in zip(pairs["left_id"], pairs["right_id"], strict=True)]
    true_pairs = pairs[both & np.asarray(is_gold)]
    other = pairs[both & ~np.asarray(is_gold)]
    assert true_pairs["image"].mean() > other["image"].mean()  # one product's photos agree


def test_without_image_column_nothing_changes(world: MultimodalCatalogs, tiny_model: Path) -> None:
    left = load_catalog(world.folder / "left.csv", columns=["title", "brand", "price"])
    right = load_catalog(world.folder / "right.csv", columns=["title", "brand", "price"])
    pairs = Linker(MatchSettings(model=str(tiny_model)), progress=False).match(left, right)
    assert output_columns(pairs) == [
        *["left_id", "right_id", "score", "rank", "decision"],
        *["dense", "sparse", "code_agreement", "code_variant"],
    ]


def test_no_image_code_is_imported_without_an_image_column(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        import pandas as pd
        from prodmatch import Linker, MatchSettings, catalog_from_frame
        frame = pd.DataFrame({"id": ["1", "2"], "title": ["red kettle", "red kettle 2l"],
                              "image": ["a.jpg", "b.jpg"]})
        cat = catalog_from_frame(frame)
        linker = Linker(MatchSettings(scorer="tfidf", retrieval="sparse"), progress=False)
        pairs, _ = linker.dedupe(cat)
        assert "image" not in pairs and "same_photo" not in pairs
        loaded = sorted(m for m in sys.modules if m.startswith("prodmatch.images"))
        assert not loaded, loaded
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr


def test_catalog_without_the_image_column_is_a_one_line_error(tiny_model: Path) -> None:
    catalog = catalog_from_frame(pd.DataFrame({"id": ["1"], "title": ["kettle"]}), name="shop-a")
    with pytest.raises(ProdmatchError, match="shop-a: no image column 'image'") as caught:
        _linker(tiny_model).prepare(catalog, catalog)
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_missing_corrupt_and_offline_images_are_counted_and_never_stop(
    world: MultimodalCatalogs, tiny_model: Path, tmp_path: Path
) -> None:
    good = [world.folder / p for p in world.left["image"] if p][:3]
    (tmp_path / "corrupt.jpg").write_bytes(b"<html>404 not found</html>")
    with Image.open(good[0]) as image:  # a truncated JPEG passes the cheap check
        image.save(tmp_path / "whole.jpg", quality=90)
    data = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 3])
    frame = pd.DataFrame(
        {
            "id": [f"L{i}" for i in range(7)],
            "title": ["kettle red", "kettle blue", "phone", "lamp", "mug", "tv", "watch"],
            "image": [
                str(good[0]),
                "gone.jpg",
                "corrupt.jpg",
                "",
                f"{good[1]}|gone-too.png",
                "http://127.0.0.1:9/photo.jpg",
                "truncated.jpg",
            ],
        }
    )
    frame.to_csv(tmp_path / "shop.csv", index=False)
    catalog = load_catalog(tmp_path / "shop.csv")
    linker = _linker(tiny_model)
    with pytest.warns(ImageWarning) as caught:
        side, _ = linker.prepare(catalog)
    messages = [str(w.message) for w in caught if w.category is ImageWarning]
    assert len(messages) == 1, messages
    assert messages[0].startswith("shop: 5 of 7 images missing or unreadable")
    assert "5 of 7 listings have no usable photo" in messages[0]
    assert side.has_image is not None
    assert side.has_image.tolist() == [True, False, False, False, True, False, False]
    with pytest.warns(ImageWarning):
        pairs = linker.match(catalog, catalog)  # warned again: each run reports its catalogs
    assert len(pairs) > 0


@pytest.mark.slow
def test_dedupe_flags_a_reused_photo_without_merging_on_it(
    world: MultimodalCatalogs, tiny_model: Path, tmp_path: Path
) -> None:
    photos = [world.folder / p for p in world.left["image"] if p]
    frame = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4", "5"],
            "title": [
                "Acme kettle 1.7 l red KT100",
                "Acme kettle 1.7 l blue KT100",  # a variant shown with the same stock photo
                "Zenith 55 inch television ZX55",
                "Orbit smartwatch 44 mm OW44",
                "Quasar blender QB9",  # a seller who copied the television's photo
            ],
            "image": [str(photos[i]) for i in (0, 0, 1, 2, 1)],
        }
    )
    catalog = catalog_from_frame(frame, name="shop")
    settings = {"scorer": "tfidf", "retrieval": "sparse", "k": 2}
    pairs, clusters = _linker(tiny_model, **settings).dedupe(catalog, threshold=0.99)
    flagged = pairs[pairs["same_photo"]]
    assert flagged[["left_id", "right_id"]].values.tolist() == [["1", "2"], ["3", "5"]]
    assert not flagged["decision"].any()  # the photo alone merges nothing
    assert flagged["score"].notna().all()  # found by photo, scored like any candidate
    assert clusters["cluster_id"].nunique() == 5
    for _, group in pairs.groupby("left"):
        assert group["rank"].tolist() == list(range(1, len(group) + 1))
    assert "same_photo" in output_columns(pairs)
