"""Label-free calibrated thresholds against the fixed default and the best threshold.

Run: .venv/bin/python bench/calibration.py [--datasets ../shared/datasets] [--synth-left 1500]
     .venv/bin/python bench/calibration.py --choose   # the null shift, on dev and synthetic only
For every catalog pair: the best one-to-one F1 any threshold gives (it reads the gold, so it is
a bound, not a result), the F1 at the scorer's fixed default, the F1 at the threshold
calibrated without labels (`prodmatch.decide.calibrate`), both as a share of the best, and the
estimated against the true share of left listings that have a match. Appends a record to
bench/results/calibration.json.

Cases:
- full/<name>: the full tables (abt-buy-full, amazon-google-full), where it is evaluated;
- dev/<name>/share<s>: development sets from DeepMatcher train and valid pairs only (never
  test): the left listings with a known match, and the right table without the matches of a
  share 1 - s of them, so that a share s of left listings has a match. The method's constants
  were chosen on these and on the synthetic pairs;
- synth/share<s>: built-in synthetic catalogs where a share s of left listings has a twin.

`--choose` runs the development and synthetic cases only (never the full tables) for every
null shift in `--null-shifts` and records each shift's mean and worst share of the best F1:
how `prodmatch.decide.calibrate.NULL_SHIFT` was chosen.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _results import RESULTS, ROOT, append_record, start_record, without_test

from prodmatch.data import Catalog, catalog_from_frame, load_catalog
from prodmatch.decide import assign, best_threshold
from prodmatch.decide.calibrate import calibrate
from prodmatch.linker import Linker
from prodmatch.settings import MatchSettings
from prodmatch.synth import generate_catalogs

FULL = {
    "abt-buy-full": ("abt.csv", "buy.csv", "|"),
    "amazon-google-full": ("amazon.csv", "gp.csv", "#"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--full", default="abt-buy-full,amazon-google-full")
    parser.add_argument("--dev", default="abt-buy,amazon-google")
    parser.add_argument("--shares", default="0.3,0.6,1.0")
    parser.add_argument("--synth-left", type=int, default=1500, help="Left listings; 0: none.")
    parser.add_argument("--scorer", default="hybrid")
    parser.add_argument("--retrieval", default="hybrid")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--choose", action="store_true", help="Sweep the null shift (no full).")
    parser.add_argument("--null-shifts", default="0,0.25,0.5,0.6,0.75,1")
    args = parser.parse_args()
    record = start_record()
    settings = MatchSettings(scorer=args.scorer, retrieval=args.retrieval, decision="calibrated")
    linker = Linker(settings, progress=False)
    shares = [float(s) for s in args.shares.split(",") if s]
    cases: dict[str, Any] = {}
    if not args.choose:
        for name in filter(None, args.full.split(",")):
            cases[f"full/{name}"] = lambda name=name: _full(args.datasets / name)
    for name in filter(None, args.dev.split(",")):
        data = without_test(args.datasets / name)
        for share in shares:
            cases[f"dev/{name}/share{share}"] = lambda d=data, s=share: _dev(d, s)
    if args.synth_left:
        for share in shares:
            cases[f"synth/share{share}"] = lambda s=share: _synth(args.synth_left, s)
    if args.choose:
        shifts = [float(x) for x in args.null_shifts.split(",")]
        append_record(args.out / "calibration.json", record, choose(linker, cases, shifts))
        return
    results = {case: measure(linker, *build()) for case, build in cases.items()}
    for case, row in results.items():
        print(
            f"{case}: best F1 {row['best_f1']:.3f} (t {row['best_threshold']:.3f}); fixed "
            f"{row['fixed_f1']:.3f} ({row['fixed_ratio']:.1%}); calibrated "
            f"{row['calibrated_f1']:.3f} ({row['calibrated_ratio']:.1%}, "
            f"t {row['calibrated_threshold']:.3f}); share est "
            f"{row['estimated_share']:.2f} true {row['true_share']:.2f}"
        )
    append_record(args.out / "calibration.json", record, results)


def choose(linker: Linker, cases: dict[str, Any], shifts: list[float]) -> dict[str, Any]:
    """Each null shift's calibrated F1 as a share of the best, on every case; the shifts'
    mean and worst share over the cases."""
    ratios: dict[float, dict[str, float]] = {shift: {} for shift in shifts}
    for case, build in cases.items():
        for shift, row in measure_shifts(linker, *build(), shifts).items():
            ratios[shift][case] = row
    results: dict[str, Any] = {"cases": list(cases), "by_shift": {}}
    for shift, by_case in ratios.items():
        values = list(by_case.values())
        summary = {"mean": round(float(np.mean(values)), 4), "worst": round(min(values), 4)}
        results["by_shift"][str(shift)] = {**summary, "ratios": by_case}
        print(f"null shift {shift}: mean {summary['mean']:.3f}, worst {summary['worst']:.3f}")
    return results


def measure_shifts(
    linker: Linker, left: Catalog, right: Catalog, gold: pd.DataFrame, shifts: list[float]
) -> dict[float, float]:
    """The calibrated F1 as a share of the best, for each null shift, on one catalog pair."""
    pairs, label, truth = _scored(linker, left, right, gold)
    chosen = assign(pairs, -np.inf, linker.settings.assignment).to_numpy()
    scores = pairs["score"].to_numpy()
    _, best_f1 = best_threshold(scores[chosen], label[chosen], positives=len(truth))
    out = {}
    for shift in shifts:
        found = calibrate(pairs, linker.settings.assignment, left_rows=len(left), null_shift=shift)
        assert found.threshold is not None
        f1 = _f1_at(pairs, label, len(truth), found.threshold, linker.settings.assignment)
        out[shift] = round(f1 / best_f1, 4) if best_f1 else 0.0
    return out


def _scored(
    linker: Linker, left: Catalog, right: Catalog, gold: pd.DataFrame
) -> tuple[pd.DataFrame, Any, set[tuple[str, str]]]:
    """The scored candidates, whether each is a gold pair, and the gold pairs."""
    sides = linker.prepare(left, right)
    pairs = linker.candidates(*sides)
    truth = set(zip(gold["left_id"].astype(str), gold["right_id"].astype(str), strict=True))
    left_ids = np.asarray(left.ids, dtype=object)[pairs["left"].to_numpy()]
    right_ids = np.asarray(right.ids, dtype=object)[pairs["right"].to_numpy()]
    keys = zip(left_ids.astype(str), right_ids.astype(str), strict=True)
    label = np.fromiter((k in truth for k in keys), dtype=bool, count=len(pairs))
    return pairs, label, truth


def _f1_at(pairs: pd.DataFrame, label: Any, positives: int, threshold: float, mode: Any) -> float:
    """End-to-end F1 of the pairs `mode` accepts at `threshold` against `positives` gold pairs."""
    accepted = assign(pairs, threshold, mode).to_numpy()
    return 2 * int(label[accepted].sum()) / (int(accepted.sum()) + positives)


def measure(linker: Linker, left: Catalog, right: Catalog, gold: pd.DataFrame) -> dict[str, Any]:
    """Best, fixed and calibrated one-to-one F1 on one catalog pair."""
    pairs, label, truth = _scored(linker, left, right, gold)
    chosen = assign(pairs, -np.inf, linker.settings.assignment).to_numpy()
    scores = pairs["score"].to_numpy()
    best_t, best_f1 = best_threshold(scores[chosen], label[chosen], positives=len(truth))
    fixed = linker.settings.decision_threshold
    cut = linker.cut(pairs, left_rows=len(left))
    calibration = cut.calibration
    assert calibration is not None

    mode = linker.settings.assignment
    fixed_f1 = _f1_at(pairs, label, len(truth), fixed, mode)
    calibrated_f1 = _f1_at(pairs, label, len(truth), cut.threshold, mode)
    return {
        "left_rows": len(left),
        "right_rows": len(right),
        "gold_pairs": len(truth),
        "candidates": len(pairs),
        "best_threshold": round(best_t, 4),
        "best_f1": round(best_f1, 4),
        "fixed_threshold": fixed,
        "fixed_f1": round(fixed_f1, 4),
        "fixed_ratio": round(fixed_f1 / best_f1, 4) if best_f1 else None,
        "calibrated_threshold": round(cut.threshold, 4),
        "calibrated_f1": round(calibrated_f1, 4),
        "calibrated_ratio": round(calibrated_f1 / best_f1, 4) if best_f1 else None,
        "decision": cut.source,
        "estimated_share": round(calibration.match_share, 4),
        "true_share": round(len({a for a, _ in truth}) / len(left), 4),
    }


def _full(folder: Path) -> tuple[Catalog, Catalog, pd.DataFrame]:
    left_file, right_file, sep = FULL[folder.name]
    left = load_catalog(folder / left_file, sep=sep)
    right = load_catalog(folder / right_file, sep=sep)
    gold = pd.read_csv(folder / "gt.csv", sep=sep, dtype=str)
    return left, right, gold.set_axis(["left_id", "right_id"], axis=1)


def _dev(data: Any, share: float, seed: int = 0) -> tuple[Catalog, Catalog, pd.DataFrame]:
    """Left listings with a known match (train or valid), right table without the matches of
    a random 1 - `share` of them."""
    known = pd.concat([data.train, data.valid])
    known = known[known["label"] == 1][["left_id", "right_id"]].astype(str)
    lefts = sorted(set(known["left_id"]))
    rng = np.random.default_rng(seed)
    dropped = set(rng.choice(lefts, round((1 - share) * len(lefts)), replace=False).tolist())
    removed = set(known[known["left_id"].isin(dropped)]["right_id"])
    rights = [i for i in data.right.ids if str(i) not in removed]
    gold = known[~known["right_id"].isin(removed)]
    return data.left.select(lefts), data.right.select(rights), gold


def _synth(n_left: int, share: float) -> tuple[Catalog, Catalog, pd.DataFrame]:
    """Synthetic catalogs with `n_left` left listings, a share `share` of them with a twin:
    with overlap o, a share 2o / (1 + o) of left listings is listed on both sides."""
    overlap = share / (2 - share)
    products = int(n_left / (overlap + (1 - overlap) / 2))
    world = generate_catalogs(products, seed=7, overlap=overlap)
    left = catalog_from_frame(world.left, name="a")
    right = catalog_from_frame(world.right, name="b")
    return left, right, world.gold


if __name__ == "__main__":
    main()
