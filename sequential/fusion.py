"""SASRec fused with the global item graph: graph-aware item representations trained end to end.

The item table of SASRec (input and output, shared) becomes a fusion of the id embedding ``e_i`` and a graph
representation ``g_i`` from an encoder over the item graph built from ``split.train`` (never the held-out part):

.. math::
    \\text{gate:}\\quad M_i = z_i \\odot e_i + (1 - z_i) \\odot W_g g_i, \\quad z_i = \\sigma(W_z [e_i ; W_g g_i])
    \\qquad \\text{concat:}\\quad M_i = W [e_i ; g_i]

Graph encoders (anything with ``forward() -> Tensor[num_items + 1, d_g]``):

* ``encoder``: the ``gnn`` package's edge-enhanced :class:`gnn.encoders.GlobalGraphEncoder` when importable,
  else the built-in one;
* ``builtin``: :class:`WeightedGCNEncoder`, learnable id vectors propagated by PyG ``GCNConv`` with edge weights;
* ``precomputed``: frozen vectors from an :class:`~graphrec.embeddings.Embeddings` bundle (DeepWalk, EGES ...);
* ``deepwalk``: frozen vectors of :class:`walks.DeepWalk` fitted on ``split.train`` at the start of ``fit``.

Example:
    >>> import graphrec.datasets
    >>> split = graphrec.datasets.load("synthetic", num_users=200, num_items=100, num_categories=5).split()
    >>> model = FusedSASRec(max_len=20, epochs=1, graph_source="builtin", progress=False).fit(split)
    >>> model.score(split.test.histories.take([0, 1])).shape
    (2, 101)
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from graphrec.build import build_item_graph
from graphrec.embeddings import Embeddings
from graphrec.errors import ArtifactError, ConfigError
from graphrec.graph import ItemGraph
from graphrec.split import Split
from sequential.config import FUSION_SESSION_RECIPE, FusionConfig
from sequential.network import SideInfoEmbedding
from sequential.sasrec import SASRec

__all__ = ["FusedSASRec", "FusedItemEmbedding", "WeightedGCNEncoder", "PrecomputedVectors"]

log = logging.getLogger(__name__)


class WeightedGCNEncoder(nn.Module):
    """Built-in graph encoder: id vectors propagated by ``num_layers`` weighted GCN layers (PyG ``GCNConv``,
    symmetric normalisation with self-loops); the output is the mean of the input and every layer (LightGCN-style).
    """

    def __init__(self, graph: ItemGraph, dim: int, num_layers: int = 2) -> None:
        super().__init__()
        from torch_geometric.nn import GCNConv

        data = graph.to_pyg()
        self.register_buffer("edge_index", data.edge_index, persistent=False)
        self.register_buffer("edge_weight", data.edge_weight, persistent=False)
        self.emb = nn.Parameter(torch.randn(graph.num_nodes, dim) * dim ** -0.5)
        self.convs = nn.ModuleList(GCNConv(dim, dim, add_self_loops=True, normalize=True) for _ in range(num_layers))
        self.dim = dim

    def forward(self) -> torch.Tensor:
        x: torch.Tensor = self.emb
        out = [x]
        for i, conv in enumerate(self.convs):
            x = conv(x, self.edge_index, self.edge_weight)
            if i < len(self.convs) - 1:
                x = F.gelu(x)
            out.append(x)
        y = torch.stack(out).mean(0)
        return torch.cat([torch.zeros_like(y[:1]), y[1:]])


class PrecomputedVectors(nn.Module):
    """Frozen item vectors (a buffer, saved with the state_dict)."""

    def __init__(self, vectors: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("vectors", vectors.float())
        self.dim = int(vectors.shape[1])

    def forward(self) -> torch.Tensor:
        return cast(torch.Tensor, self.vectors)


class FusedItemEmbedding(nn.Module):
    """Fuse a base item table (id or id + side info) with a graph encoder's output (see the module docstring)."""

    def __init__(self, base: nn.Module, graph_encoder: nn.Module, graph_dim: int, dim: int, mode: str = "gate",
                 graph_every: int = 1) -> None:
        super().__init__()
        self.base = base
        self.graph = graph_encoder
        self.mode = mode
        self.graph_every = graph_every
        self._cache: torch.Tensor | None = None
        self._calls = 0
        if mode == "gate":
            self.proj = nn.Linear(graph_dim, dim)
            self.gate = nn.Linear(2 * dim, dim)
        else:
            self.proj = nn.Linear(dim + graph_dim, dim)
        self.norm = nn.LayerNorm(graph_dim)

    def reset_cache(self) -> None:
        """Forget the cached graph output (the trainer calls this at the start of every epoch)."""
        self._cache, self._calls = None, 0

    def _graph_output(self) -> torch.Tensor:
        if not self.training or self.graph_every <= 1:
            return cast(torch.Tensor, self.graph())
        if self._cache is None or self._calls % self.graph_every == 0:
            out = cast(torch.Tensor, self.graph())
            self._cache = out.detach()
        else:
            out = self._cache  # a stale, detached copy: the encoder gets no gradient on this step
        self._calls += 1
        return out

    def forward(self) -> torch.Tensor:
        e = self.base()
        g = self.norm(self._graph_output()) * (e.shape[1] ** -0.5)  # graph vectors to the id embeddings' scale
        if self.mode == "gate":
            gp = self.proj(g)
            z = torch.sigmoid(self.gate(torch.cat([e, gp], 1)))
            out = z * e + (1 - z) * gp
        else:
            out = self.proj(torch.cat([e, g], 1))
        return torch.cat([torch.zeros_like(out[:1]), out[1:]])


