"""The SASRec network: item table, learnable positions, causal pre-LN self-attention blocks.

Kang & McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018. Blocks here are the pre-LN variant
(``x + Attn(LN(x))``, ``x + FFN(LN(x))``, final LN), which trains stably without warm-up; the paper's reference code
normalises the query only. Histories are right-aligned (left-padded with item 0) and positions are counted from the
first item of the window, so any amount of left padding gives the same outputs (padding invariance), and the
hidden state at position ``t`` of a training sequence is exactly the state of its prefix ``s[:t + 1]`` fed alone:
whole-sequence training computes what RecBole's prefix augmentation computes, in one pass per sequence
(for sequences up to ``max_len``; longer ones are read through their last ``max_len`` items). The paper's layout,
positions counted from the newest item, is ``positions='from_end'``.

.. math::
    \\hat{r}_{t,i} = F_t \\cdot M_i, \\qquad F = \\mathrm{LN}(\\mathrm{Block}^{b}(\\sqrt{d}\\,M_{s} + P))

Input and output share the item table ``M`` (``[num_items + 1, d]``, row 0 = padding), which comes from an
*item encoder* module (``forward() -> Tensor[num_items + 1, d]``): plain id embeddings, id + side information, or a
graph fusion (see :mod:`sequential.fusion`).
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from graphrec.sideinfo import SideInfo

__all__ = ["SASRecNet", "IdEmbedding", "SideInfoEmbedding", "CausalSelfAttention", "Block", "FastDropout",
           "fast_dropout"]


def fast_dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Inverted dropout whose keep mask comes from 16 random bits per element (``p`` rounded to 1/65536).

    On CPUs ``torch.nn.functional.dropout`` draws one Mersenne-Twister float per element through
    ``bernoulli_``, which made dropout a fifth of a SASRec training step; here one 64-bit draw feeds four
    elements (about 6x faster). Reproducible under ``torch.manual_seed`` like ``F.dropout``.
    """
    if not training or p <= 0.0:
        return x
    if p >= 1.0:
        return torch.zeros_like(x)
    n = x.numel()
    threshold = int(round(p * 65536))
    bits = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device).random_(-2 ** 63, 2 ** 63 - 1)
    # int16 view: uniform over [-32768, 32767]; keep with probability 1 - threshold / 65536
    keep = bits.view(torch.int16)[:n].view(x.shape) >= threshold - 32768
    return x * keep * (65536.0 / (65536 - threshold))


