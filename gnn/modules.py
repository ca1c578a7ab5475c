"""The GraphSAGE and PinSAGE towers: input features -> sampled-block message passing -> item vectors."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from gnn.features import ItemFeatures
from gnn.layers import PinSAGEConv, sage_conv
from gnn.samplers import SampledSubgraph

__all__ = ["SAGEStack", "PinSAGEStack", "full_block"]


def _gcn_loops(edge_index: torch.Tensor, num_dst: int) -> torch.Tensor:
    loops = torch.arange(num_dst).repeat(2, 1)
    return torch.cat([edge_index, loops], dim=1)


def full_block(neighbors: NDArray[np.int32]) -> torch.Tensor:
    """``edge_index`` over all nodes from a ``[N, S]`` neighbour table (``-1`` = none), sorted by target."""
    rows = np.repeat(np.arange(len(neighbors), dtype=np.int64), neighbors.shape[1]).reshape(neighbors.shape)
    valid = neighbors >= 0
    return torch.from_numpy(np.stack([neighbors[valid].astype(np.int64), rows[valid]]))


class SAGEStack(nn.Module):
    """GraphSAGE over :class:`~gnn.samplers.SampledSubgraph` blocks (or full-graph blocks for inference).

    Args:
        features: Input features. dim: Hidden and output size. num_layers: Layers.
        aggregator: ``mean``, ``gcn``, ``pool`` (max-pooling) or ``lstm``. dropout: Between layers.
    """

    def __init__(self, features: ItemFeatures, dim: int, num_layers: int, aggregator: str = "mean",
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.features = features
        self.aggregator = aggregator
        self.dropout = dropout
        self.convs = nn.ModuleList(sage_conv(features.dim if i == 0 else dim, dim, aggregator)
                                   for i in range(num_layers))

    def layer(self, i: int, x_src: torch.Tensor, num_dst: int, edge_index: torch.Tensor) -> torch.Tensor:
        """Layer ``i`` on a bipartite block whose targets are the first ``num_dst`` sources."""
        if self.aggregator == "gcn":
            edge_index = _gcn_loops(edge_index, num_dst)
        x = self.convs[i]((x_src, x_src[:num_dst]), edge_index, size=(len(x_src), num_dst))
        if i < len(self.convs) - 1:
            x = F.dropout(F.relu(x), self.dropout, self.training)
        return x

    def forward(self, sub: SampledSubgraph) -> torch.Tensor:
        """Vectors of the ``sub.num_seeds`` seeds."""
        x = self.features(torch.from_numpy(sub.n_id))
        for i, block in enumerate(reversed(sub.blocks)):
            x = self.layer(i, x, block.size[1], torch.from_numpy(block.edge_index))
        return x[: sub.num_seeds]

    @torch.no_grad()
    def infer(self, tables: list[NDArray[np.int32]]) -> torch.Tensor:
        """Layer-wise inference for every node; ``tables[i]`` is the ``[N, S]`` neighbour table of layer ``i``."""
        x = self.features()
        for i, table in enumerate(tables):
            x = self.layer(i, x, len(x), full_block(table))
        return x


class PinSAGEStack(nn.Module):
    """PinSAGE: importance-pooling convolutions, then a two-layer dense head ``G_2 ReLU(G_1 h + g)``."""

    def __init__(self, features: ItemFeatures, dim: int, num_layers: int) -> None:
        super().__init__()
        self.features = features
        self.convs = nn.ModuleList(PinSAGEConv(features.dim if i == 0 else dim, dim) for i in range(num_layers))
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))

    def forward(self, sub: SampledSubgraph) -> torch.Tensor:
        x = self.features(torch.from_numpy(sub.n_id))
        for conv, block in zip(self.convs, reversed(sub.blocks), strict=True):
            n_dst = block.size[1]
            x = conv((x, x[:n_dst]), torch.from_numpy(block.edge_index), torch.from_numpy(block.edge_weight))
        return self.head(x[: sub.num_seeds])

    @torch.no_grad()
    def infer(self, neighbors: NDArray[np.int32], weights: NDArray[np.float32]) -> torch.Tensor:
        """Every node's vector from the full importance table (exactly what minibatches compute)."""
        x = self.features()
        edge_index = full_block(neighbors)
        w = torch.from_numpy(weights[neighbors >= 0].astype(np.float32))
        for conv in self.convs:
            x = conv((x, x), edge_index, w)
        return self.head(x)
