"""Are the words an explanation ranks first the ones that matter? (occlusion, checked)

    .venv/bin/python bench/faithfulness.py [--dataset ../shared/datasets/abt-buy] [--pairs 40]

For the first `--pairs` true matches of the test split, scored by the default hybrid
scorer: the explanation's top `--words` words of the left listing (by occlusion) are removed
at once, and so are as many words drawn at random from the same listing; the score falls by
each. The explanation is faithful on a pair when removing its top words lowers the score
more. Appends a record to bench/results/faithfulness.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _results import RESULTS, append_record, start_record

from prodmatch.data import load_deepmatcher
from prodmatch.linker import Linker
from prodmatch.review.explain import Explainer
from prodmatch.settings import MatchSettings

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--dataset", type=Path, default=ROOT.parent / "shared" / "datasets" / "abt-buy"
    )
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--words", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    record = start_record()
    data = load_deepmatcher(args.dataset)
    linker = Linker(MatchSettings(), progress=False)
    left, right = linker.prepare(data.left, data.right)
    explainer = Explainer(linker, left, right)
    rng = np.random.default_rng(args.seed)
    rows = []
    for pair in data.test[data.test["label"] == 1].head(args.pairs).itertuples():
        e = explainer.explain(pair.left_id, pair.right_id, attributes=False)
        words = [t for t in e.tokens if t.side == "left"]
        if len(words) <= args.words:
            continue
        top = [(t.attribute, t.position) for t in e.top_tokens("left", args.words)]
        drawn = rng.choice(len(words), size=args.words, replace=False)
        chance = [(words[i].attribute, words[i].position) for i in drawn]
        top_drop = e.score - explainer.score_without(pair.left_id, pair.right_id, "left", top)
        random_drop = e.score - explainer.score_without(pair.left_id, pair.right_id, "left", chance)
        rows.append({"left_id": pair.left_id, "right_id": pair.right_id, "score": e.score,
                     "top_drop": top_drop, "random_drop": random_drop})  # fmt: skip
        print(f"{pair.left_id} x {pair.right_id}: top {top_drop:+.3f}, random {random_drop:+.3f}")
    wins = sum(r["top_drop"] > r["random_drop"] for r in rows)
    results = {
        "dataset": data.name,
        "scorer": "hybrid",
        "words": args.words,
        "pairs": len(rows),
        "top_drop_mean": float(np.mean([r["top_drop"] for r in rows])),
        "random_drop_mean": float(np.mean([r["random_drop"] for r in rows])),
        "faithful_pairs": wins,
        "rows": rows,
    }
    append_record(RESULTS / "faithfulness.json", record, results)
    print(f"top words lower the score more on {wins} of {len(rows)} pairs -> faithfulness.json")


if __name__ == "__main__":
    main()
