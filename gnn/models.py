"""GraphSAGE, PinSAGE and EdgeGNN recommenders: item encoders over the co-occurrence graph of the train split.

All three follow the project contract (:class:`~graphrec.model.EmbeddingRecommender`): ``fit(split)`` trains with
:func:`gnn.trainer.fit`, ``item_embeddings()`` gives one vector per item (cold items with side info included:
the inputs are id embeddings plus side-information embeddings), and scoring uses the last history item as the
query (cosine). Registered in :data:`graphrec.model.MODELS` as ``graphsage``, ``pinsage`` and ``edge-gnn``.

Example:
    >>> from graphrec import datasets
    >>> split = datasets.load("synthetic", num_users=200, num_items=100, num_categories=5).split()
    >>> model = GraphSAGE(epochs=1, progress=False).fit(split)
    >>> model.item_embeddings().vectors.shape
    (101, 64)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from gnn.config import EdgeGNNConfig, GNNConfig, GraphSAGEConfig, PinSAGEConfig
from gnn.encoders import GlobalGraphEncoder
from gnn.features import ItemFeatures
from gnn.losses import full_softmax_loss, hinge_loss, sampled_softmax_loss
from gnn.modules import PinSAGEStack, SAGEStack
from gnn.samplers import importance_neighbors, sample_blocks, sample_neighbors, table_blocks, weight_tables
from graphrec.build import build_item_graph
from graphrec.config import to_dict
from graphrec.embeddings import Embeddings
from graphrec.graph import ItemGraph
from graphrec.model import EmbeddingRecommender
from graphrec.split import Split

__all__ = ["GNNRecommender", "GraphSAGE", "PinSAGE", "EdgeGNN"]

log = logging.getLogger(__name__)


class GNNRecommender(EmbeddingRecommender):
    """Shared plumbing: graph building, features, the training hooks used by :func:`gnn.trainer.fit`."""

    name: ClassVar[str] = "gnn"
    config_class: ClassVar[type] = GNNConfig
    graph_: ItemGraph
    module_: nn.Module
    known_: np.ndarray

    def fit(self, split: Split) -> GNNRecommender:
        from gnn.trainer import fit

        return fit(self, split)

    # ------------------------------------------------------------------ hooks of the training loop
    def prepare(self, split: Split) -> None:
        """Build the item graph of ``split.train``, the known-item mask and the module."""
        cfg = self.config
        side = split.side_info if cfg.use_side_info else None
        self.graph_ = build_item_graph(split.train, window=cfg.window, directed=False, edge_attributes=True,
                                       top_k=cfg.top_k, side_info=side, vocab=split.vocab)
        self.known_ = split.train.item_counts() > 0
        self.known_[0] = False
        self.module_ = self.build_module(self.graph_)

    def features(self, graph: ItemGraph) -> ItemFeatures:
        return ItemFeatures(graph.num_nodes, self.config.embedding_dim, graph.side_info, self.known_,
                            id_dropout=self.config.id_dropout)

    def build_module(self, graph: ItemGraph) -> nn.Module:
        raise NotImplementedError

    def start_epoch(self, epoch: int, rng: np.random.Generator) -> None:
        """Called before each training epoch."""

    def batch_loss(self, q: np.ndarray, p: np.ndarray, negs: np.ndarray, epoch: int,
                   rng: np.random.Generator) -> torch.Tensor:
        raise NotImplementedError

    def embed_all(self) -> torch.Tensor:
        """Vectors of every node ``[N + 1, dim]`` (eval mode, no grad)."""
        raise NotImplementedError

    def refresh(self) -> None:
        """Recompute ``embeddings_`` from the current weights."""
        self.module_.eval()
        with torch.no_grad():
            vectors = self.embed_all().numpy().astype(np.float32)
        vectors[0] = 0.0
        known = self.known_.copy()
        if self.graph_.side_info is not None:
            known |= self.graph_.side_info.items_with_info()
        known[0] = False
        vectors[~known] = 0.0
        assert self.vocab_ is not None, "set by fit"
        self.embeddings_ = Embeddings(self.vocab_, vectors, {"model": self.name, **to_dict(self.config)}, known)
        self._normed = None

    def _save_state(self, directory: Path) -> None:
        super()._save_state(directory)
        if getattr(self, "module_", None) is not None:
            torch.save(self.module_.state_dict(), directory / "model.pt")


class GraphSAGE(GNNRecommender):
    """GraphSAGE (Hamilton, Ying & Leskovec, NeurIPS 2017) on the item co-occurrence graph.

    Minibatches sample ``fanouts`` neighbours per hop (weighted by co-occurrence when ``weighted_sampling``);
    the loss is a sampled softmax of each next item against the batch's other positives and ``num_negatives``
    shared random items. Inference runs layer by layer over all items with ``inference_fanouts`` neighbours.
    See :class:`~gnn.config.GraphSAGEConfig`.
    """

    name: ClassVar[str] = "graphsage"
    config_class: ClassVar[type] = GraphSAGEConfig

    def build_module(self, graph: ItemGraph) -> nn.Module:
        self.tables_ = weight_tables(graph.indptr, graph.weights)
        cfg = self.config
        return SAGEStack(self.features(graph), cfg.embedding_dim, cfg.num_layers, cfg.aggregator, cfg.dropout)

    def batch_loss(self, q: np.ndarray, p: np.ndarray, negs: np.ndarray, epoch: int,
                   rng: np.random.Generator) -> torch.Tensor:
        cfg, g = self.config, self.graph_
        seeds, inv = np.unique(np.concatenate([q, p, negs]), return_inverse=True)
        sub = sample_blocks(g.indptr, g.indices, g.weights, seeds, cfg.fanouts, int(rng.integers(2**31)),
                            cfg.weighted_sampling, self.tables_)
        z = self.module_(sub)
        b = len(q)
        return sampled_softmax_loss(z[inv[:b]], z[inv[b:2 * b]], z[inv[2 * b:]], torch.from_numpy(p),
                                    torch.from_numpy(negs), cfg.temperature, cfg.in_batch_negatives)

    def embed_all(self) -> torch.Tensor:
        cfg, g = self.config, self.graph_
        fanouts = cfg.inference_fanouts or cfg.fanouts
        nodes = np.arange(g.num_nodes, dtype=np.int64)
        tables = [sample_neighbors(g.indptr, g.indices, *self.tables_, nodes, int(f), cfg.seed + 7 * i,
                                   cfg.weighted_sampling)[0] for i, f in enumerate(reversed(fanouts))]
        return self.module_.infer(tables)  # type: ignore[operator]


class PinSAGE(GNNRecommender):
    """PinSAGE (Ying et al., KDD 2018): importance pooling over random-walk neighbourhoods, max-margin loss.

    Each item's neighbours are the ``top_t`` most visited items of ``num_steps`` random-walk-with-restart
    steps, weighted by L1-normalised visit counts. Positives are next-item pairs; negatives are shared random
    items plus, from epoch ``e``, ``min(e, hard_negatives)`` hard negatives per query drawn from its PPR rank
    band ``hard_band`` (the curriculum). See :class:`~gnn.config.PinSAGEConfig`.
    """

    name: ClassVar[str] = "pinsage"
    config_class: ClassVar[type] = PinSAGEConfig

    def build_module(self, graph: ItemGraph) -> nn.Module:
        cfg = self.config
        tables = weight_tables(graph.indptr, graph.weights)
        nodes = np.arange(graph.num_nodes, dtype=np.int64)
        self.neighbors_, self.neighbor_weights_ = importance_neighbors(
            graph.indptr, graph.indices, *tables, nodes, cfg.num_steps, cfg.restart_prob, cfg.top_t, cfg.seed, True)
        lo, hi = cfg.hard_band
        self.hard_ = importance_neighbors(graph.indptr, graph.indices, *tables, nodes, cfg.hard_steps,
                                          cfg.restart_prob, hi - lo, cfg.seed + 1, True, lo)[0]
        return PinSAGEStack(self.features(graph), cfg.embedding_dim, cfg.num_layers)

    def _hard(self, q: np.ndarray, count: int, negs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        cols = rng.integers(0, self.hard_.shape[1], size=(len(q), count))
        hard = self.hard_[q[:, None], cols].astype(np.int64)
        missing = hard < 0  # too few visited nodes: fall back to random items
        hard[missing] = negs[rng.integers(0, len(negs), int(missing.sum()))] if len(negs) else 1
        return hard

    def batch_loss(self, q: np.ndarray, p: np.ndarray, negs: np.ndarray, epoch: int,
                   rng: np.random.Generator) -> torch.Tensor:
        cfg = self.config
        count = min(epoch, cfg.hard_negatives)
        hard = self._hard(q, count, negs, rng)
        seeds, inv = np.unique(np.concatenate([q, p, negs, hard.ravel()]), return_inverse=True)
        z = self.module_(table_blocks(self.neighbors_, self.neighbor_weights_, seeds, cfg.num_layers))
        b, m = len(q), len(negs)
        zq, zp, zn = z[inv[:b]], z[inv[b:2 * b]], z[inv[2 * b:2 * b + m]]
        zh = z[inv[2 * b + m:]].view(b, count, z.shape[1])
        if cfg.loss == "hinge":
            return hinge_loss(zq, zp, zn, cfg.margin, zh)
        return sampled_softmax_loss(zq, zp, torch.cat([zn, zh.reshape(-1, zh.shape[-1])]), torch.from_numpy(p),
                                    torch.from_numpy(np.concatenate([negs, hard.ravel()])), cfg.temperature,
                                    cfg.in_batch_negatives)

    def embed_all(self) -> torch.Tensor:
        return self.module_.infer(self.neighbors_, self.neighbor_weights_)  # type: ignore[operator]


class EdgeGNN(GNNRecommender):
    """Edge-enhanced global-graph encoder (:class:`~gnn.encoders.GlobalGraphEncoder`) trained for next-item
    recall: every step encodes the whole graph, then a (full or sampled) softmax scores the next items.

    Edge features are ``log1p(weight)``, ``log_count``, ``log_gap``, ``forward_share`` and ``negative_share``;
    ``use_edge_attr=False`` zeroes them (the ablation). See :class:`~gnn.config.EdgeGNNConfig`.
    """

    name: ClassVar[str] = "edge-gnn"
    config_class: ClassVar[type] = EdgeGNNConfig

    def build_module(self, graph: ItemGraph) -> nn.Module:
        cfg = self.config
        return GlobalGraphEncoder(graph, cfg.embedding_dim, cfg.num_layers, cfg.variant, cfg.num_channels,
                                  cfg.routing_iters, cfg.heads, cfg.use_edge_attr, cfg.use_side_info, self.known_,
                                  cfg.id_dropout, cfg.dropout)

    @property
    def encoder_(self) -> GlobalGraphEncoder:
        return self.module_  # type: ignore[return-value]

    def batch_loss(self, q: np.ndarray, p: np.ndarray, negs: np.ndarray, epoch: int,
                   rng: np.random.Generator) -> torch.Tensor:
        z = self.module_()
        zq = z[torch.from_numpy(q)]
        if len(negs) == 0:
            return full_softmax_loss(zq, z, torch.from_numpy(p), self.config.temperature)
        return sampled_softmax_loss(zq, z[torch.from_numpy(p)], z[torch.from_numpy(negs)], torch.from_numpy(p),
                                    torch.from_numpy(negs), self.config.temperature, self.config.in_batch_negatives)

    def embed_all(self) -> torch.Tensor:
        return self.module_()
