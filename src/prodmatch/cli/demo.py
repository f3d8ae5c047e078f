"""`prodmatch demo`: generate two catalogs, match them and show the result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from prodmatch.cli.app import (
    _settings,
    app,
    console,
    friendly_errors,
)
from prodmatch.cli.options import (
    DeviceOpt,
    Model,
    PresetOpt,
    _Command,
)
from prodmatch.cli.show import (
    _reviewable,
    _show_examples,
    _show_linkage,
    _write_json,
)
from prodmatch.errors import ProdmatchError


@app.command(cls=_Command)
@friendly_errors
def demo(
    size: Annotated[int, typer.Option(help="Products in the synthetic world.")] = 600,
    seed: Annotated[int, typer.Option(help="Random seed of the generator.")] = 0,
    out: Annotated[
        Path,
        typer.Option("--output", "-o", help="Folder for the catalogs, matches and plot."),
    ] = Path("prodmatch-demo"),
    model: Model = None,
    preset: PresetOpt = None,
    device: DeviceOpt = None,
    images: Annotated[
        bool,
        typer.Option(
            "--images",
            help="Draw a product photo per listing (some right titles name no colour; only "
            "the photo does) and read them as an image column.",
        ),
    ] = False,
    languages: Annotated[
        str,
        typer.Option(
            help="The left and right shop's languages: en,en, or zh,en / en,zh for a "
            "cross-border pair (the Chinese shop prices in yuan; an exchange-rate table is "
            "written beside the catalogs and used). A multilingual --model (e5-small, "
            "use-multilingual) finds far more cross-language matches."
        ),
    ] = "en,en",
) -> None:
    """Generate two synthetic platform catalogs, match them, and show how well it went."""
    from prodmatch.evaluate.linkage import link_and_evaluate
    from prodmatch.io import write_table
    from prodmatch.linker import Linker
    from prodmatch.synth.bilingual import parse_languages

    pair = parse_languages(languages)
    if images and pair != ("en", "en"):
        raise ProdmatchError("--images draws English catalogs only; leave out --languages")
    left, right, gold = _demo_world(size, seed, out, images, pair)
    rates = _write_rates(out) if "zh" in pair else None
    config = _settings(
        None,
        model,
        None,
        None,
        image_column="image" if images else None,
        exchange_rates=rates,
        preset=preset,
        device=device,
    )
    linker = Linker(config)
    report, pairs = link_and_evaluate(left, right, gold, linker, plot=out / "scores.png")
    matches = pairs[pairs["decision"]]
    write_table(_reviewable(matches, left, right, None, config.language), out / "matches.csv")
    _show_examples(matches, left, right)
    _show_linkage("demo: platform-a x platform-b", report.to_dict())
    _write_json(out / "report.json", report.to_dict())
    console.print(f"matches -> {out / 'matches.csv'}, plot -> {out / 'scores.png'}")
    if images and config.scorer != "learned":
        console.print(
            "the photo signals (image, image_both) are in matches.csv; the untrained scorer does "
            "not weigh them: `prodmatch train --image-col image` learns to"
        )


def _write_rates(out: Path) -> str:
    """The exchange-rate table of the synthetic yuan prices, beside the catalogs."""
    from prodmatch.io import atomic_write_text
    from prodmatch.synth.bilingual import BILINGUAL_RATES

    path = out / "exchange_rates.json"
    atomic_write_text(path, json.dumps(BILINGUAL_RATES, indent=2) + "\n")
    return str(path)


def _demo_world(
    size: int, seed: int, out: Path, images: bool, languages: tuple[str, str] = ("en", "en")
) -> tuple[Any, Any, Any]:
    """The demo's two catalogs (with photos beside them if asked) and their gold mapping."""
    from prodmatch.data import catalog_from_frame
    from prodmatch.synth import write_catalogs
    from prodmatch.synth.bilingual import generate_bilingual

    if images:
        from prodmatch.synth.pictures import generate_multimodal

        world = generate_multimodal(size, seed, out)
        left_frame, right_frame, gold = world.left, world.right, world.gold
        photos = f", photos in {out / 'images'}"
    else:
        synth = generate_bilingual(size, seed=seed, languages=languages)
        write_catalogs(synth, out)
        left_frame, right_frame, gold = synth.left, synth.right, synth.gold
        photos = ""
    console.print(
        f"generated {len(left_frame)} + {len(right_frame)} listings, {len(gold)} true "
        f"matches -> {out}{photos}"
    )
    left = catalog_from_frame(left_frame, name="platform-a", source=out / "left.csv")
    right = catalog_from_frame(right_frame, name="platform-b", source=out / "right.csv")
    return left, right, gold
