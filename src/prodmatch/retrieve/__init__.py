"""Candidate retrieval: for each listing, the few listings on the other side worth scoring."""

from prodmatch.retrieve.dense import DenseIndex
from prodmatch.retrieve.hybrid import Candidates, retrieve_candidates
from prodmatch.retrieve.sparse import SparseIndex

__all__ = ["Candidates", "DenseIndex", "SparseIndex", "retrieve_candidates"]
