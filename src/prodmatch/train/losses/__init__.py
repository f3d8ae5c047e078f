"""Contrastive losses for product embeddings, one per module (sentence-transformers style)."""

from prodmatch.train.losses.infonce import InfoNCELoss, info_nce_loss
from prodmatch.train.losses.infonce_queue import QueueInfoNCELoss, info_nce_queue_loss
from prodmatch.train.losses.supcon import SupConLoss, supcon_loss
from prodmatch.train.losses.supcon_queue import QueueSupConLoss, supcon_queue_loss

__all__ = [
    "InfoNCELoss",
    "QueueInfoNCELoss",
    "QueueSupConLoss",
    "SupConLoss",
    "info_nce_loss",
    "info_nce_queue_loss",
    "supcon_loss",
    "supcon_queue_loss",
]
