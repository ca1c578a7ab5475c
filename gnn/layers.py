"""Message-passing layers of the GNN encoders (PyG ``MessagePassing``, bipartite-ready)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import SAGEConv
from torch_geometric.utils import scatter

__all__ = ["sage_conv", "PinSAGEConv", "DisentangledEdgeConv", "AGGREGATORS"]

AGGREGATORS = ("mean", "gcn", "pool", "lstm")


def sage_conv(in_channels: int, out_channels: int, aggregator: str) -> SAGEConv:
    """A GraphSAGE layer (Hamilton et al., NeurIPS 2017) with one of the paper's aggregators.

    * ``mean``: ``W_1 x_i + W_2 mean_j x_j``;
    * ``gcn``: ``W mean_{j in N(i) + i} x_j`` (no separate root weight; the caller adds self loops);
    * ``pool``: ``W_1 x_i + W_2 max_j relu(W_p x_j + b)`` (max-pooling);
    * ``lstm``: ``W_1 x_i + W_2 LSTM(x_j ...)`` over neighbours in random order (edges sorted by target).
    """
    if aggregator not in AGGREGATORS:
        raise ValueError(f"aggregator must be one of {AGGREGATORS} (got {aggregator!r})")
    if aggregator == "gcn":
        return SAGEConv(in_channels, out_channels, aggr="mean", root_weight=False)
    if aggregator == "pool":
        return SAGEConv(in_channels, out_channels, aggr="max", project=True)
    return SAGEConv(in_channels, out_channels, aggr=aggregator)


class PinSAGEConv(nn.Module):
    """PinSAGE convolution with importance pooling (Ying et al., KDD 2018, Algorithm 1).

    .. math::
        n_i = \\sum_{j} \\alpha_{ij} \\, \\mathrm{ReLU}(Q x_j + q), \\qquad
        h_i = \\frac{\\mathrm{ReLU}(W [x_i \\Vert n_i] + w)}{\\lVert \\mathrm{ReLU}(W [x_i \\Vert n_i] + w) \\rVert_2}

    where ``alpha_ij`` are the L1-normalised visit counts of ``j`` in walks from ``i``.

    Args:
        in_channels: Input size. out_channels: Output size. hidden_channels: Size of ``Q x_j`` (default in).
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int | None = None) -> None:
        super().__init__()
        hidden = hidden_channels or in_channels
        self.q = nn.Linear(in_channels, hidden)
        self.w = nn.Linear(in_channels + hidden, out_channels)

    def forward(self, x: tuple[torch.Tensor, torch.Tensor], edge_index: torch.Tensor,
                edge_weight: torch.Tensor) -> torch.Tensor:
        x_src, x_dst = x
        src, dst = edge_index
        msg = F.relu(self.q(x_src))[src] * edge_weight.unsqueeze(1)
        pooled = scatter(msg, dst, dim=0, dim_size=len(x_dst), reduce="sum")
        h = F.relu(self.w(torch.cat([x_dst, pooled], dim=1)))
        return F.normalize(h, dim=1)


class DisentangledEdgeConv(nn.Module):
    """Edge-enhanced disentangled convolution with edge-wise channel routing (in the spirit of EGD-GNN).

    Node vectors are split into ``K`` channels ``z_i^k`` (unit norm each). For an edge ``j -> i`` with edge
    features ``a_ij`` (counts, time gaps, direction shares ...), the share of the message sent through channel
    ``k`` is routed by agreement and by the edge itself, and gated by the edge:

    .. math::
        p_{ij}^k = \\mathrm{softmax}_k\\big(\\langle c_i^k, z_j^k \\rangle / \\tau + g_k(a_{ij})\\big), \\quad
        c_i^k \\leftarrow \\mathrm{normalize}\\big(z_i^k + \\sum_j \\tfrac{1}{|N(i)|}\\, p_{ij}^k\\,
        \\sigma(u_k(a_{ij}))\\, z_j^k\\big)

    iterated ``routing_iters`` times (DisenGCN's neighbourhood routing). ``g`` and ``u`` are small MLPs of the
    edge features. Cost: ``O(routing_iters * E * channels)`` per layer.

    Args:
        channels: Node vector size (divisible by ``num_channels``). num_channels: ``K``.
        edge_dim: Size of ``a_ij`` (0: routing by agreement only). routing_iters: Routing rounds.
        tau: Routing temperature.
    """

    def __init__(self, channels: int, num_channels: int, edge_dim: int, routing_iters: int = 2,
                 tau: float = 1.0) -> None:
        super().__init__()
        if channels % num_channels:
            raise ValueError(f"channels ({channels}) must be divisible by num_channels ({num_channels})")
        self.k = num_channels
        self.routing_iters = routing_iters
        self.tau = tau
        self.proj = nn.Linear(channels, channels)
        self.edge_dim = edge_dim
        if edge_dim > 0:
            self.edge_mlp = nn.Sequential(nn.Linear(edge_dim, 32), nn.ReLU(), nn.Linear(32, 2 * num_channels))

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x.view(len(x), self.k, -1), dim=2)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None,
                edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        z = self._split(self.proj(x))
        src, dst = edge_index
        n = len(x)
        prior = torch.zeros(len(src), self.k)
        gate = torch.ones(len(src), self.k)
        if self.edge_dim > 0 and edge_attr is not None:
            g, u = self.edge_mlp(edge_attr).chunk(2, dim=1)
            prior, gate = g, torch.sigmoid(u)
        if edge_weight is not None:
            gate = gate * edge_weight.unsqueeze(1)
        deg = scatter(torch.ones(len(dst)), dst, dim=0, dim_size=n, reduce="sum").clamp(min=1)
        z_src = z[src]
        c = z
        for _ in range(self.routing_iters):
            logits = (c[dst] * z_src).sum(dim=2) / self.tau + prior
            p = torch.softmax(logits, dim=1) * gate
            agg = scatter(p.unsqueeze(2) * z_src, dst, dim=0, dim_size=n, reduce="sum") / deg.view(-1, 1, 1)
            c = F.normalize(z + agg, dim=2)
        return c.reshape(n, -1)

