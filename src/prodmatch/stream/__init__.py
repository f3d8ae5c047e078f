"""Matching catalogs larger than memory, chunk by chunk, resumable (see `pipeline`)."""

from prodmatch.stream.pipeline import ReadOptions, StreamMatcher, StreamResult
from prodmatch.stream.store import SideStore

__all__ = ["ReadOptions", "SideStore", "StreamMatcher", "StreamResult"]