class FusedSASRec(SASRec):
    """SASRec whose item table fuses id embeddings with graph representations (:class:`FusionConfig`).

    ``fit`` builds the item graph from ``split.train`` (``graph_window``, ``graph_directed``, ``graph_top_k``, with
    edge attributes for the edge-enhanced encoder), then trains the encoder, the fusion and SASRec together.
    The graph is saved beside the model (``graph.npz``) so a loaded run rebuilds the same encoder.
    """

    name: ClassVar[str] = "fusion"
    config_class: ClassVar[type] = FusionConfig
    recipes: ClassVar[dict[str, dict[str, Any]]] = {"session": FUSION_SESSION_RECIPE}
    config: FusionConfig

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.graph_: ItemGraph | None = None
        self.encoder_kind_: str | None = None

    def _item_encoder(self, split: Split) -> nn.Module:
        cfg = self.config
        base = super()._item_encoder(split)
        if cfg.graph_source in ("precomputed", "deepwalk"):
            emb = self._walk_vectors(split) if cfg.graph_source == "deepwalk" else Embeddings.load(
                cfg.precomputed_path)  # type: ignore[arg-type]
            if emb.vocab.size != split.num_items or not np.array_equal(emb.vocab.ids, split.vocab.ids):
                source = cfg.precomputed_path or "fitted"
                raise ConfigError(f"the {cfg.graph_source} vectors ({source}) use a different item vocabulary "
                                  f"({emb.vocab.size} items) than {split.name} ({split.num_items} items)")
            self.encoder_kind_ = "precomputed"
            graph: nn.Module = PrecomputedVectors(torch.from_numpy(emb.vectors))
        else:
            self.graph_ = build_item_graph(split.train, window=cfg.graph_window, directed=cfg.graph_directed,
                                           top_k=cfg.graph_top_k, edge_attributes=True, vocab=split.vocab,
                                           side_info=split.side_info, symmetric=not cfg.graph_directed)
            graph = self._graph_encoder(self.graph_, cfg.graph_source)
        return FusedItemEmbedding(base, graph, cast(int, graph.dim), cfg.embedding_dim, cfg.fusion, cfg.graph_every)

    def _walk_vectors(self, split: Split) -> Embeddings:
        """``graph_source="deepwalk"``: DeepWalk with its defaults on ``split.train``, one skip-gram thread (the
        same vectors for a seed on any machine), seeded by ``seed``."""
        from walks import DeepWalk

        t0 = time.perf_counter()
        emb = DeepWalk(workers=1, seed=self.config.seed).fit(split).item_embeddings()
        log.info("DeepWalk vectors of %d items for the fusion in %.0f s", split.num_items, time.perf_counter() - t0)
        return emb

    def _graph_encoder(self, graph: ItemGraph, source: str) -> nn.Module:
        cfg = self.config
        if source == "encoder":
            try:
                from gnn.encoders import GlobalGraphEncoder
            except ImportError as exc:
                log.warning("gnn's GlobalGraphEncoder is not available (%s): using the built-in encoder", exc)
            else:
                self.encoder_kind_ = "gnn"
                return GlobalGraphEncoder(graph, dim=cfg.graph_dim, num_layers=cfg.graph_layers)
        self.encoder_kind_ = "builtin"
        return WeightedGCNEncoder(graph, cfg.graph_dim, cfg.graph_layers)

    # ------------------------------------------------------------------ persistence
    def _network_meta(self) -> dict[str, Any]:
        meta = super()._network_meta()
        base = self._net().item_encoder.base
        meta["encoder"] = type(base).__name__
        if isinstance(base, SideInfoEmbedding):
            meta["side_values"] = base.value_counts()
        meta["graph_encoder"] = self.encoder_kind_
        return meta

    def _save_state(self, directory: Path) -> None:
        super()._save_state(directory)
        if self.graph_ is not None:
            self.graph_.save(directory / "graph.npz")

    def _encoder_from_state(self, meta: dict[str, Any], state: dict[str, torch.Tensor],
                            prefix: str = "item_encoder.") -> nn.Module:
        cfg = self.config
        base = super()._encoder_from_state(meta, state, prefix + "base.")
        kind = meta.get("graph_encoder")
        self.encoder_kind_ = kind
        if kind == "precomputed":
            graph: nn.Module = PrecomputedVectors(state[f"{prefix}graph.vectors"])
        elif kind in ("gnn", "builtin"):
            path = self._run_dir / "graph.npz"
            self.graph_ = ItemGraph.load(path)
            graph = self._graph_encoder(self.graph_, "encoder" if kind == "gnn" else "builtin")
        else:
            raise ArtifactError(f"unknown graph encoder {kind!r} in network.json")
        return FusedItemEmbedding(base, graph, cast(int, graph.dim), cfg.embedding_dim, cfg.fusion, cfg.graph_every)

    def _load_state(self, directory: Path) -> None:
        self._run_dir = Path(directory)
        super()._load_state(directory)
