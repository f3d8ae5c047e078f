"""The review wing: explanations of pair scores, the labelling page and the run report.

Every score here comes from the one core (`prodmatch.linker`); this package only chooses
which pairs to show and how to draw them.
"""

from prodmatch.review.explain import AttributePart, Explainer, Explanation, TokenPart, explain_pair
from prodmatch.review.signals import SignalBreakdown, SignalPart

__all__ = [
    "AttributePart",
    "Explainer",
    "Explanation",
    "SignalBreakdown",
    "SignalPart",
    "TokenPart",
    "explain_pair",
]
