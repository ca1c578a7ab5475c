"""Item input features: learnable id embeddings plus side-information embeddings (the inductive path)."""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from graphrec.sideinfo import SideInfo

__all__ = ["ItemFeatures"]


class ItemFeatures(nn.Module):
    """Input vector of every node: ``x_i = [i known] * e_id(i) + sum_f mean_{v in f(i)} e_f(v)``.

    Each side-information field (category, brand, tags ...) is an ``EmbeddingBag`` (mean over the item's
    values, multi-valued fields welcome). Items not seen in training (``known[i] = False``) get no id vector,
    so their input comes from side information alone: an unseen item with side info still gets a vector,
    as long as the model was trained with ``id_dropout > 0`` (which teaches it to work without ids).

    Args:
        num_nodes: Rows including the padding node 0.
        dim: Vector size.
        side_info: Optional side information (its ``num_items`` must be ``num_nodes - 1``).
        known: Optional ``bool[num_nodes]``: nodes that keep their id vector (default: all but node 0).
        use_ids: Use id embeddings at all (False: a purely side-info model).
        id_dropout: During training, drop the id vector of a node with this probability.
    """

    known: torch.Tensor  # a registered buffer, declared for the type checker

    def __init__(self, num_nodes: int, dim: int, side_info: SideInfo | None = None,
                 known: NDArray[np.bool_] | None = None, use_ids: bool = True, id_dropout: float = 0.0) -> None:
        super().__init__()
        if known is None:
            known = np.ones(num_nodes, dtype=bool)
        known = np.asarray(known, dtype=bool).copy()
        known[0] = False
        self.num_nodes = num_nodes
        self.dim = dim
        self.use_ids = use_ids
        self.id_dropout = id_dropout
        self.register_buffer("known", torch.from_numpy(known), persistent=False)
        self.ids = nn.Embedding(num_nodes, dim) if use_ids else None
        if self.ids is not None:
            nn.init.normal_(self.ids.weight, std=0.1)
        self.bags = nn.ModuleList()
        self.field_names: list[str] = []
        fields = [] if side_info is None else side_info.fields
        for i, f in enumerate(fields):
            bag = nn.EmbeddingBag(f.num_values + 1, dim, mode="mean")
            nn.init.normal_(bag.weight, std=0.1)
            self.bags.append(bag)
            self.field_names.append(f.name)
            self.register_buffer(f"off{i}", torch.from_numpy(np.asarray(f.offsets, dtype=np.int64)), persistent=False)
            self.register_buffer(f"val{i}", torch.from_numpy(np.asarray(f.values, dtype=np.int64)), persistent=False)
        if self.ids is None and not self.bags:
            raise ValueError("ItemFeatures needs id embeddings or side information (got neither)")

    @property
    def has_side_info(self) -> bool:
        return len(self.bags) > 0

    def forward(self, nodes: torch.Tensor | None = None) -> torch.Tensor:
        """Features of ``nodes`` (``int64[n]``; all nodes when None) as ``float32[n, dim]``; node 0 is zero."""
        if nodes is None:
            nodes = torch.arange(self.num_nodes)
        x = torch.zeros(len(nodes), self.dim)
        if self.ids is not None:
            keep = self.known[nodes]
            if self.training and self.id_dropout > 0:
                keep = keep & (torch.rand(len(nodes)) >= self.id_dropout)
            x = x + self.ids(nodes) * keep.unsqueeze(1)
        for i, bag in enumerate(self.bags):
            off: torch.Tensor = getattr(self, f"off{i}")
            val: torch.Tensor = getattr(self, f"val{i}")
            start, lengths = off[nodes], off[nodes + 1] - off[nodes]
            total = int(lengths.sum())
            if total == 0:
                continue
            bag_offsets = torch.cumsum(lengths, 0) - lengths
            flat = torch.repeat_interleave(start - bag_offsets, lengths) + torch.arange(total)
            x = x + bag(val[flat], bag_offsets)
        return x
