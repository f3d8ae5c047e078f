"""Active learning: which candidate pair to label next, and the head retrained on the labels.

The next pair is the one the model is least sure of (score nearest the threshold), with two
corrections:

- **diversity**: a pair that shares a listing with one of the last ``window`` labelled pairs
  is passed over while another is left, so ten near-ties of one listing are not asked in a
  row (one label usually settles them all);
- **a random share**: a fixed, seeded sample of the candidates (``random_share`` of them) is
  set apart, and every ``1 / random_share``-th pair shown is drawn from it at random. Labels
  inside that sample were chosen without looking at the model, so the precision and recall
  estimated from them are unbiased; labels chosen by uncertainty are not (they sit at the
  threshold by design).

Every ``retrain_every`` labels the pair classifier is retrained on the labels given so far
(a logistic regression over the pairs' signals, pulled toward the untrained decision: see
`prodmatch.train.prior_head`; milliseconds), and the queue is ranked by the new scores.
Its scores are only for choosing: the score shown stays the matcher's.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.train.head_trainer import HeadTrainingConfig

if TYPE_CHECKING:
    from prodmatch.linker import Linker, Side
    from prodmatch.matcher.head import MatchHead
    from prodmatch.train.prior_head import PriorConfig

Key = tuple[str, str]
# The MLP retraining (`retrain_head` with a HeadTrainingConfig) runs in seconds: fewer epochs
# than `prodmatch train --mode head`.
RETRAIN_CONFIG = HeadTrainingConfig(projection_epochs=3, classifier_epochs=60)
HEAD_SIGNALS = ("dense", "sparse", "code_agreement", "code_variant", "image", "image_both")


@dataclass(frozen=True)
class QueueOptions:
    random_share: float = 0.2
    window: int = 10
    retrain_every: int = 20
    seed: int = 0

    @property
    def random_every(self) -> int:
        """Every how many pairs one is drawn from the random sample (0: never)."""
        return 0 if self.random_share <= 0 else max(1, round(1 / self.random_share))


def random_sample(n: int, options: QueueOptions) -> npt.NDArray[np.bool_]:
    """Which of `n` candidates form the random sample (fixed by the seed)."""
    rng = np.random.default_rng(options.seed)
    chosen = np.zeros(n, dtype=bool)
    size = round(n * options.random_share)
    chosen[rng.permutation(n)[:size]] = True
    return chosen


def random_order(n: int, options: QueueOptions) -> npt.NDArray[np.int64]:
    """The seeded order in which the random sample is drawn."""
    return np.random.default_rng(options.seed + 1).permutation(n).astype(np.int64)


def next_pair(
    pool: pd.DataFrame,
    scores: npt.NDArray[np.float64],
    threshold: float,
    labelled: Collection[Key],
    recent: Sequence[Key],
    given: int,
    options: QueueOptions,
) -> int | None:
    """The pool row to show next (None when every candidate is labelled).

    `pool` has columns left_id, right_id and `random` (in the random sample); `scores` are
    the ranking scores, `labelled` the pairs already labelled, `recent` the last labelled
    pairs (latest last) and `given` how many labels were given so far.
    """
    keys = list(zip(pool["left_id"].astype(str), pool["right_id"].astype(str), strict=True))
    free = np.array([k not in labelled for k in keys], dtype=bool)
    sample = pool["random"].to_numpy(dtype=bool)
    every = options.random_every
    if every and (given + 1) % every == 0 and (free & sample).any():
        order = random_order(len(pool), options)
        return int(next(i for i in order if free[i] and sample[i]))
    # uncertainty picks stay out of the random sample, so that one stays random
    ranked = np.flatnonzero(free & ~sample) if (free & ~sample).any() else np.flatnonzero(free)
    if not len(ranked):
        return None
    distance = np.abs(scores[ranked] - threshold)
    order = ranked[np.argsort(distance, kind="stable")]
    seen_left = {k[0] for k in recent[-options.window :]} if options.window else set()
    seen_right = {k[1] for k in recent[-options.window :]} if options.window else set()
    for i in order:
        if keys[i][0] not in seen_left and keys[i][1] not in seen_right:
            return int(i)
    return int(order[0])


def estimate_quality(pool: pd.DataFrame, labels: dict[Key, int]) -> dict[str, float | int | None]:
    """Precision and recall of the decisions among the candidates, estimated from the
    labelled pairs of the random sample (unsure ones left out)."""
    keys = zip(pool["left_id"].astype(str), pool["right_id"].astype(str), strict=True)
    rows = [
        (bool(decision), labels[key])
        for key, decision, sampled in zip(keys, pool["decision"], pool["random"], strict=True)
        if sampled and labels.get(key, -1) in (0, 1)
    ]
    decided = [y for d, y in rows if d]
    positives = [d for d, y in rows if y == 1]
    return {
        "sample_labels": len(rows),
        "precision": float(np.mean(decided)) if decided else None,
        "recall": float(np.mean(positives)) if positives else None,
    }


def labelled_frame(pool: pd.DataFrame, labels: dict[Key, int]) -> pd.DataFrame:
    """The pool rows labelled 0 or 1, with a `label` column."""
    keys = list(zip(pool["left_id"].astype(str), pool["right_id"].astype(str), strict=True))
    keep = np.array([labels.get(k, -1) in (0, 1) for k in keys], dtype=bool)
    frame = pool[keep].copy()
    frame["label"] = [labels[k] for k, kept in zip(keys, keep, strict=True) if kept]
    return frame.reset_index(drop=True)


def retrain_head(
    linker: Linker,
    left: Side,
    right: Side,
    labelled: pd.DataFrame,
    *,
    seed: int = 0,
    config: PriorConfig | HeadTrainingConfig | None = None,
) -> MatchHead | None:
    """A pair classifier trained on `labelled` pool rows (None when the sides have no
    vectors to build a head over).

    By default (`PriorConfig`) a logistic regression over the pairs' signals, regularised
    toward the linker's untrained decision (`prodmatch.train.prior_head`): with no labels it
    is that decision, and labels only move it. With a `HeadTrainingConfig`, the head-mode
    MLP over the listing vectors (`_retrain_mlp`), which needs a match and a non-match.
    Imports `prodmatch.train` only when called: matching never needs it.
    """
    if left.vectors is None or right.vectors is None:
        return None
    if isinstance(config, HeadTrainingConfig):
        return _retrain_mlp(left, right, labelled, seed, config)
    from prodmatch.train.prior_head import PriorConfig, fit_prior_head, pair_products

    cfg = config or PriorConfig()
    products = None
    if cfg.vectors is not None:
        u = left.vectors[labelled["left"].to_numpy(dtype=np.int64)]
        products = pair_products(u, right.vectors[labelled["right"].to_numpy(dtype=np.int64)])
    return fit_prior_head(labelled, linker.settings, left.vectors.shape[1], cfg, products)


def _retrain_mlp(
    left: Side, right: Side, labelled: pd.DataFrame, seed: int, config: HeadTrainingConfig
) -> MatchHead | None:
    """Head mode on the frozen vectors. A quarter of the labels (at least one match) is held
    out to choose the epoch and the threshold; below 20 labels all of them are used for
    both, as too few are left to hold out."""
    from prodmatch.train.head_trainer import ListingVectors, train_head

    y = labelled["label"].to_numpy()
    if len(set(y.tolist())) < 2:
        return None
    columns = tuple(c for c in HEAD_SIGNALS if c in labelled)
    train, valid = _split(labelled, seed)
    if not (valid["label"] == 1).any() or not (train["label"] == 1).any():
        train = valid = labelled
    result = train_head(
        ListingVectors.from_side(left),
        ListingVectors.from_side(right),
        train,
        valid,
        extra_columns=columns,
        config=config,
        progress=False,
    )
    return result.head


def _split(labelled: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    if len(labelled) < 20:
        return labelled, labelled
    rng = np.random.default_rng(seed)
    held = rng.random(len(labelled)) < 0.25
    return labelled[~held], labelled[held]


def with_attribute_signals(
    linker: Linker, left: Side, right: Side, pool: pd.DataFrame
) -> pd.DataFrame:
    """`pool` (columns left, right: positions) with the attribute signals (price, year,
    edition, ...) the retraining reads, added once for the review: the linker adds them to
    candidates only when its own matcher reads them."""
    from prodmatch.text.attributes import ATTRIBUTE_COLUMNS, attribute_signals

    missing = [c for c in ATTRIBUTE_COLUMNS if c not in pool]
    if not missing or pool.empty:
        return pool
    li, ri = (pool[side].to_numpy(dtype=np.int64) for side in ("left", "right"))
    found = attribute_signals(linker.attributes(left), linker.attributes(right), li, ri)
    return pool.assign(**{c: found[c] for c in missing})


def head_scores(
    linker: Linker, head: MatchHead, left: Side, right: Side, pool: pd.DataFrame
) -> npt.NDArray[np.float64]:
    """The pool's scores under `head`, through the linker's own scoring (no reranker)."""
    scorer = copy.copy(linker)
    scorer.head, scorer.reranker = head, None
    return scorer.score(left, right, pool)
