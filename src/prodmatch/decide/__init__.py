"""Decisions: which scored candidate pairs are matches."""

from prodmatch.decide.assign import Assignment, assign
from prodmatch.decide.cluster import connected_components
from prodmatch.decide.threshold import best_threshold

__all__ = ["Assignment", "assign", "best_threshold", "connected_components"]
