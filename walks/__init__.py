"""graphrec.walks: random-walk item embeddings (DeepWalk, node2vec, EGES) on numba walk kernels."""

from typing import Any

from walks.generate import METHODS, RandomWalker, WalkStats, generate_walks
from walks.models import DeepWalk, DeepWalkConfig, Node2Vec, Node2VecConfig
from walks.skipgram import SkipGramResult, train_skipgram

__all__ = [
    "DeepWalk", "DeepWalkConfig", "Node2Vec", "Node2VecConfig", "EGES", "EGESConfig", "GES", "GESConfig",
    "RandomWalker", "WalkStats", "generate_walks", "METHODS", "SkipGramResult", "train_skipgram",
]

_LAZY = {"EGES", "EGESConfig", "GES", "GESConfig"}  # imported on first use: they need torch


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from walks import eges

        return getattr(eges, name)
    raise AttributeError(f"module 'walks' has no attribute {name!r}")
