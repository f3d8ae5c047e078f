"""Contrastive losses for product embeddings, one per module (sentence-transformers style)."""

from prodmatch.train.losses.infonce import InfoNCELoss, info_nce_loss
from prodmatch.train.losses.supcon import SupConLoss, supcon_loss

__all__ = ["InfoNCELoss", "SupConLoss", "info_nce_loss", "supcon_loss"]
