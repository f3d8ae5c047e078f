"""`prodmatch train`: fine-tune a matcher on labelled pairs or unlabelled catalogs."""

from __future__ import annotations

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
    Columns,
    DeviceOpt,
    EncodingOpt,
    IdCol,
    ImageCol,
    Model,
    PresetOpt,
    Sep,
    TrainClassifier,
    TrainLoss,
    TrainMode,
    _Command,
)
from prodmatch.cli.show import (
    _load_pair,
)
from prodmatch.errors import ProdmatchError


@app.command(cls=_Command)
@friendly_errors
def train(
    folder: Annotated[
        Path | None, typer.Argument(help="A DeepMatcher folder (tableA/B, train/valid).")
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The matcher folder to write.")
    ] = Path("matcher"),
    left: Annotated[Path | None, typer.Option(help="Left catalog (instead of FOLDER).")] = None,
    right: Annotated[Path | None, typer.Option(help="Right catalog (instead of FOLDER).")] = None,
    pairs: Annotated[
        Path | None, typer.Option(help="Labelled training pairs: ltable_id, rtable_id, label.")
    ] = None,
    valid: Annotated[Path | None, typer.Option(help="Labelled validation pairs.")] = None,
    pairs_cols: Annotated[
        str | None,
        typer.Option(
            help="--pairs and --valid columns 'LEFT,RIGHT' or 'LEFT,RIGHT,LABEL'.",
            show_default="ltable_id,rtable_id,label",
        ),
    ] = None,
    valid_split: Annotated[
        str,
        typer.Option(
            help="unseen: choose thresholds and epochs on validation pairs of products "
            "training never saw, moving products out of the training pairs where the given "
            "ones are too few (what matching new products looks like); given: on the "
            "validation pairs as given. Both report seen and unseen F1.",
        ),
    ] = "unseen",
    refit: Annotated[
        bool,
        typer.Option(
            "--refit/--no-refit",
            help="Once everything is chosen on validation, train the projection and classifier "
            "again on all the given training pairs (those moved out for unseen-product "
            "validation too; the validation pairs given are not trained on), with the epochs "
            "chosen and the threshold restated for their match share; the validation F1 "
            "shown was measured before. Full mode: "
            "only the head is refitted; the fine-tuned encoder, a fusion head and a "
            "cross-encoder keep the split's pairs.",
        ),
    ] = True,
    mode: Annotated[
        TrainMode,
        typer.Option(help="full: fine-tune the encoder too; head: only head and classifier."),
    ] = "full",
    loss: Annotated[
        TrainLoss | None,
        typer.Option(
            help="supcon (default), infonce, or selfsup (no labels; full mode). In head mode "
            "the projection head's loss."
        ),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(help="Fine-tuning epochs, at most (default 5); head mode: projection (10)."),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(help="Listings (supcon) or pairs per step (default 32; head mode 128)."),
    ] = None,
    lr: Annotated[
        float | None, typer.Option(help="Encoder learning rate (default 5e-5; full mode only).")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option(help="Contrastive temperature (default 0.07).")
    ] = None,
    max_seq_length: Annotated[
        int | None, typer.Option(help="Tokens per listing when fine-tuning (default 64).")
    ] = None,
    freeze_layers: Annotated[
        int | None,
        typer.Option(
            help="Lower transformer layers kept fixed, their output cached per listing so each "
            "step runs only the layers above (default 0; full mode only)."
        ),
    ] = None,
    queue_size: Annotated[
        int | None,
        typer.Option(
            help="Also contrast each batch with this many recent embeddings of a momentum "
            "encoder (MoCo; default 0 = off; supcon/infonce, full mode only)."
        ),
    ] = None,
    momentum: Annotated[
        float | None,
        typer.Option(help="Momentum of the queue's encoder (default 0.995; with --queue-size)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same model.")] = 0,
    classifier: Annotated[
        TrainClassifier,
        typer.Option(
            help="mlp: projection head and MLP on the vectors; prior: a logistic regression "
            "pulled toward the untrained hybrid scorer (from tens of labels, e.g. from "
            "`prodmatch review`, to thousands); auto: prior in head mode (unless --epochs, "
            "--batch-size or --temperature ask for a projection head), mlp in full mode.",
        ),
    ] = "auto",
    sep: Sep = None,
    id_col: IdCol = "id",
    encoding: EncodingOpt = None,
    columns: Columns = None,
    model: Model = None,
    preset: PresetOpt = None,
    device: DeviceOpt = None,
    image_col: ImageCol = None,
    train_image_block: Annotated[
        bool,
        typer.Option(
            "--train-image-block",
            help="With --image-col: also fine-tune the image encoder's last block with the "
            "fusion head, on augmented photos (slow: a forward pass per photo and epoch).",
        ),
    ] = False,
    cross_encoder: Annotated[
        bool,
        typer.Option(
            "--cross-encoder",
            help="Also train a cross-encoder that re-reads the pairs the classifier is unsure "
            "of (the most accurate matcher; ~7 min an epoch per 6,000 pairs on 2 cores).",
        ),
    ] = False,
    cross_epochs: Annotated[int, typer.Option(help="Cross-encoder epochs (at most).")] = 3,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace a matcher already at --output (any other non-empty folder is refused).",
        ),
    ] = False,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart",
            help="Start over: discard the checkpoints an interrupted run left in "
            "OUTPUT.partial/ instead of resuming from them.",
        ),
    ] = False,
) -> None:
    """Train a matcher on labelled pairs (or none, with --loss selfsup); resumable.

    With --image-col, a fusion head joining text and photo vectors is trained with the same
    loss (the image tower frozen unless --train-image-block) and saved in fusion/. With
    --cross-encoder, a cross-encoder is trained last and saved in cross/.
    """
    from prodmatch.io import check_outputs
    from prodmatch.train.api import require_labels, train_matcher
    from prodmatch.train.cross_trainer import CrossTrainingConfig
    from prodmatch.train.fusion_trainer import FusionTrainingConfig
    from prodmatch.train.options import TrainOptions, training_configs
    from prodmatch.train.unseen import VALID_SPLITS

    check_outputs([folder, left, right, pairs, valid], [output], work_dir=output)
    if valid_split not in VALID_SPLITS:
        raise ProdmatchError(f"--valid-split must be unseen or given, got '{valid_split}'")

    options = TrainOptions(
        loss,
        epochs,
        batch_size,
        temperature,
        seed,
        lr,
        max_seq_length,
        freeze_layers,
        queue_size=queue_size,
        momentum=momentum,
        classifier=classifier,
    )
    config, head_config = training_configs(mode, options)
    left_cat, right_cat, train_pairs, valid_pairs = _training_data(
        folder, left, right, pairs, valid, sep, id_col, encoding, pairs_cols
    )
    require_labels(train_pairs, config.loss)
    base = _settings(
        None, model, None, columns, image_column=image_col, preset=preset, device=device
    )
    if train_image_block and base.image_column is None:
        raise ProdmatchError("--train-image-block needs the photo column: pass --image-col")
    report = train_matcher(
        left_cat,
        right_cat,
        train_pairs,
        valid_pairs,
        output,
        mode=mode,  # type: ignore[arg-type]
        settings=base,
        fine_tune_config=config,
        head_config=head_config,
        fusion_config=FusionTrainingConfig(
            loss=config.loss, seed=seed, image_block=train_image_block
        ),
        cross_config=CrossTrainingConfig(epochs=cross_epochs, seed=seed) if cross_encoder else None,
        overwrite=overwrite,
        restart=restart,
        valid_split=valid_split,  # type: ignore[arg-type]
        refit=refit,
    )
    head = report.metrics.get("head", {})
    cross = report.metrics.get("cross_encoder", {})
    console.print(
        f"matcher -> {report.folder} in {report.seconds:.0f} s"
        + (f"; validation F1 {head['f1']:.4f}" if "f1" in head else "")
        + (f", with the cross-encoder {cross['blend_f1']:.4f}" if cross else "")
        + _parts_text(head)
    )
    _end_to_end_lines(report.metrics)
    _refit_line(report.metrics)


