"""Turn a catalog's image column into local image files, and open them safely.

A cell may hold one local path, several separated by ``|`` or ``;``, a JSON list (for paths
that contain those characters or spaces), or http(s) URLs. Real exports are messy: files go
missing, downloads fail, some "images" are HTML error pages saved as .jpg. None of that may
stop a run of thousands of listings, so every problem drops that one image, is counted, and
is reported once at the end as a single warning ("12 of 500 images missing or unreadable").
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import math
import threading
import urllib.error
import urllib.request
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

from PIL import Image, UnidentifiedImageError

from prodmatch.encode.cache import default_cache_dir
from prodmatch.io import atomic_path

__all__ = [
    "ImageReport",
    "ImageWarning",
    "check_image",
    "decode_image",
    "fetch_urls",
    "image_cache_dir",
    "is_url",
    "load_image",
    "parse_image_cell",
    "resolve_images",
    "resolve_images_with_report",
]

# Seconds a download may stall; short, because a dead host must not hold up a whole catalog.
DEFAULT_TIMEOUT = 5.0
# Bytes one download may have; a product photo is far smaller, a runaway response is not.
MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024
# Redirects one download may follow (CDNs use one or two), only to http(s) addresses: a
# photo URL must not lead the reader to a local file or another protocol.
MAX_REDIRECTS = 5
# Parallel downloads: waiting on the network needs threads, not cores.
_DOWNLOAD_THREADS = 8
# Connection failures, with no success yet, after which the network counts as absent.
_OFFLINE_AFTER = 3
# Examples of failed references kept in the report, enough to find the pattern.
_EXAMPLES = 5
# Above this many pixels PIL warns of a decompression bomb; such a file is not a product photo.
Image.MAX_IMAGE_PIXELS = 100_000_000

# Reasons an image reference was dropped, as they appear in the report.
MISSING = "missing file"
UNREADABLE = "unreadable file"
CORRUPT = "not an image or corrupt"
DOWNLOAD = "download failed"
NO_NETWORK = "no network"
TIMED_OUT = "timed out"


class ImageWarning(UserWarning):
    """Some images of a catalog could not be used; the message says how many and why."""


@dataclass
class ImageReport:
    """What happened to the image references of one catalog column.

    ``references`` counts image references (a listing may have several); ``failed`` those
    dropped, by reason in ``reasons``; ``examples`` the first few (reference, reason) pairs.
    """

    listings: int = 0
    references: int = 0
    failed: int = 0
    listings_without_image: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[str, str]] = field(default_factory=list)

    def add_failure(self, reference: str, reason: str) -> None:
        self.failed += 1
        self.reasons[reason] += 1
        if len(self.examples) < _EXAMPLES:
            self.examples.append((reference, reason))

    def summary(self) -> str:
        """One line for the user: "12 of 500 images missing or unreadable (missing file: 7)"."""
        line = f"{self.failed} of {self.references} images missing or unreadable"
        if self.reasons:
            parts = ", ".join(f"{reason}: {n}" for reason, n in self.reasons.most_common())
            line += f" ({parts})"
        if self.examples:
            first, why = self.examples[0]
            line += f"; e.g. {first!r}: {why}"
        return line


def image_cache_dir(cache_dir: Path | None = None) -> Path:
    """Where downloaded images live: ``<cache>/images`` (``$PRODMATCH_CACHE_DIR`` or
    ``~/.cache/prodmatch``)."""
    return (cache_dir or default_cache_dir()) / "images"


def parse_image_cell(value: object) -> list[str]:
    """The image references in one cell: '' / None / NaN mean none.

    A cell starting with ``[`` is read as a JSON list; anything else is split on ``|`` and
    ``;``. A JSON list that does not parse falls back to splitting, so one bad cell costs at
    most its own images.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    text = str(value).strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            items = None
        if isinstance(items, list):
            return [str(item).strip() for item in items if str(item).strip()]
    parts = text.replace(";", "|").split("|")
    return [part.strip() for part in parts if part.strip()]


def is_url(reference: str) -> bool:
    """Whether a reference is an http(s) URL (anything else names a local file)."""
    return urlsplit(reference).scheme.lower() in ("http", "https")


def _local_path(reference: str, base_dir: Path | None) -> Path:
    """A local reference as a path: ``file://`` URLs unwrapped, ``~`` expanded, relative paths
    taken from the catalog file's folder (where the export put them), not the working dir."""
    if reference.lower().startswith("file://"):
        reference = unquote(urlsplit(reference).path)
    path = Path(reference).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def check_image(path: Path) -> str | None:
    """None if ``path`` is a readable image, else the reason it is not.

    ``verify`` reads the file's structure without decoding pixels, so checking a catalog is
    cheap; a truncated JPEG may still pass and is caught by :func:`load_image` later.
    """
    if not path.is_file():
        return MISSING
    try:
        with Image.open(path) as image:
            image.verify()
    except PermissionError:
        return UNREADABLE
    except (UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError):
        return CORRUPT
    except OSError:
        return CORRUPT
    return None


def load_image(path: str | Path) -> Image.Image | None:
    """The image at ``path`` as RGB, fully decoded; None if it is missing or corrupt."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return decode_image(data)


def decode_image(data: bytes) -> Image.Image | None:
    """Image file contents as an RGB image, fully decoded; None if they are not a valid image.

    Verified first (``verify`` catches broken PNG checksums that decoding skips), then opened
    again and decoded, since a verified PIL image cannot be used any more; decoding catches
    the truncated files that ``verify`` lets through. Transparent images are put on white,
    the background shops use, rather than black.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return _to_rgb(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


class _Downloader:
    """Fetches URLs into the image cache, each at most once.

    A host that refuses or times out once is not asked again, and after
    :data:`_OFFLINE_AFTER` such failures without a single success the network is taken to be
    absent: an offline run over thousands of URLs costs a few timeouts, not one per URL.
    """

    def __init__(
        self, folder: Path, timeout: float, enabled: bool, max_bytes: int | None = None
    ) -> None:
        self.folder = folder
        self.timeout = timeout
        self.max_bytes = max_bytes or MAX_DOWNLOAD_BYTES
        self.offline = threading.Event()
        if not enabled:
            self.offline.set()
        self._lock = threading.Lock()
        self._dead_hosts: set[str] = set()
        self._failures = 0
        self._successes = 0

    def target(self, url: str) -> Path:
        """Cache file of ``url``: the URL's hash, keeping its suffix so tools know the type."""
        suffix = Path(urlsplit(url).path).suffix.lower()
        suffix = suffix if suffix.isascii() and 1 < len(suffix) <= 5 else ""
        return self.folder / (hashlib.sha256(url.encode("utf-8")).hexdigest()[:32] + suffix)

    def fetch(self, url: str) -> tuple[Path | None, str | None]:
        """(path, None) once the image is in the cache, else (None, reason)."""
        path = self.target(url)
        if path.is_file():
            return path, None
        host = urlsplit(url).netloc.lower()
        if self.offline.is_set() or host in self._dead_hosts:
            return None, NO_NETWORK
        try:
            self._download(url, path)
        except (urllib.error.HTTPError, http.client.HTTPException):
            self._note(host, ok=True)  # the server answered: the network works, this file not
            return None, DOWNLOAD
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            self._note(host, ok=False)
            timed_out = isinstance(getattr(error, "reason", error), TimeoutError)
            return None, TIMED_OUT if timed_out else NO_NETWORK
        except (OSError, ValueError):
            return None, DOWNLOAD
        self._note(host, ok=True)
        reason = check_image(path)
        if reason is not None:
            path.unlink(missing_ok=True)
            return None, reason
        return path, None

    def _note(self, host: str, *, ok: bool) -> None:
        with self._lock:
            if ok:
                self._successes += 1
                return
            self._dead_hosts.add(host)
            self._failures += 1
            if self._successes == 0 and self._failures >= _OFFLINE_AFTER:
                self.offline.set()

    def _download(self, url: str, path: Path) -> None:
        """Into ``path``, or raise: more than the size cap (said or sent), fewer bytes than
        the server announced (a cut-off file may still pass the image check), or too many or
        non-http(s) redirects."""
        request = urllib.request.Request(url, headers={"User-Agent": "prodmatch"})
        with _OPENER.open(request, timeout=self.timeout) as response:
            said = response.headers.get("Content-Length", "").strip()
            declared = int(said) if said.isdigit() else None
            if declared is not None and declared > self.max_bytes:
                raise ValueError("download too large")
            data = response.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise ValueError("download too large")
        if declared is not None and len(data) < declared:
            raise ValueError("download cut short")
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)


class _HttpRedirectsOnly(urllib.request.HTTPRedirectHandler):
    """urllib's redirects, at most :data:`MAX_REDIRECTS` and only to http(s) addresses
    (urllib itself would follow up to 10, and to ftp://)."""

    max_redirections = MAX_REDIRECTS

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise urllib.error.HTTPError(
                newurl, code, f"redirect to {newurl!r} refused", headers, fp
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpRedirectsOnly)


def _fetch_all(
    urls: Iterable[str], downloader: _Downloader
) -> dict[str, tuple[Path | None, str | None]]:
    """Each distinct URL fetched once, a few at a time."""
    unique = list(dict.fromkeys(urls))
    if not unique:
        return {}
    downloader.folder.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=min(_DOWNLOAD_THREADS, len(unique))) as pool:
        results = list(pool.map(downloader.fetch, unique))
    return dict(zip(unique, results, strict=True))


