"""Training foundations: contrastive losses, product clusters, and heads on frozen embeddings."""

from prodmatch.matcher.head import MatchHead, PairClassifier, ProjectionHead
from prodmatch.train.clusters import ClusterBatchSampler, Clusters, build_clusters, listing_key
from prodmatch.train.head_trainer import (
    HeadTrainingConfig,
    HeadTrainingResult,
    ListingVectors,
    head_probabilities,
    pair_features,
    train_head,
)
from prodmatch.train.losses import InfoNCELoss, SupConLoss, info_nce_loss, supcon_loss

__all__ = [
    "ClusterBatchSampler",
    "Clusters",
    "HeadTrainingConfig",
    "HeadTrainingResult",
    "InfoNCELoss",
    "ListingVectors",
    "MatchHead",
    "PairClassifier",
    "ProjectionHead",
    "SupConLoss",
    "build_clusters",
    "head_probabilities",
    "info_nce_loss",
    "listing_key",
    "pair_features",
    "supcon_loss",
    "train_head",
]
