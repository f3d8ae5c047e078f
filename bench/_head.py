"""A head-mode matcher as the benchmarks measure it: trained as `prodmatch train DIR --mode
head` does and scored as `prodmatch evaluate pairs` does (threshold chosen on the valid
pairs), so each benchmark's "trained" figure means the same thing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prodmatch.data.pairs import PairDataset
from prodmatch.evaluate import PairReport, evaluate_pairs
from prodmatch.linker import Linker
from prodmatch.matcher import matcher_settings
from prodmatch.settings import MatchSettings
from prodmatch.train.api import TrainReport, train_matcher
from prodmatch.train.unseen import ValidSplit


def train_head_matcher(data: PairDataset, folder: Path, **options: Any) -> TrainReport:
    """`prodmatch train --mode head` on `data`'s train and valid pairs, into `folder`, with
    `train_matcher`'s other `options` (settings, configs, valid_split)."""
    return train_matcher(
        data.left,
        data.right,
        data.train,
        data.valid,
        folder,
        mode="head",
        progress=False,
        **options,
    )


def head_report(
    data: PairDataset,
    folder: Path,
    settings: MatchSettings | None = None,
    valid_split: ValidSplit = "unseen",
    head_config: Any = None,
) -> PairReport:
    """Train on `data`'s train pairs (validating as `valid_split` says; `head_config` as
    `train_matcher` takes it) into `folder`, then the test pairs' precision, recall, F1."""
    train_head_matcher(
        data, folder, settings=settings, valid_split=valid_split, head_config=head_config
    )
    return evaluate_pairs(data, Linker(matcher_settings(folder), progress=False))