def _training_data(
    folder: Path | None,
    left: Path | None,
    right: Path | None,
    pairs: Path | None,
    valid: Path | None,
    sep: str | None,
    id_col: str,
    encoding: str | None = None,
    pairs_cols: str | None = None,
) -> tuple[Any, Any, Any, Any]:
    from prodmatch.data import load_deepmatcher, load_pairs, parse_pair_cols

    if folder is not None:
        dataset = load_deepmatcher(folder, encoding=encoding)
        return dataset.left, dataset.right, dataset.train, dataset.valid
    if left is None or right is None:
        raise ProdmatchError("give a DeepMatcher folder, or --left and --right catalogs")
    left_cat, right_cat = _load_pair(left, right, sep, id_col, encoding)

    def read(path: Path | None) -> Any:
        if path is None:
            return None
        return load_pairs(
            path,
            left_ids=left_cat.ids,
            right_ids=right_cat.ids,
            sep=sep,
            cols=parse_pair_cols(pairs_cols, "--pairs-cols"),
            encoding=encoding,
        )

    return left_cat, right_cat, read(pairs), read(valid)


def _parts_text(head: dict[str, Any]) -> str:
    """ "; unseen products F1 ..., seen ..." for the parts that have matches."""
    said = [
        f"{name} products {head[name]['f1']:.4f} ({head[name]['pairs']:.0f} pairs)"
        for name in ("unseen", "seen")
        if "f1" in head.get(name, {})
    ]
    return f"; on {', '.join(said)}" if said else ""


def _end_to_end_lines(metrics: dict[str, Any]) -> None:
    """The threshold chosen on the validation listings' candidates, and a warning line when
    the matcher does worse there than no training."""
    from prodmatch.matcher import worse_than_untrained

    record = metrics.get("end_to_end")
    if not record:
        return
    console.print(
        f"threshold {record['threshold']:.4f}: {record['how']} "
        f"(F1 {record['trained_f1']:.4f}; untrained default {record['untrained_f1']:.4f})",
        soft_wrap=True,
    )
    line = worse_than_untrained({"metrics": metrics})
    if line is not None:
        console.print(f"[yellow]{line}[/]", soft_wrap=True)


def _refit_line(metrics: dict[str, Any]) -> None:
    """What the final classifier was trained on, when it was refitted after choosing."""
    from prodmatch.train.refit import refit_recipe

    refit = metrics.get("refit")
    if refit:
        console.print(
            f"refitted the classifier on {refit['pairs']} pairs ({refit['matches']} "
            f"matches) {refit_recipe(refit)}; threshold "
            f"{refit['threshold']:.4f}: {refit['threshold_how']}; the validation figures "
            "above were measured before the refit",
            soft_wrap=True,
        )
