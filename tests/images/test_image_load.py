from __future__ import annotations

import http.server
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from prodmatch.images import (
    ImageWarning,
    load_image,
    parse_image_cell,
    resolve_images,
    resolve_images_with_report,
)


def _png(path: Path, colour: tuple[int, int, int] = (200, 30, 40), mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (16, 12), colour if mode == "RGB" else (*colour, 0)).save(path)
    return path


def test_cells_split_on_bars_semicolons_and_json_lists() -> None:
    assert parse_image_cell("a.jpg") == ["a.jpg"]
    assert parse_image_cell(" a.jpg | b.png;c.gif ") == ["a.jpg", "b.png", "c.gif"]
    assert parse_image_cell('["my photo; 1.jpg", "x|y.png"]') == ["my photo; 1.jpg", "x|y.png"]
    assert parse_image_cell("[not json") == ["[not json"]
    for empty in ("", "  ", None, float("nan")):
        assert parse_image_cell(empty) == []


def test_relative_paths_resolve_against_the_catalog_folder(tmp_path: Path) -> None:
    _png(tmp_path / "pics" / "a.png")
    _png(tmp_path / "pics" / "b.png")
    paths = resolve_images(["pics/a.png", "pics/a.png|pics/b.png", ""], tmp_path)
    assert paths == [
        [tmp_path / "pics" / "a.png"],
        [tmp_path / "pics" / "a.png", tmp_path / "pics" / "b.png"],
        [],
    ]


