"""The README.md a matcher folder carries: what it is, how it was made, how well it did."""

from __future__ import annotations

from typing import Any

from prodmatch.matcher import IMAGE_DIR
from prodmatch.train.image_block import IMAGE_WEIGHTS
from prodmatch.train.refit import refit_line
from prodmatch.train.split import validation_line

__all__ = ["model_card"]


def model_card(info: dict[str, Any]) -> str:
    """A short README for the folder: what it is, how it was made, how well it did."""
    metrics = info["metrics"]
    head = metrics.get("head", {})
    lines = [
        "# prodmatch matcher",
        "",
        f"Trained {info['created']} from `{info['base_model']}` in **{info['mode']}** mode"
        + (f" with the **{info['fine_tune']['loss']}** loss" if info["fine_tune"] else "")
        + ("" if info["fine_tune"] else _head_run(info["head"]))
        + f", on {info['train_pairs']} labelled pairs ({info['valid_pairs']} for validation),"
        f" in {info['seconds']:.0f} s.",
        *validation_line(info.get("validation", {})),
        *refit_line(info["metrics"].get("refit")),
        "",
        "Use it with any prodmatch command: `prodmatch match LEFT RIGHT -o out.csv --model "
        "THIS_FOLDER`.",
        "",
        "## Validation",
        "",
    ]
    if head:
        nan = float("nan")
        lines += [
            f"- pair classifier: F1 {head.get('f1', nan):.4f}, precision "
            f"{head.get('precision', nan):.4f}, recall {head.get('recall', nan):.4f}"
            f" at threshold {head.get('threshold', nan):.4f} (on the validation pairs)",
            f"- cosine of the input embeddings (before the head): best F1 "
            f"{head.get('baseline_f1', nan):.4f}",
            *_part_lines(head),
        ]
    if info["fine_tune"]:
        tune = metrics["fine_tune"]
        lines.append(
            f"- fine-tuned encoder cosine: best F1 {tune['best_valid_f1']:.4f} at epoch "
            f"{tune['best_epoch']:.0f} of {tune['epochs_run']:.0f}"
        )
    cross = metrics.get("cross_encoder", {})
    if cross:
        lines.append(
            f"- with the cross-encoder (epoch {cross['best_epoch']:.0f} of "
            f"{cross['epochs_run']:.0f}; alone: best F1 {cross['best_valid_f1']:.4f}): F1 "
            f"{cross['blend_f1']:.4f} at threshold {cross['threshold']:.4f} "
            "(on the validation pairs)"
        )
    whole = metrics.get("end_to_end", {})
    if whole:
        lines.append(
            f"- end to end (the validation listings matched against the training catalog): F1 "
            f"{whole['trained_f1']:.4f} at threshold {whole['threshold']:.4f}, the matcher's "
            f"({whole['how']}); the untrained default: F1 {whole['untrained_f1']:.4f}"
            + ("; WORSE than no training" if whole["worse_than_untrained"] else "")
        )
    fusion = metrics.get("fusion", {})
    if "f1" in fusion:
        lines.append(
            f"- text and photo fused: cosine best F1 {fusion['f1']:.4f} (text alone "
            f"{fusion['text_f1']:.4f}; epoch {fusion['epoch']:.0f} kept, 0 = text alone)"
        )
    if not head and not info["fine_tune"] and not fusion:
        lines.append("- no validation pairs were given")
    lines += [
        "",
        "## Files",
        "",
        "- `prodmatch.json`: settings, training configuration, metrics",
        (
            f"- no `encoder/`: the encoder is the packaged `{info['packaged_encoder']}`, unchanged"
            if info.get("packaged_encoder")
            else "- `encoder/`: sentence-transformers encoder (safetensors)"
        ),
        "- `head/`: projection head and pair classifier (safetensors + JSON)",
        "- `lexical/`: the TF-IDF vocabulary (JSON) and IDF (safetensors) of the training"
        " catalogs, behind the `sparse` signal",
    ]
    if info.get("fusion"):
        column = info["settings"]["image_column"]
        lines.append(
            f"- `fusion/`: fusion head joining text and EfficientNet-Lite0 photo vectors "
            f"(safetensors + JSON); photos are read from the column `{column}`"
        )
    if cross:
        lines.append(
            "- `cross/`: cross-encoder (transformer and tokenizer in safetensors, output layer,"
            " `blend.json`: how its logit joins the classifier's)"
        )
    image_model = info["settings"].get("image_model") or ""
    if image_model == f"{IMAGE_DIR}/{IMAGE_WEIGHTS}":
        lines.append("- `image/`: the image encoder with its last block fine-tuned (safetensors)")
    elif image_model:
        lines.append(f"- `{image_model}`: the image encoder's weights, as given (safetensors)")
    return "\n".join([*lines, ""])


def _part_lines(head: dict[str, Any]) -> list[str]:
    """The classifier at its threshold on the validation pairs of seen and of unseen
    products apart: a matcher is used mostly on products it never saw."""
    lines = []
    for name in ("unseen", "seen"):
        part = head.get(name)
        if part is None:
            continue
        counted = f"{part['pairs']:.0f} pairs, {part['matches']:.0f} matches"
        lines.append(
            f"- on {name} products ({counted}): F1 {part['f1']:.4f}, precision "
            f"{part['precision']:.4f}, recall {part['recall']:.4f}"
            if "f1" in part
            else f"- on {name} products ({counted}): no F1 without a match"
        )
    return lines


def _head_run(head: dict[str, Any]) -> str:
    """Head mode's training as run (the options --loss, --epochs, ... set these)."""
    if "sharpness" in head:  # --classifier prior: no projection is trained
        return (
            " (pair classifier: a logistic regression pulled toward the untrained hybrid "
            f"scorer, sharpness {head['sharpness']}, strength {head['strength']}, u * v "
            f"precision {head['vectors']})"
        )
    return (
        f" (projection head: **{head['loss']}** loss, {head['projection_epochs']} epochs at "
        f"most, batch {head['batch_size']}, temperature {head['temperature']}, seed "
        f"{head['seed']})"
    )
