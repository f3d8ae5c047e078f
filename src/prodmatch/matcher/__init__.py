"""What a trained matcher *runs*: its folder (`folder`: read, check, write) and its pair
classifier (`head`: `MatchHead`, `ProjectionHead`, `PairClassifier`).

`prodmatch.train` writes a matcher folder; everything here reads and applies one. Matching
imports this package and never `prodmatch.train`, so scoring with a trained matcher does not
load the training code. The head module needs torch, so it is imported on its own
(`from prodmatch.matcher.head import MatchHead`), not from here.
"""

from prodmatch.matcher.folder import (
    CROSS_DIR,
    ENCODER_DIR,
    FUSION_DIR,
    HEAD_DIR,
    IMAGE_DIR,
    LEXICAL_DIR,
    MATCHER_FILE,
    MATCHER_FORMAT,
    check_output,
    is_matcher,
    matcher_settings,
    read_matcher_info,
    worse_than_untrained,
    write_matcher,
)

__all__ = [
    "CROSS_DIR",
    "ENCODER_DIR",
    "FUSION_DIR",
    "HEAD_DIR",
    "IMAGE_DIR",
    "LEXICAL_DIR",
    "MATCHER_FILE",
    "MATCHER_FORMAT",
    "check_output",
    "is_matcher",
    "matcher_settings",
    "read_matcher_info",
    "worse_than_untrained",
    "write_matcher",
]
