"""The review page in a real browser: headless Chromium (the Debian package) via Playwright.

Playwright is pointed at the system Chromium (`executable_path`); nothing is downloaded.
Deselect with `-m "not browser"`; `.ci/run` installs Chromium where it is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

Server = Callable[..., tuple[subprocess.Popen[bytes], str]]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no system Chromium (Debian package 'chromium'; .ci/run installs it)")


@pytest.fixture
def page() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium(), headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def _shown(page: Any) -> tuple[str, str]:
    left = page.get_by_test_id("left-id").inner_text().removeprefix("left ")
    right = page.get_by_test_id("right-id").inner_text().removeprefix("right ")
    return left, right


def _labelled(page: Any) -> int:
    return int(page.locator("#n-labelled").inner_text())


def _wait_labelled(page: Any, n: int) -> None:
    page.wait_for_function(f"document.getElementById('n-labelled').textContent === '{n}'")


def test_label_by_keyboard_undo_reload_and_kill(
    page: Any, review_server: Server, tmp_path: Path
) -> None:
    labels = tmp_path / "labels.csv"
    process, url = review_server(labels, "--retrain-every", "0")
    page.goto(url)
    page.get_by_test_id("left-id").wait_for()
    given = []
    for n, key in enumerate(["y", "n", "n"], start=1):
        given.append((_shown(page), key))
        page.keyboard.press(key)
        _wait_labelled(page, n)
    assert page.locator("#n-y").inner_text() == "1" and page.locator("#n-n").inner_text() == "2"
    page.keyboard.press("Backspace")  # undo the last "n"
    _wait_labelled(page, 2)
    page.get_by_test_id("left-id").wait_for()
    assert _shown(page) == given[2][0]  # the undone pair is asked again
    rows = [f"{p[0]},{p[1]},{1 if k == 'y' else 0}" for p, k in given[:2]]
    assert labels.read_text().splitlines()[1:] == rows
    page.keyboard.press("ArrowLeft")  # back to the second pair, shown with its label
    page.wait_for_function(
        "document.querySelector('[data-testid=label]').textContent.includes('different')"
    )
    assert _shown(page) == given[1][0]
    page.keyboard.press("ArrowRight")
    page.reload()
    page.get_by_test_id("left-id").wait_for()
    assert _labelled(page) == 2 and _shown(page) == given[2][0]
    page.keyboard.press("u")
    _wait_labelled(page, 3)
    page.screenshot(path=str(tmp_path / "review-page.png"), full_page=True)
    process.kill()  # killed mid-session: everything acknowledged is on disk
    process.wait()
    assert labels.read_text().splitlines()[1:] == rows
    unsure = (tmp_path / "labels.unsure.csv").read_text().splitlines()[1:]
    assert unsure == [f"{given[2][0][0]},{given[2][0][1]},"]
    _, url = review_server(labels, "--retrain-every", "0")
    page.goto(url)
    page.get_by_test_id("left-id").wait_for()
    assert _labelled(page) == 3
    assert _shown(page) not in {p for p, _ in given}
