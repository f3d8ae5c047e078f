"""Text encoders: a listing's text to one normalised vector, cached on disk."""

from prodmatch.encode.cache import EmbeddingCache
from prodmatch.encode.encoder import TextEncoder
from prodmatch.encode.models import DEFAULT_MODEL, resolve_model_path

__all__ = ["DEFAULT_MODEL", "EmbeddingCache", "TextEncoder", "resolve_model_path"]