class FastDropout(nn.Module):
    """:func:`fast_dropout` as a module (drop-in for ``nn.Dropout``)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fast_dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class IdEmbedding(nn.Module):
    """Plain item id embeddings: ``forward() -> [num_items + 1, d]`` (row 0 = padding, kept at zero)."""

    def __init__(self, num_items: int, embedding_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_items + 1, embedding_dim))
        nn.init.normal_(self.weight, std=embedding_dim ** -0.5)
        with torch.no_grad():
            self.weight[0].zero_()

    def forward(self) -> torch.Tensor:
        return self.weight


class SideInfoEmbedding(nn.Module):
    """Item id embedding concatenated with the mean value embedding of each side-information field, projected
    back to ``embedding_dim``: ``M_i = W [e_i ; s^1_i ; ... ; s^F_i]``.

    The CSR tables of the side fields are buffers, so they travel with the state_dict.
    """

    def __init__(self, num_items: int, embedding_dim: int, side_dim: int,
                 fields: list[tuple[torch.Tensor, torch.Tensor, int]]) -> None:
        super().__init__()
        self.ids = IdEmbedding(num_items, embedding_dim)
        self.num_fields = len(fields)
        self.bags = nn.ModuleList()
        for f, (offsets, values, num_values) in enumerate(fields):
            self.register_buffer(f"offsets_{f}", offsets.long())
            self.register_buffer(f"values_{f}", values.long())
            self.bags.append(nn.EmbeddingBag(num_values + 1, side_dim, mode="mean", padding_idx=0))
        self.proj = nn.Linear(embedding_dim + side_dim * len(fields), embedding_dim)

    @staticmethod
    def fields_from(side: SideInfo) -> list[tuple[torch.Tensor, torch.Tensor, int]]:
        return [(torch.from_numpy(f.offsets[:-1].astype(np.int64)), torch.from_numpy(f.values.astype(np.int64)),
                 f.num_values) for f in side.fields]

    def value_counts(self) -> list[int]:
        """Number of distinct values of each side-information field."""
        return [cast(nn.EmbeddingBag, bag).num_embeddings - 1 for bag in self.bags]

    def forward(self) -> torch.Tensor:
        parts = [self.ids()]
        for f, bag in enumerate(self.bags):
            parts.append(bag(getattr(self, f"values_{f}"), getattr(self, f"offsets_{f}")))
        table = self.proj(torch.cat(parts, dim=1))
        return torch.cat([torch.zeros_like(table[:1]), table[1:]], dim=0)


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position ``t`` sees positions ``<= t`` that are not padding."""

    def __init__(self, dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """``[B, L, d] -> [B, L, d]``, or ``[B, 1, d]`` (the newest query only) with ``last_only``."""
        b, l, d = x.shape
        q, k, v = self.qkv(x).view(b, l, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        if last_only:
            q, mask, l = q[:, :, -1:], mask[:, :, -1:], 1
        if self.training and self.dropout > 0:
            # dropout on the attention weights (as the paper's code); written out so the mask uses fast_dropout
            scores = (q @ k.transpose(-1, -2)) * (d // self.num_heads) ** -0.5
            weights = torch.softmax(scores.masked_fill(~mask, -math.inf), dim=-1)
            y = fast_dropout(weights, self.dropout) @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(b, l, d))


class Block(nn.Module):
    """Pre-LN transformer block: ``x + Attn(LN(x))`` then ``x + FFN(LN(x))``."""

    def __init__(self, dim: int, num_heads: int, dropout: float, activation: str) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, num_heads, dropout)
        self.ln2 = nn.LayerNorm(dim)
        self.ff1 = nn.Linear(dim, dim)
        self.ff2 = nn.Linear(dim, dim)
        self.act = nn.GELU() if activation == "gelu" else nn.ReLU()
        self.drop = FastDropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """``[B, L, d] -> [B, L, d]``; with ``last_only`` only the newest position's output ``[B, 1, d]`` (its
        attention still reads every key), which is all inference needs from the last block."""
        y = self.attn(self.ln1(x), mask, last_only)
        x = (x[:, -1:] if last_only else x) + self.drop(y)
        return x + self.drop(self.ff2(self.drop(self.act(self.ff1(self.ln2(x))))))


class SASRecNet(nn.Module):
    """The network. ``forward(ids)`` maps right-aligned item ids ``[B, L]`` (``L <= max_len``, 0 = padding) to
    hidden states ``[B, L, d]``; ``table()`` is the shared item table used for input and output."""

    def __init__(self, item_encoder: nn.Module, num_items: int, embedding_dim: int, max_len: int, num_blocks: int,
                 num_heads: int, dropout: float, activation: str = "gelu", positions: str = "from_start",
                 cosine_scale: float = 0.0, readout: str = "hidden") -> None:
        super().__init__()
        self.from_end = positions == "from_end"
        self.readout = readout
        self.mix = nn.Linear(embedding_dim, 1) if readout != "hidden" else None
        self.cosine_scale = float(cosine_scale)
        self.item_encoder = item_encoder
        self.num_items = num_items
        self.max_len = max_len
        self.embedding_dim = embedding_dim
        self.positions = nn.Embedding(max_len, embedding_dim)
        nn.init.normal_(self.positions.weight, std=embedding_dim ** -0.5)
        self.emb_drop = FastDropout(dropout)
        self.blocks = nn.ModuleList(Block(embedding_dim, num_heads, dropout, activation) for _ in range(num_blocks))
        self.final_ln = nn.LayerNorm(embedding_dim)

    def table(self) -> torch.Tensor:
        """The item table ``[num_items + 1, d]``."""
        return self.item_encoder()

    def head(self, hidden: torch.Tensor, table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The query and item vectors whose dot product is the score: unchanged, or with ``cosine_scale > 0``
        ``cosine_scale * hidden / |hidden|`` and ``table / |table|`` (scores = scaled cosine similarity)."""
        if self.cosine_scale <= 0:
            return hidden, table
        return self.cosine_scale * nn.functional.normalize(hidden, dim=-1), self.output_table(table)

    def output_table(self, table: torch.Tensor) -> torch.Tensor:
        """The item vectors scores are computed against: ``table``, or its unit rows when ``cosine_scale > 0``."""
        return nn.functional.normalize(table, dim=-1) if self.cosine_scale > 0 else table

    def forward(self, ids: torch.Tensor, table: torch.Tensor | None = None, last_only: bool = False) -> torch.Tensor:
        """Hidden states ``[B, L, d]``; ``last_only=True`` gives the newest position's ``[B, 1, d]`` and skips the
        other queries of the last block."""
        if table is None:
            table = self.table()
        b, l = ids.shape
        if l > self.max_len:
            raise ValueError(f"sequence length {l} exceeds max_len {self.max_len}")
        keep = (ids > 0).unsqueeze(-1)
        newest_only = last_only
        if self.mix is not None:
            last_only = False  # the item mix weighs every position by its own hidden state
        if self.from_end:  # the paper's layout: the newest item always at position max_len - 1
            pos = torch.arange(self.max_len - l, self.max_len, device=ids.device).expand(b, l)
        else:  # counted from the first item of the window
            pos = ((ids > 0).cumsum(1) - 1).clamp_min(0)
        items = table[ids]
        x = items * math.sqrt(self.embedding_dim) + self.positions(pos)
        x = self.emb_drop(x) * keep
        mask = attention_mask(ids)
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            if last_only and i == last:
                x = block(x, mask, last_only=True) * keep[:, -1:]
            else:
                x = block(x, mask) * keep
        h = self.final_ln(x)
        if self.mix is None:
            return h
        out = self._item_mix(items, h, keep, mask)
        return out[:, -1:] if newest_only else out

    def _item_mix(self, items: torch.Tensor, h: torch.Tensor, keep: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """CORE's readout at every position ``t``: ``sum_{s <= t} softmax_s(w . h_s) x_s`` over the history's item
        vectors ``x_s`` (dropout applied), alone (``items``) or added to ``h_t`` with both normalised (``both``);
        ``mask``: the blocks' :func:`attention_mask` (earlier item keys only, so padding weighs nothing)."""
        assert self.mix is not None
        z = self.mix(h).squeeze(-1)  # [B, L]
        weights = torch.softmax(z.unsqueeze(1).masked_fill(~mask[:, 0], -math.inf), dim=-1)  # [B, L(query), L(key)]
        mixed = (weights @ self.emb_drop(items)) * keep
        if self.readout == "items":
            return mixed
        return (nn.functional.normalize(h, dim=-1) + nn.functional.normalize(mixed, dim=-1)) * keep

    def last_hidden(self, ids: torch.Tensor, table: torch.Tensor | None = None, chunk: int = 128) -> torch.Tensor:
        """The hidden state at the newest position ``[B, d]`` (the user vector): ``forward(ids)[:, -1]``.

        Rows are grouped by history length into chunks of ``chunk`` and each chunk is trimmed to its longest
        history, so a batch with one long history does not pad every other row to it (padding invariance makes
        this exact up to float rounding); the last block computes the newest query only.
        """
        if table is None:
            table = self.table()
        lengths = (ids > 0).sum(1)
        order = torch.argsort(lengths, stable=True)
        out = table.new_empty(ids.shape[0], self.embedding_dim)
        for start in range(0, ids.shape[0], chunk):
            rows = order[start:start + chunk]
            width = max(int(lengths[rows].max()), 1)
            out[rows] = self.forward(ids[rows, ids.shape[1] - width:], table, last_only=True)[:, -1]
        return out


def attention_mask(ids: torch.Tensor) -> torch.Tensor:
    """Boolean ``[B, 1, L, L]``: query ``t`` may attend key ``s`` when ``s <= t`` and key ``s`` is an item.

    Every position may attend itself, so a padding query never sees an all-masked row (its output is zeroed).
    """
    l = ids.shape[1]
    causal = torch.ones(l, l, dtype=torch.bool, device=ids.device).tril()
    mask = causal & (ids > 0)[:, None, :]
    mask = mask | torch.eye(l, dtype=torch.bool, device=ids.device)
    return mask.unsqueeze(1)
