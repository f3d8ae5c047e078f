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


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    return str(capsys.readouterr().err.strip().splitlines()[-1])


def test_a_block_that_ends_early_leaves_a_full_bar(capsys: pytest.CaptureFixture[str]) -> None:
    """Early stopping after 2 of 10 epochs: the bar ends at 2/2, not at 20%."""
    with progress_bar("training", 10, unit="epochs") as advance:
        for _ in range(2):
            advance(1)
    assert _last_line(capsys).startswith("training: 2/2 (100%)")


def test_a_short_estimate_is_raised_to_the_count(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never '1076/1075': a count past the estimated total raises the total."""
    monkeypatch.setattr(progress, "_LOG_EVERY_S", 0.0)
    with progress_bar("preparing", 3, unit="listings") as advance:
        for _ in range(4):
            advance(1)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("preparing: 4/4 (100%)")
    for line in lines:
        done, total = line.split(": ")[1].split(" ")[0].split("/")
        assert int(done) <= int(total)


def test_an_interrupted_block_keeps_its_place(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(KeyboardInterrupt), progress_bar("encoding", 10) as advance:
        advance(3)
        raise KeyboardInterrupt
    assert "10/10" not in capsys.readouterr().err