def fetch_urls(
    urls: Iterable[str], folder: Path, *, timeout: float = DEFAULT_TIMEOUT, max_bytes: int
) -> dict[str, tuple[Path | None, str | None]]:
    """Each distinct http(s) URL downloaded into `folder` (at most `max_bytes`, giving up
    after `timeout` seconds of silence) and checked to be an image: its file, or the reason
    it has none. A URL whose file is there already is not fetched again."""
    return _fetch_all(urls, _Downloader(folder, timeout, True, max_bytes))


def _check_local(paths: Iterable[Path]) -> dict[Path, str | None]:
    """Reason per distinct local path (None: usable); files shared by listings checked once."""
    return {path: check_image(path) for path in dict.fromkeys(paths)}


def resolve_images_with_report(
    values: Sequence[object],
    base_dir: Path | None = None,
    *,
    cache_dir: Path | None = None,
    download: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[list[list[Path]], ImageReport]:
    """Usable image files per listing, and a report of what was dropped; never raises for
    bad images. See :func:`resolve_images`."""
    cells = [parse_image_cell(v) for v in values]
    downloader = _Downloader(image_cache_dir(cache_dir), timeout, download)
    fetched = _fetch_all((r for refs in cells for r in refs if is_url(r)), downloader)
    local = _check_local(_local_path(r, base_dir) for refs in cells for r in refs if not is_url(r))
    report = ImageReport(listings=len(cells))
    out: list[list[Path]] = []
    for refs in cells:
        paths: list[Path] = []
        for ref in refs:
            report.references += 1
            if is_url(ref):
                path, reason = fetched[ref]
            else:
                path = _local_path(ref, base_dir)
                reason = local[path]
            if reason is None and path is not None:
                paths.append(path)
            else:
                report.add_failure(ref, reason or DOWNLOAD)
        report.listings_without_image += not paths
        out.append(paths)
    return out, report


def resolve_images(
    values: Sequence[object],
    base_dir: Path | None = None,
    *,
    cache_dir: Path | None = None,
    download: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[list[Path]]:
    """Usable image files per listing, in the order of ``values`` (one cell per listing).

    Relative paths resolve against ``base_dir`` (the catalog file's folder). URLs are
    downloaded once into ``<cache>/images`` (file name: hash of the URL) with a short
    ``timeout``; with ``download=False`` or no network only already-cached URLs are used.
    An image that is missing, unreadable or not an image is dropped from its listing (a
    listing whose images all fail gets ``[]``); if any were dropped, one
    :class:`ImageWarning` says how many and why. Use :func:`resolve_images_with_report` to
    get the numbers as an :class:`ImageReport` instead.
    """
    paths, report = resolve_images_with_report(
        values, base_dir, cache_dir=cache_dir, download=download, timeout=timeout
    )
    if report.failed:
        warnings.warn(report.summary(), ImageWarning, stacklevel=2)
    return paths
