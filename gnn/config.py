"""Frozen configuration of the GNN recommenders (defaults are the best settings measured; see benchmarks/)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from graphrec.errors import ConfigError

__all__ = ["GNNConfig", "GraphSAGEConfig", "PinSAGEConfig", "EdgeGNNConfig"]


@dataclass(frozen=True)
class GNNConfig:
    """Settings shared by every GNN recommender and its training loop.

    Graph: ``window``/``top_k`` build the undirected co-occurrence graph of the train sequences (with edge
    attributes). Training pairs: item ``a`` and an item at most ``pair_window`` positions after it in a train
    sequence. An epoch visits ``min(#pairs, max_pairs_per_epoch)`` pairs in random order; validation recall
    (the shared evaluator on ``split.valid``, last item as query, cosine) drives early stopping.
    """

    embedding_dim: int = 64
    num_layers: int = 2
    window: int = 3
    top_k: int | None = 20
    pair_window: int = 1
    epochs: int = 30
    batch_size: int = 1024
    lr: float = 0.003
    weight_decay: float = 0.0
    dropout: float = 0.0
    num_negatives: int = 2048
    in_batch_negatives: bool = False
    temperature: float = 0.1
    max_pairs_per_epoch: int | None = 200_000
    use_side_info: bool = True
    id_dropout: float = 0.1
    eval_every: int = 1
    eval_cases: int | None = 5000
    monitor: str = "Recall@10"
    patience: int = 3
    seed: int = 0
    num_threads: int | None = None
    progress: bool = True
    checkpoint_dir: str | None = None
    resume: bool = True
    pooling: Literal["last", "mean", "mean_recent"] = "last"
    similarity: Literal["dot", "cosine"] = "cosine"

    def validate(self) -> None:
        positive = ("embedding_dim", "num_layers", "window", "pair_window", "epochs", "batch_size", "eval_every",
                    "patience")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1 (got {getattr(self, name)})")
        if self.top_k is not None and self.top_k < 1:
            raise ConfigError(f"top_k must be >= 1 or None (got {self.top_k})")
        if self.lr <= 0 or self.temperature <= 0:
            raise ConfigError(f"lr and temperature must be > 0 (got {self.lr}, {self.temperature})")
        if not 0.0 <= self.id_dropout < 1.0 or not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"id_dropout and dropout must be in [0, 1) (got {self.id_dropout}, {self.dropout})")
        if self.num_negatives < 0:
            raise ConfigError(f"num_negatives must be >= 0 (got {self.num_negatives})")
        if self.max_pairs_per_epoch is not None and self.max_pairs_per_epoch < 1:
            raise ConfigError(f"max_pairs_per_epoch must be >= 1 or None (got {self.max_pairs_per_epoch})")


@dataclass(frozen=True)
class GraphSAGEConfig(GNNConfig):
    """GraphSAGE: ``fanouts[l]`` sampled neighbours at hop ``l + 1`` (nearest first), one per layer."""

    aggregator: Literal["mean", "gcn", "pool", "lstm"] = "mean"
    fanouts: tuple[int, ...] = (10, 5)
    weighted_sampling: bool = True
    inference_fanouts: tuple[int, ...] | None = (20, 20)

    def validate(self) -> None:
        super().validate()
        for name in ("fanouts", "inference_fanouts"):
            value = getattr(self, name)
            if value is None:
                continue
            if len(value) != self.num_layers or min(value) < 1:
                raise ConfigError(f"{name} must hold num_layers={self.num_layers} counts >= 1 (got {value})")


@dataclass(frozen=True)
class PinSAGEConfig(GNNConfig):
    """PinSAGE: importance neighbourhoods (``top_t`` of ``num_steps`` restart-walk visits); random negatives plus
    hard negatives (PPR ranks ``hard_band``), ``+1`` hard negative per query per epoch up to ``hard_negatives``
    (the curriculum). ``loss='hinge'`` is the paper's max-margin loss; ``softmax`` (sampled softmax over the
    same negatives) is the default because it measured better (benchmarks/results/gnn_recall.md)."""

    num_steps: int = 200
    restart_prob: float = 0.3
    top_t: int = 10
    margin: float = 0.1
    hard_negatives: int = 3
    hard_band: tuple[int, ...] = (20, 100)
    hard_steps: int = 1000
    loss: Literal["hinge", "softmax"] = "softmax"

    def validate(self) -> None:
        super().validate()
        if self.num_steps < 1 or self.top_t < 1:
            raise ConfigError(f"num_steps and top_t must be >= 1 (got {self.num_steps}, {self.top_t})")
        if not 0.0 < self.restart_prob <= 1.0:
            raise ConfigError(f"restart_prob must be in (0, 1] (got {self.restart_prob})")
        if len(self.hard_band) != 2 or not 0 <= self.hard_band[0] < self.hard_band[1]:
            raise ConfigError(f"hard_band must be (lo, hi) with 0 <= lo < hi (got {self.hard_band})")
        if self.margin <= 0 or self.hard_negatives < 0:
            raise ConfigError(f"margin must be > 0 and hard_negatives >= 0 (got {self.margin}, {self.hard_negatives})")


@dataclass(frozen=True)
class EdgeGNNConfig(GNNConfig):
    """EdgeGNN: :class:`~gnn.encoders.GlobalGraphEncoder` trained alone (full graph every step, so few large
    batches). ``num_negatives = 0`` scores every item (full softmax, slow on large catalogues)."""

    variant: Literal["disentangled", "transformer"] = "disentangled"
    num_channels: int = 4
    routing_iters: int = 1
    heads: int = 2
    use_edge_attr: bool = True
    top_k: int | None = 10
    batch_size: int = 8192
    lr: float = 0.01

    def validate(self) -> None:
        super().validate()
        if self.num_channels < 1 or self.embedding_dim % self.num_channels:
            raise ConfigError(f"embedding_dim ({self.embedding_dim}) must be divisible by num_channels "
                              f"({self.num_channels})")
        if self.routing_iters < 1 or self.heads < 1:
            raise ConfigError(f"routing_iters and heads must be >= 1 (got {self.routing_iters}, {self.heads})")