def test_missing_and_corrupt_images_are_dropped_with_one_warning(tmp_path: Path) -> None:
    good = _png(tmp_path / "good.png")
    (tmp_path / "corrupt.jpg").write_bytes(bytes(range(256)) * 4)
    values = ["good.png", "missing.jpg", "corrupt.jpg", "good.png|corrupt.jpg"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = resolve_images(values, tmp_path)
    assert paths == [[good], [], [], [good]]
    assert len(caught) == 1
    assert issubclass(caught[0].category, ImageWarning)
    assert str(caught[0].message).startswith("3 of 5 images missing or unreadable")


def test_report_counts_reasons_without_warning(tmp_path: Path) -> None:
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, report = resolve_images_with_report(["missing.png", "corrupt.jpg", ""], tmp_path)
    assert (report.listings, report.references, report.failed) == (3, 2, 2)
    assert report.listings_without_image == 3
    assert report.reasons == {"missing file": 1, "not an image or corrupt": 1}
    assert "2 of 2 images missing or unreadable" in report.summary()


def test_catalog_without_images_resolves_to_empty_lists(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_images([], tmp_path) == []
        assert resolve_images(["", ""], None) == [[], []]


def test_unreachable_url_fails_fast_and_never_raises(tmp_path: Path) -> None:
    urls = [f"http://127.0.0.1:9/{i}.jpg" for i in range(20)]  # port 9: nothing listens
    started = time.monotonic()
    with pytest.warns(ImageWarning, match="20 of 20 images"):
        paths = resolve_images(urls, tmp_path, cache_dir=tmp_path / "cache", timeout=2.0)
    assert time.monotonic() - started < 5
    assert paths == [[]] * 20


class _Server:
    """A loopback HTTP server over one folder that counts the requests it answers."""

    def __init__(self, folder: Path) -> None:
        self.requests = 0
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

            def do_GET(self) -> None:
                outer.requests += 1
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    served = tmp_path / "served"
    _png(served / "photo.png")
    (served / "page.jpg").write_text("<html>not found</html>")
    srv = _Server(served)
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def test_urls_are_downloaded_once_into_the_cache(server: _Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    url = f"{server.url}/photo.png"
    first = resolve_images([url, url, f"{url}|{url}"], None, cache_dir=cache)
    assert server.requests == 1
    assert first[0][0].parent == cache / "images"
    assert first[0][0].suffix == ".png"
    assert first == [first[0], first[0], first[0] * 2]
    again = resolve_images([url], None, cache_dir=cache, download=False)
    assert again == [first[0]] and server.requests == 1


def test_downloads_that_are_not_images_are_dropped(server: _Server, tmp_path: Path) -> None:
    urls = [f"{server.url}/page.jpg", f"{server.url}/absent.png", f"{server.url}/photo.png"]
    paths, report = resolve_images_with_report(urls, None, cache_dir=tmp_path / "cache")
    assert [len(p) for p in paths] == [0, 0, 1]
    assert report.reasons == {"not an image or corrupt": 1, "download failed": 1}
    assert not list((tmp_path / "cache" / "images").glob("*.jpg"))  # bad file not kept


def test_load_image_gives_rgb_or_none(tmp_path: Path) -> None:
    rgba = _png(tmp_path / "t.png", (10, 20, 30), mode="RGBA")  # fully transparent
    image = load_image(rgba)
    assert image is not None and image.mode == "RGB"
    assert image.getpixel((0, 0)) == (255, 255, 255)  # transparency composited on white
    (tmp_path / "bad.jpg").write_bytes(b"\x00" * 100)
    assert load_image(tmp_path / "bad.jpg") is None
    assert load_image(tmp_path / "nothing.png") is None
    png = (tmp_path / "t.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(png[: len(png) // 2])
    assert load_image(tmp_path / "truncated.png") is None


# -- download limits: body size and redirects ------------------------------------------------


class _Routes(http.server.BaseHTTPRequestHandler):
    """Answers from ``self.server.routes``: path -> (status, headers, body); counts requests."""

    protocol_version = "HTTP/1.0"  # the connection closes after each answer

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, _RouteServer)
        server.hits.append(self.path)
        status, headers, body = server.routes.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _RouteServer(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Routes)
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.hits: list[str] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def routes() -> Iterator[_RouteServer]:
    srv = _RouteServer()
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _png_bytes(size: int, seed: int = 0) -> bytes:
    """A valid PNG of noise (so it does not compress): about 3 x size^2 bytes."""
    import io

    import numpy as np

    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def _fetch(url: str, cache: Path) -> tuple[list[Path], dict[str, int]]:
    paths, report = resolve_images_with_report([url], None, cache_dir=cache, timeout=3.0)
    return paths[0], dict(report.reasons)


def _cached(cache: Path) -> list[Path]:
    folder = cache / "images"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_a_download_over_the_size_cap_is_refused_and_leaves_nothing(
    routes: _RouteServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, big = _png_bytes(8), _png_bytes(40)
    monkeypatch.setattr("prodmatch.images.load.MAX_DOWNLOAD_BYTES", len(small))
    length = {"Content-Type": "image/png"}
    routes.routes["/small.png"] = (200, {**length, "Content-Length": str(len(small))}, small)
    routes.routes["/big.png"] = (200, {**length, "Content-Length": str(len(big))}, big)
    routes.routes["/unsized.png"] = (200, length, big)  # no length: ends when the server closes
    cache = tmp_path / "cache"
    paths, reasons = _fetch(f"{routes.url}/small.png", cache)
    assert len(paths) == 1 and paths[0].read_bytes() == small  # exactly at the cap: kept
    for name in ("big.png", "unsized.png"):
        paths, reasons = _fetch(f"{routes.url}/{name}", cache)
        assert paths == [] and reasons == {"download failed": 1}, name
    assert len(_cached(cache)) == 1  # only the small photo; no partial or temporary file


def _junk_server() -> tuple[str, threading.Thread]:
    """A loopback port that answers one connection with bytes that are not HTTP."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer() -> None:
        connection, _ = listener.accept()
        connection.recv(1024)
        connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        connection.close()
        listener.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/photo.png", thread


def test_a_body_cut_short_or_no_http_fails_that_image_only(
    routes: _RouteServer, tmp_path: Path
) -> None:
    photo = _png_bytes(8)
    # the whole image arrives, but less than announced: the connection broke somewhere
    routes.routes["/cut.png"] = (200, {"Content-Length": str(len(photo) + 500)}, photo)
    routes.routes["/photo.png"] = (200, {"Content-Length": str(len(photo))}, photo)
    junk, thread = _junk_server()
    urls = [f"{routes.url}/cut.png", junk, f"{routes.url}/photo.png"]
    paths, report = resolve_images_with_report(urls, None, cache_dir=tmp_path / "c", timeout=3.0)
    thread.join(5)
    assert [len(p) for p in paths] == [0, 0, 1]
    assert dict(report.reasons) == {"download failed": 2}


def test_redirects_are_followed_up_to_a_limit(routes: _RouteServer, tmp_path: Path) -> None:
    from prodmatch.images.load import MAX_REDIRECTS

    photo = _png_bytes(8)
    routes.routes["/photo.png"] = (200, {"Content-Length": str(len(photo))}, photo)
    hops = MAX_REDIRECTS + 1
    for i in range(1, hops + 1):
        routes.routes[f"/hop{i}"] = (302, {"Location": f"/hop{i - 1}"}, b"")
    routes.routes["/hop0"] = (301, {"Location": f"{routes.url}/photo.png"}, b"")
    cache = tmp_path / "cache"
    # /hop{n} is n + 1 redirects away from the photo
    paths, reasons = _fetch(f"{routes.url}/hop{MAX_REDIRECTS - 1}", cache)
    assert len(paths) == 1 and paths[0].read_bytes() == photo and reasons == {}
    assert paths[0].suffix == ""  # named after the URL asked for, not where it led
    routes.hits.clear()
    paths, reasons = _fetch(f"{routes.url}/hop{MAX_REDIRECTS}", cache)
    assert paths == [] and reasons == {"download failed": 1}
    assert "/photo.png" not in routes.hits and len(routes.hits) <= MAX_REDIRECTS + 1
    routes.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    routes.hits.clear()
    assert _fetch(f"{routes.url}/loop", cache) == ([], {"download failed": 1})
    assert len(routes.hits) <= MAX_REDIRECTS + 1


def test_a_redirect_away_from_http_is_refused(routes: _RouteServer, tmp_path: Path) -> None:
    import socket

    local = _png(tmp_path / "secret.png")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    ftp = f"ftp://127.0.0.1:{listener.getsockname()[1]}/photo.png"
    routes.routes["/to-file.png"] = (302, {"Location": local.as_uri()}, b"")
    routes.routes["/to-ftp.png"] = (302, {"Location": ftp}, b"")
    cache = tmp_path / "cache"
    for name in ("to-file.png", "to-ftp.png"):
        assert _fetch(f"{routes.url}/{name}", cache) == ([], {"download failed": 1}), name
    with pytest.raises(TimeoutError):
        listener.accept()  # nobody was sent to the FTP address
    listener.close()
    assert _cached(cache) == []
