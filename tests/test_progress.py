from __future__ import annotations

import pytest

from prodmatch import progress
from prodmatch.progress import progress_bar


def test_logs_get_plain_lines_with_rate_and_eta(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "_LOG_EVERY_S", 0.0)
    with progress_bar("encoding shop", 4, unit="texts") as advance:
        for _ in range(4):
            advance(1)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("encoding shop: 4/4 (100%)")
    assert "texts/s" in lines[-1] and "eta" in lines[-1]
    assert len(lines) >= 2  # intermediate lines, not only the last one


def test_disabled_bar_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bar("quiet", 3, enabled=False) as advance:
        advance(3)
    assert capsys.readouterr().err == ""
