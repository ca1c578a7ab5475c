"""graphrec.walks: random-walk item embeddings (DeepWalk, node2vec, EGES) on numba walk kernels."""

from walks.generate import METHODS, RandomWalker, WalkStats, generate_walks
from walks.models import DeepWalk, DeepWalkConfig, Node2Vec, Node2VecConfig
from walks.skipgram import SkipGramResult, train_skipgram

__all__ = [
    "DeepWalk", "DeepWalkConfig", "Node2Vec", "Node2VecConfig", "RandomWalker", "WalkStats", "generate_walks",
    "METHODS", "SkipGramResult", "train_skipgram",
]
