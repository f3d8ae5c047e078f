"""`prodmatch review`: label candidate pairs on a local web page, hardest first."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prodmatch.cli.app import _settings, app, console, friendly_errors
from prodmatch.cli.options import (
    Columns,
    DeviceOpt,
    EncodingOpt,
    IdCol,
    ImageCol,
    Model,
    PresetOpt,
    RetrievalOpt,
    ScorerOpt,
    Sep,
    SettingsOpt,
    _Command,
)
from prodmatch.cli.show import _load_pair


@app.command(cls=_Command)
@friendly_errors
def review(
    left: Path,
    right: Path,
    labels: Annotated[
        Path,
        typer.Option(
            help="Labels CSV (ltable_id,rtable_id,label), appended to as you label; an "
            "existing one is continued. Pairs marked unsure go to <labels>.unsure.csv."
        ),
    ],
    sep: Sep = None,
    id_col: IdCol = "id",
    encoding: EncodingOpt = None,
    columns: Columns = None,
    model: Model = None,
    preset: PresetOpt = None,
    device: DeviceOpt = None,
    scorer: ScorerOpt = None,
    retrieval: RetrievalOpt = None,
    image_col: ImageCol = None,
    settings: SettingsOpt = None,
    k: Annotated[int | None, typer.Option(help="Candidates per listing and retriever.")] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8765,
    retrain_every: Annotated[
        int, typer.Option(help="Retrain the ranking head every N labels (0: never).")
    ] = 20,
    random_share: Annotated[
        float, typer.Option(help="Share of pairs drawn at random, for unbiased estimates.")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the random picks.")] = 0,
) -> None:
    """Open a page on http://127.0.0.1:PORT that shows one candidate pair at a time, the
    least certain first: y same, n different, u unsure, Backspace undo, arrows move.

    Every label is written to --labels the moment it is given; the file trains a matcher
    as it is (`prodmatch train --left LEFT --right RIGHT --train LABELS --mode head -o M`).
    """
    from prodmatch.errors import ProdmatchError
    from prodmatch.io import check_outputs
    from prodmatch.linker import Linker
    from prodmatch.review.active import QueueOptions
    from prodmatch.review.session import ReviewSession

    if not 0 <= random_share < 1:
        raise ProdmatchError(f"--random-share must be in [0, 1), got {random_share}")
    check_outputs([left, right, settings], [labels])
    config = _settings(
        settings,
        model,
        scorer,
        columns,
        retrieval=retrieval,
        k=k,
        image_column=image_col,
        preset=preset,
        device=device,
    )
    left_cat, right_cat = _load_pair(left, right, sep, id_col, encoding)
    options = QueueOptions(random_share=random_share, retrain_every=retrain_every, seed=seed)
    session = ReviewSession(Linker(config), left_cat, right_cat, labels, options)
    from prodmatch.review.app import HOST, serve

    console.print(
        f"{len(session.pool)} candidate pairs, {len(session.store)} labelled so far; "
        f"open http://{HOST}:{port}/ (Ctrl-C to stop; every label is already saved)",
        soft_wrap=True,
    )
    serve(session, port)
