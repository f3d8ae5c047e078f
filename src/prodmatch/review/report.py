"""A self-contained HTML report of one matching run (`prodmatch match ... --report`).

One file that opens offline: the plots are inline PNGs (data URIs), the styles inline, no
script and no external address. It shows the scores of every candidate by decision with the
threshold, the precision-recall curve when labelled pairs are given, and the candidates
nearest the threshold (the ones worth a look) with their explanations.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.review.explain import Explainer, Explanation

if TYPE_CHECKING:
    from prodmatch.linker import Linker, Side

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: .4em 0 1em; }
th, td { border: 1px solid #ddd; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.pair { border: 1px solid #ccc; padding: .6em .8em; margin: 1em 0; }
.tok { padding: 0 .1em; border-radius: 2px; }
img { max-width: 100%; }
"""


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def histogram(scores: npt.NDArray[np.float64], decided: npt.NDArray[np.bool_], cut: float) -> str:
    """Scores of all candidates, matches and non-matches stacked, with the threshold."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 3.2))
    bins = np.linspace(
        float(min(scores.min(initial=0.0), cut)), float(max(scores.max(initial=1.0), cut)), 41
    )
    axes.hist(
        [scores[~decided], scores[decided]],
        bins=bins,
        stacked=True,
        label=["not matched", "matched"],
        color=["#9e9e9e", "#2e7d32"],
    )
    axes.axvline(cut, color="#c62828", linestyle="--", label=f"threshold {cut:.3f}")
    axes.set_xlabel("score")
    axes.set_ylabel("candidate pairs")
    axes.set_yscale("log")
    axes.legend()
    uri = _png(figure)
    plt.close(figure)
    return uri


def pr_curve(scores: npt.NDArray[np.float64], labels: npt.NDArray[np.int64], cut: float) -> str:
    """Precision against recall over all thresholds on labelled pairs, the run's marked."""
    from sklearn.metrics import precision_recall_curve

    plt = _pyplot()
    precision, recall, _ = precision_recall_curve(labels, scores)
    chosen = scores >= cut
    p = float(labels[chosen].mean()) if chosen.any() else 1.0
    r = float(chosen[labels == 1].mean()) if (labels == 1).any() else 0.0
    figure, axes = plt.subplots(figsize=(4.5, 4))
    axes.plot(recall, precision, color="#1565c0")
    axes.scatter([r], [p], color="#c62828", zorder=3, label=f"threshold {cut:.3f}")
    axes.set_xlabel("recall")
    axes.set_ylabel("precision")
    axes.set_xlim(0, 1.02)
    axes.set_ylim(0, 1.02)
    axes.legend(loc="lower left")
    uri = _png(figure)
    plt.close(figure)
    return uri


def uncertain(pairs: pd.DataFrame, cut: float, n: int) -> pd.DataFrame:
    """The `n` candidates whose score is nearest the threshold."""
    distance = (pairs["score"] - cut).abs()
    return pairs.loc[distance.sort_values(kind="stable").index[:n]]


def _explanation_html(e: Explanation) -> str:
    s = e.signals
    rows = "".join(
        f"<tr><td>{html.escape(p.label)}</td><td>{'' if p.value is None else f'{p.value:.4f}'}"
        f"</td><td>{p.contribution:+.4f}</td></tr>"
        for p in s.parts
    )
    attrs = "".join(
        f"<tr><td>{html.escape(a.attribute)}</td><td>{a.score_without:.4f}</td>"
        f"<td>{a.change:+.4f}</td></tr>"
        for a in e.attributes
    )
    scale = max([abs(t.change) for t in e.tokens] + [1e-9])

    def words(side: str) -> str:
        out = []
        for t in (t for t in e.tokens if t.side == side):
            alpha = min(1.0, abs(t.change) / scale) * 0.8
            rgb = "67,160,71" if t.change >= 0 else "229,57,53"
            out.append(
                f'<span class="tok" style="background:rgba({rgb},{alpha:.2f})" '
                f'title="{t.change:+.4f}">{html.escape(t.token)}</span>'
            )
        return " ".join(out)

    unit = "logit" if s.space == "logit" else "score"
    return (
        f"<div class='pair'><b>{html.escape(e.left_id)} &times; {html.escape(e.right_id)}</b>: "
        f"score {e.score:.4f} ({'match' if e.above_threshold else 'no match'} at "
        f"{e.threshold:.4f})"
        f"<table><tr><th>signal</th><th>value</th><th>adds ({unit})</th></tr>"
        f"<tr><td>baseline</td><td></td><td>{s.baseline:+.4f}</td></tr>{rows}</table>"
        f"<small>{html.escape(s.method)}</small>"
        f"<table><tr><th>attribute left out</th><th>score without</th><th>change</th></tr>"
        f"{attrs}</table>"
        f"<div>left: {words('left')}</div><div>right: {words('right')}</div>"
        "<small>green: removing the word lowers the score; red: raises it</small></div>"
    )


def build_report(
    linker: Linker,
    left: Side,
    right: Side,
    pairs: pd.DataFrame,
    *,
    labelled: pd.DataFrame | None = None,
    explain: int = 10,
    title: str = "prodmatch run",
    threshold: float | None = None,
) -> str:
    """The report's HTML for decided candidates `pairs` (with ids) of prepared sides;
    `labelled` pairs (left_id, right_id, label) add a precision-recall curve. `threshold`:
    the one `pairs` were decided at (default: the settings' fixed one)."""
    cut = linker.settings.decision_threshold if threshold is None else threshold
    scores = pairs["score"].to_numpy(np.float64)
    decided = pairs["decision"].to_numpy(bool)
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{len(pairs)} candidate pairs of {len(left.catalog)} &times; {len(right.catalog)} "
        f"listings; {int(decided.sum())} matched at threshold {cut:.4f} "
        f"(scorer {html.escape('learned' if linker.head is not None else linker.settings.scorer)},"
        f" assignment {html.escape(linker.settings.assignment)}).</p>",
        "<h2>Scores by decision</h2>",
        f"<img alt='score histogram' src='{histogram(scores, decided, cut)}'>",
    ]
    if labelled is not None and len(labelled):
        y = labelled["label"].to_numpy(np.int64)
        labelled_scores = linker.score_id_pairs(left, right, labelled)
        parts += [
            f"<h2>Precision and recall on {len(labelled)} labelled pairs</h2>",
            f"<img alt='precision-recall curve' src='{pr_curve(labelled_scores, y, cut)}'>",
        ]
    if explain > 0 and len(pairs):
        explainer = Explainer(linker, left, right, threshold=cut)
        chosen = uncertain(pairs, cut, explain)
        parts.append(f"<h2>The {len(chosen)} pairs nearest the threshold, explained</h2>")
        for row in chosen.itertuples():
            parts.append(_explanation_html(explainer.explain(str(row.left_id), str(row.right_id))))
    body = "\n".join(parts)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )
