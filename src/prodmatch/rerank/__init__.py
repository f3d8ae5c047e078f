"""Re-ranking: a cross-encoder reads each doubtful candidate pair as one text."""

from prodmatch.rerank.cross_encoder import CrossEncoder
from prodmatch.rerank.reranker import Blend, Reranker, fit_blend

__all__ = ["Blend", "CrossEncoder", "Reranker", "fit_blend"]
