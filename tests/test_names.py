"""One name, one idea: names the review found meaning two things are defined once."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "prodmatch"

# Each of these named two different things (score_pairs: the scorers' scores and a head's
# probabilities; recall_at_k: blocking recall and an index's recall against exact search;
# Side and _Table: a prepared catalog and a literal, a parsed file and the fusion inputs;
# pair_features: the linker's signals and the classifier's input rows) or held two values
# (DEFAULT_CHUNK_ROWS: 20,000 and 50,000).
ONCE = ("score_pairs", "recall_at_k", "Side", "_Table", "pair_features", "DEFAULT_CHUNK_ROWS")


def _definitions() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in SRC.rglob("*.py"):
        module = ast.parse(path.read_text(encoding="utf-8"))
        constants = set(module.body)  # module-level assignments (not a dataclass's fields)
        for node in ast.walk(module):
            names: list[str] = []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names = [node.name]
            elif node not in constants:
                continue
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            for name in names:
                found[name].append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_each_reviewed_name_is_defined_once() -> None:
    found = _definitions()
    twice = {name: found[name] for name in ONCE if len(found[name]) > 1}
    assert not twice, twice
