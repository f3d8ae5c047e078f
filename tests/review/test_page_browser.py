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


def test_the_page_inside_serve_asks_for_a_key_and_labels_into_the_registry(
    page: Any, registry_server: tuple[str, str], tmp_path: Path
) -> None:
    import httpx

    url, key = registry_server
    page.goto(url + "/review")  # redirected to /review/: the page's API is relative to it
    page.get_by_test_id("keyform").wait_for()  # 401: the page asks for a key
    assert "needs an API key" in page.locator("#keywhy").inner_text()
    page.get_by_test_id("api-key").fill(key)
    page.keyboard.press("Enter")
    page.get_by_test_id("left-id").wait_for()
    assert "key" not in page.url
    given = []
    for n, value in enumerate(["y", "n"], start=1):
        given.append((_shown(page), value))
        page.keyboard.press(value)
        _wait_labelled(page, n)
    page.keyboard.press("u")
    _wait_labelled(page, 3)
    page.keyboard.press("Backspace")  # undo the unsure one
    _wait_labelled(page, 2)
    page.reload()  # the key stays with the tab; the counter comes from the registry
    page.get_by_test_id("left-id").wait_for()
    assert _labelled(page) == 2 and page.locator("#n-y").inner_text() == "1"
    page.wait_for_function(  # the explanation, encoded in a request thread
        "document.getElementById('explain').textContent.includes('Why this score')"
    )
    page.screenshot(path=str(tmp_path / "registry-review-page.png"), full_page=True)
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        exported = http.get("/labels/export").text.splitlines()[1:]
        expected = []
        for (left, right), value in given:
            (a_platform, a_id), (b_platform, b_id) = (x.split("/") for x in (left, right))
            expected.append(f"{a_id},{b_id},{1 if value == 'y' else 0},{a_platform},{b_platform}")
            products = {http.get(f"/listings/{x}/product").json()["id"] for x in (left, right)}
            assert len(products) == (1 if value == "y" else 2)  # the registry acted on it
        assert sorted(exported) == sorted(expected)
