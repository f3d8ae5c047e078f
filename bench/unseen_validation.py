"""Seen and unseen validation F1 of a head-mode matcher, chosen either way.

    .venv/bin/python bench/unseen_validation.py [--datasets ../shared/datasets]

For abt-buy and amazon-google, trains `prodmatch train DIR --mode head` twice: choosing the
threshold and epochs on validation pairs of products training never saw (`--valid-split
unseen`, the default) and on DeepMatcher's valid.csv as given (`--valid-split given`), and
records the classifier's F1 on the validation pairs of seen and of unseen products apart,
with the split each used. test.csv is never opened. The two runs' unseen parts are not the
same pairs (given valid.csv has few unseen ones), so the record keeps each part's counts.

Appends a record to bench/results/unseen_validation.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from _results import RESULTS, ROOT, append_record, start_record, without_test

from prodmatch.train.api import train_matcher
from prodmatch.train.unseen import VALID_SPLITS

DATASETS = ("abt-buy", "amazon-google")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--names", default=",".join(DATASETS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    record = start_record()
    runs: list[dict[str, Any]] = []
    for name in args.names.split(","):
        data = without_test(args.datasets / name)
        for split in VALID_SPLITS:
            started = time.perf_counter()
            with tempfile.TemporaryDirectory() as work:
                report = train_matcher(
                    data.left,
                    data.right,
                    data.train,
                    data.valid,
                    Path(work) / "matcher",
                    mode="head",
                    progress=False,
                    valid_split=split,
                )
                info = json.loads((report.folder / "prodmatch.json").read_text(encoding="utf-8"))
            head = report.metrics["head"]
            runs.append(
                {
                    "dataset": name,
                    "valid_split": split,
                    "chosen_on_f1": round(head["f1"], 4),
                    "threshold": round(head["threshold"], 4),
                    "seen": _rounded(head.get("seen", {})),
                    "unseen": _rounded(head.get("unseen", {})),
                    "end_to_end_f1": round(report.metrics["end_to_end"]["trained_f1"], 4),
                    "seconds": round(time.perf_counter() - started, 1),
                    "validation": info["validation"],
                }
            )
            print(runs[-1], flush=True)
    append_record(args.out / "unseen_validation.json", record, {"runs": runs})


def _rounded(part: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 4) for key, value in part.items()}


if __name__ == "__main__":
    main()
