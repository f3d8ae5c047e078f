"""Photo fetching in the registry: off by default (no socket), else capped, timed, checked."""

from __future__ import annotations

import dataclasses
import http.server
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from registry_fakes import WordEncoder

from prodmatch.errors import ProdmatchError
from prodmatch.registry import NewListing, Registry
from prodmatch.registry.photos import PHOTO_DIR

SLOW_S = 3.0  # the slow route's stall; the registry's timeout in these tests is far shorter


def _png(size: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 40)).save(out, format="PNG")
    return out.getvalue()


ROUTES: dict[str, bytes] = {
    "/good.png": _png(8),
    "/big.png": _png(400) + b"\0" * 20_000,
    "/page.jpg": b"<html>not found</html>",
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow.png":
            time.sleep(SLOW_S)
        body = ROUTES.get(self.path, ROUTES["/good.png"])
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def photo_server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def fetching(tmp_path: Path) -> Iterator[Registry]:
    """A registry fetching photos, with a 10 kB cap and a 0.5 s timeout."""
    registry = Registry(tmp_path / "reg", encoder=WordEncoder(), photos="fetch")  # type: ignore[arg-type]
    assert registry.photos is not None
    registry.photos = dataclasses.replace(registry.photos, max_bytes=10_000, timeout=0.5)
    yield registry
    registry.close()


def _photo(registry: Registry, listing_id: str, url: str) -> Any:
    return registry.upsert([_listing(listing_id, url)])[0]


def _listing(listing_id: str, photo: str) -> NewListing:
    return NewListing("shop", listing_id, {"title": f"canon camera {listing_id}"}, photo)


def test_a_good_photo_is_fetched_into_the_registry_folder(
    fetching: Registry, photo_server: str
) -> None:
    result = _photo(fetching, "a", f"{photo_server}/good.png")
    assert result["photo"] == {"fetched": True, "reason": None}
    kept = list((fetching.folder / PHOTO_DIR).iterdir())
    assert [path.read_bytes() for path in kept] == [ROUTES["/good.png"]]


def test_bad_photos_are_reported_per_listing_and_the_listings_stored(
    fetching: Registry, photo_server: str
) -> None:
    sent = {
        "big": f"{photo_server}/big.png",
        "page": f"{photo_server}/page.jpg",
        "local": "/etc/passwd",  # Python callers may send anything: never opened
    }
    results = fetching.upsert([_listing(name, url) for name, url in sent.items()])
    reasons = {r["id"]: r["photo"]["reason"] for r in results}
    assert reasons == {
        "big": "download failed",  # over the cap
        "page": "not an image or corrupt",
        "local": "not an http(s) URL",
    }
    assert fetching.counts()["listings"] == 3
    assert not (fetching.folder / PHOTO_DIR).exists() or not any(
        (fetching.folder / PHOTO_DIR).iterdir()
    )


def test_a_slow_photo_times_out_without_holding_the_batch(
    fetching: Registry, photo_server: str
) -> None:
    started = time.monotonic()
    result = _photo(fetching, "slow", f"{photo_server}/slow.png")
    assert time.monotonic() - started < SLOW_S - 1
    assert result["photo"] == {"fetched": False, "reason": "timed out"}
    assert fetching.get("shop", "slow").photo == f"{photo_server}/slow.png"


def test_photos_off_by_default_never_open_a_socket(
    tmp_path: Path, photo_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        opened.append(address)
        raise AssertionError("a socket was opened")

    registry = Registry(tmp_path / "reg", encoder=WordEncoder())  # type: ignore[arg-type]
    monkeypatch.setattr(socket.socket, "connect", refuse)
    result = _photo(registry, "a", f"{photo_server}/good.png")
    registry.close()
    assert opened == [] and "photo" not in result
    assert not (tmp_path / "reg" / PHOTO_DIR).exists()


def test_an_unknown_photo_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProdmatchError, match="photos must be one of off, fetch"):
        Registry(tmp_path / "reg", encoder=WordEncoder(), photos="yes")  # type: ignore[arg-type]


def test_photo_failures_are_answered_over_http_not_as_errors(
    fetching: Registry, photo_server: str
) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from prodmatch.registry.app import create_app

    client = TestClient(create_app(fetching, auth_required=False))
    listing = {"platform": "shop", "id": "p", "attributes": {"title": "camera"}}
    body = {"listings": [{**listing, "photo": f"{photo_server}/page.jpg"}]}
    response = client.put("/listings", json=body)
    assert response.status_code == 200
    assert response.json()["listings"][0]["photo"]["reason"] == "not an image or corrupt"


def test_serve_refuses_an_unknown_photo_mode_in_one_line(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from typer.testing import CliRunner

    from prodmatch.cli.app import app

    result = CliRunner().invoke(
        app, ["serve", "--registry", str(tmp_path / "reg"), "--photos", "always"]
    )
    assert result.exit_code != 0
    assert "photos must be one of off, fetch" in result.output
    assert "Traceback" not in result.output
