"""Product images: resolve a catalog's image column, encode photos, fuse them with text, and
find listings that reuse one photo.

The torch-based parts (:class:`ImageEncoder`, :class:`FusionHead`, :class:`ImageAugment`) load
on first use, so resolving paths or hashing photos does not pay for importing torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from prodmatch.images.load import (
    ImageReport,
    ImageWarning,
    check_image,
    decode_image,
    image_cache_dir,
    load_image,
    parse_image_cell,
    resolve_images,
    resolve_images_with_report,
)
from prodmatch.images.phash import listing_hashes, photo_hash, same_photo_pairs

if TYPE_CHECKING:
    from prodmatch.images.encoder import DEFAULT_IMAGE_MODEL, ImageEncoder
    from prodmatch.images.fusion import FusionHead, ImageAugment

__all__ = [
    "DEFAULT_IMAGE_MODEL",
    "FusionHead",
    "ImageAugment",
    "ImageEncoder",
    "ImageReport",
    "ImageWarning",
    "check_image",
    "decode_image",
    "image_cache_dir",
    "listing_hashes",
    "load_image",
    "parse_image_cell",
    "photo_hash",
    "resolve_images",
    "resolve_images_with_report",
    "same_photo_pairs",
]

_LAZY = {
    "DEFAULT_IMAGE_MODEL": "prodmatch.images.encoder",
    "ImageEncoder": "prodmatch.images.encoder",
    "FusionHead": "prodmatch.images.fusion",
    "ImageAugment": "prodmatch.images.fusion",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'prodmatch.images' has no attribute {name!r}")
    return getattr(import_module(module), name)
