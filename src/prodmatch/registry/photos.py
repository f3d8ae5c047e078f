"""Listings' photos fetched into the registry folder, when asked to: off by default.

Off (the default), a photo is a URL stored with its listing and nothing is fetched: no
socket is opened. With `fetch`, every http(s) photo URL of an upsert is downloaded by
`prodmatch.images.load`'s downloader (at most `max_bytes`, given up after `timeout` seconds
of silence, redirects only to http(s)), checked to be an image, and kept under DIR/photos,
named by the URL's hash (a URL already there is not fetched again). A photo that fails costs
its listing nothing but a reason in the answer: the listing is stored and matched on its
text. Anything that is not an http(s) URL is never opened (no request may name a file on
the server).

The registry matches on text: the image signals of `prodmatch match` are not computed here
yet, so a fetched photo is validated and kept, not encoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodmatch.errors import ProdmatchError

PHOTO_MODES = ("off", "fetch")
PHOTO_DIR = "photos"
MAX_PHOTO_BYTES = 5 * 1024 * 1024  # a product photo is far smaller
PHOTO_TIMEOUT = 5.0  # seconds a download may stall: a dead host must not hold up a batch
NOT_A_URL = "not an http(s) URL"


@dataclass(frozen=True)
class PhotoFetcher:
    """Downloads photo URLs into `folder`, each within the size cap and the timeout."""

    folder: Path
    max_bytes: int = MAX_PHOTO_BYTES
    timeout: float = PHOTO_TIMEOUT

    @classmethod
    def of_mode(cls, mode: str, folder: Path) -> PhotoFetcher | None:
        """The fetcher a registry in `folder` uses under `mode` (None: photos are not fetched)."""
        if mode not in PHOTO_MODES:
            raise ProdmatchError(f"photos must be one of {', '.join(PHOTO_MODES)} (got {mode!r})")
        return cls(folder / PHOTO_DIR) if mode == "fetch" else None

    def fetch(self, photos: Sequence[str | None]) -> list[dict[str, Any] | None]:
        """Per listing: None without a photo, else whether it was fetched and, if not, why."""
        from prodmatch.images.load import fetch_urls, is_url

        urls = [photo for photo in photos if photo and is_url(photo)]
        found = fetch_urls(urls, self.folder, timeout=self.timeout, max_bytes=self.max_bytes)
        out: list[dict[str, Any] | None] = []
        for photo in photos:
            if not photo:
                out.append(None)
                continue
            reason = found[photo][1] if is_url(photo) else NOT_A_URL
            out.append({"fetched": reason is None, "reason": reason})
        return out
