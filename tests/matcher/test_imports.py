"""Matching with a trained matcher never imports the training package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from prodmatch.matcher import HEAD_DIR, MATCHER_FILE, MATCHER_FORMAT
from prodmatch.matcher.head import MatchHead, PairClassifier, ProjectionHead
from prodmatch.settings import MatchSettings

_CHECK = """
import sys
import prodmatch.linker
assert not any(m.startswith("prodmatch.train") for m in sys.modules)
from prodmatch.linker import Linker
from prodmatch.matcher import matcher_settings
linker = Linker(matcher_settings(sys.argv[1]), progress=False)
assert linker.head is not None
loaded = sorted(m for m in sys.modules if m.startswith("prodmatch.train"))
assert not loaded, loaded
"""


def test_importing_the_linker_and_loading_a_head_load_no_training_code(tmp_path: Path) -> None:
    head = MatchHead(
        ProjectionHead(8), PairClassifier(8, 1, hidden_dim=4), extra_columns=("dense",)
    )
    head.save(tmp_path / HEAD_DIR)
    settings = MatchSettings(model=".", scorer="learned", threshold=0.5)
    info = {"format": MATCHER_FORMAT, "settings": settings.to_dict()}
    (tmp_path / MATCHER_FILE).write_text(json.dumps(info), encoding="utf-8")
    subprocess.run([sys.executable, "-c", _CHECK, str(tmp_path)], check=True)


# Every path that matches: the core, the matcher folder, streamed runs, reranking, dedupe,
# evaluation, photos and the CLI's startup (its train command imports training lazily).
MATCHING = [
    "prodmatch.linker",
    "prodmatch.matcher",
    "prodmatch.stream",
    "prodmatch.rerank",
    "prodmatch.dedup",
    "prodmatch.evaluate",
    "prodmatch.images",
    "prodmatch.cli",
]


def test_matching_modules_import_no_training_code() -> None:
    """One process imports them all (torch loads once); any training module loaded fails."""
    check = (
        f"import sys, {', '.join(MATCHING)}; "
        "loaded = sorted(m for m in sys.modules if m.startswith('prodmatch.train')); "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", check], check=True)
