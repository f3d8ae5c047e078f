"""A catalog's photos as the linker needs them: usable files and one vector per listing.

Matching must never stop for a photo. A listing whose photos are all missing, unreadable,
corrupt or behind a dead link is matched on its text alone (``has_image`` False), and what
went wrong in a catalog is summed up in a single :class:`ImageWarning` naming the catalog,
not one message per file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from prodmatch.errors import ProdmatchError
from prodmatch.images.load import CORRUPT, ImageReport, ImageWarning, resolve_images_with_report

if TYPE_CHECKING:
    from prodmatch.data.catalog import Catalog
    from prodmatch.images.encoder import ImageEncoder

__all__ = ["CatalogImages", "encode_catalog_images", "image_base_dir", "image_cells"]

FloatMatrix = npt.NDArray[np.float32]
BoolVector = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class CatalogImages:
    """Row i belongs to the catalog's i-th listing: its usable photo files, the normalised
    mean of their vectors (zeros without one) and whether it has any."""

    paths: list[list[Path]]
    vectors: FloatMatrix
    has_image: BoolVector
    report: ImageReport


def image_base_dir(catalog: Catalog) -> Path | None:
    """Where relative image paths start: the catalog file's folder (for a DeepMatcher folder,
    that of tableA/tableB), as exports write paths next to the table; None for in-memory
    catalogs, whose relative paths start at the working directory."""
    return catalog.source.parent if catalog.source is not None else None


def image_cells(catalog: Catalog, column: str) -> list[str]:
    """The image column's cells, one per listing; a catalog without it is a one-line error."""
    if column not in catalog.columns:
        raise ProdmatchError(
            f"{catalog.name}: no image column '{column}'; columns are {', '.join(catalog.columns)}"
        )
    return [str(value) for value in catalog.records[column]]


def encode_catalog_images(
    catalog: Catalog, column: str, encoder: ImageEncoder, *, progress: bool = True
) -> CatalogImages:
    """Resolve, check and encode every listing's photos; warns once if any could not be used.

    Files that pass the cheap structural check but fail to decode (a truncated JPEG) are
    counted with the rest, so the warning's count is the whole story.
    """
    cells = image_cells(catalog, column)
    found, report = resolve_images_with_report(cells, image_base_dir(catalog))
    unique = list(dict.fromkeys(path for paths in found for path in paths))
    vectors, ok = encoder.encode_files(
        unique, progress=progress, description=f"encoding {catalog.name} images"
    )
    broken = {path for path, good in zip(unique, ok, strict=True) if not good}
    for path in broken:
        report.add_failure(str(path), CORRUPT)
    usable = [[path for path in paths if path not in broken] for paths in found]
    listing_vectors, has_image = _listing_vectors(usable, unique, vectors, encoder.dim)
    report.listings_without_image = int((~has_image).sum())
    if report.failed:
        warnings.warn(_warning(catalog.name, report), ImageWarning, stacklevel=2)
    return CatalogImages(usable, listing_vectors, has_image, report)


def _listing_vectors(
    paths: list[list[Path]], unique: list[Path], vectors: FloatMatrix, dim: int
) -> tuple[FloatMatrix, BoolVector]:
    """Per listing, the renormalised mean of its photos' vectors (as ImageEncoder.encode)."""
    row = {path: i for i, path in enumerate(unique)}
    out = np.zeros((len(paths), dim), dtype=np.float32)
    has_image = np.zeros(len(paths), dtype=bool)
    for i, listing in enumerate(paths):
        if listing:
            total = vectors[[row[path] for path in listing]].sum(axis=0)
            norm = float(np.linalg.norm(total))
            out[i] = total / norm if norm > 0 else total
            has_image[i] = True
    return out, has_image


def _warning(name: str, report: ImageReport) -> str:
    """One line: what failed and how many listings fall back to their text."""
    return (
        f"{name}: {report.summary()}; {report.listings_without_image} of {report.listings} "
        "listings have no usable photo and are matched on their text alone"
    )
