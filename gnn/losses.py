"""Training pairs and losses shared by the GNN recommenders."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray

from graphrec.errors import DataError
from graphrec.sequences import Sequences

__all__ = ["transition_pairs", "sampled_softmax_loss", "full_softmax_loss", "hinge_loss"]


def transition_pairs(sequences: Sequences, pair_window: int = 1) -> NDArray[np.int64]:
    """``int64[P, 2]`` pairs ``(a, b)``: ``b`` at most ``pair_window`` positive events after ``a``, ``a != b``."""
    seqs = sequences.select_events(sequences.positive_mask())
    items = seqs.items.astype(np.int64)
    ends = np.repeat(seqs.offsets[1:], seqs.lengths)
    idx = np.arange(len(items))
    out = []
    for d in range(1, pair_window + 1):
        ok = idx + d < ends
        a = idx[ok]
        out.append(np.stack([items[a], items[a + d]], axis=1))
    pairs = np.concatenate(out) if out else np.zeros((0, 2), dtype=np.int64)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if not len(pairs):
        raise DataError("the train sequences hold no pair of distinct consecutive items")
    return pairs


def _hits(p_ids: torch.Tensor, n_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(rows, cols)`` of every accidental hit ``n_ids[col] == p_ids[row]`` (sort + binary search, no [B, M] mask)."""
    sn, perm = torch.sort(n_ids)
    p_ids = p_ids.contiguous()
    lo = torch.searchsorted(sn, p_ids)
    count = torch.searchsorted(sn, p_ids, right=True) - lo
    rows = torch.repeat_interleave(torch.arange(len(p_ids)), count)
    first = torch.repeat_interleave(lo, count)
    rank = torch.arange(len(rows)) - torch.repeat_interleave(torch.cumsum(count, 0) - count, count)
    return rows, perm[first + rank]


class _NegativeLogSumExp(torch.autograd.Function):
    """``log(exp(pos_i) + sum_j exp(neg_ij))`` over the non-hit ``j``, with one ``[B, M]`` buffer.

    The same value as ``logsumexp(cat([pos, neg.masked_fill(hit, -inf)]))``, without the mask, the concatenation
    and the log-softmax buffers of that formulation (the loss dominated a GraphSAGE step on ML-1M).
    """

    @staticmethod
    def forward(ctx, pos: torch.Tensor, neg: torch.Tensor, rows: torch.Tensor,  # type: ignore[override]
                cols: torch.Tensor) -> torch.Tensor:
        m = torch.maximum(neg.amax(dim=1), pos)
        e = neg - m.unsqueeze(1)
        e.exp_()
        e[rows, cols] = 0.0
        ep = torch.exp(pos - m)
        total = e.sum(dim=1) + ep
        ctx.save_for_backward(e, ep, total)
        return m + torch.log(total)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None, None]:  # type: ignore[override]
        e, ep, total = ctx.saved_tensors
        scale = grad / total
        return ep * scale, e.mul_(scale.unsqueeze(1)), None, None  # e is not needed again: reuse its memory


def sampled_softmax_loss(zq: torch.Tensor, zp: torch.Tensor, zn: torch.Tensor, p_ids: torch.Tensor,
                         n_ids: torch.Tensor, temperature: float, in_batch: bool = True) -> torch.Tensor:
    """Cross-entropy of each positive against shared negatives (and the batch's other positives when
    ``in_batch``). Scores are cosines over ``temperature``; accidental hits (a negative equal to the positive)
    are masked."""
    zq = F.normalize(zq, dim=1) / temperature
    zp, zn = F.normalize(zp, dim=1), F.normalize(zn, dim=1)
    if not in_batch:
        pos = (zq * zp).sum(dim=1)
        if not len(n_ids):
            return torch.zeros((), dtype=zq.dtype) + 0.0 * pos.sum()
        rows, cols = _hits(p_ids, n_ids)
        return (_NegativeLogSumExp.apply(pos, zq @ zn.T, rows, cols) - pos).mean()
    pos = zq @ zp.T
    pos = pos.masked_fill((p_ids.unsqueeze(0) == p_ids.unsqueeze(1)) & ~torch.eye(len(p_ids), dtype=torch.bool),
                          float("-inf"))
    logits = [pos]
    if len(n_ids):
        neg = zq @ zn.T
        logits.append(neg.masked_fill(n_ids.unsqueeze(0) == p_ids.unsqueeze(1), float("-inf")))
    return F.cross_entropy(torch.cat(logits, dim=1), torch.arange(len(zq)))


def full_softmax_loss(zq: torch.Tensor, items: torch.Tensor, p_ids: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cross-entropy over every item (``items`` = all item vectors, row 0 padding is never a candidate)."""
    logits = F.normalize(zq, dim=1) @ F.normalize(items, dim=1).T / temperature
    pad = torch.zeros(logits.shape[1], dtype=torch.bool)
    pad[0] = True
    logits = logits.masked_fill(pad, float("-inf"))
    return F.cross_entropy(logits, p_ids)


def hinge_loss(zq: torch.Tensor, zp: torch.Tensor, zn: torch.Tensor, margin: float,
               zh: torch.Tensor | None = None) -> torch.Tensor:
    """PinSAGE max-margin loss ``E[max(0, z_q . z_n - z_q . z_p + margin)]`` over shared random negatives
    ``zn [M, d]`` and per-query hard negatives ``zh [B, H, d]`` (cosine similarities)."""
    zq, zp, zn = F.normalize(zq, dim=1), F.normalize(zp, dim=1), F.normalize(zn, dim=1)
    pos = (zq * zp).sum(dim=1, keepdim=True)
    loss = F.relu(zq @ zn.T - pos + margin).mean()
    if zh is not None and zh.shape[1] > 0:
        hard = (zq.unsqueeze(1) * F.normalize(zh, dim=2)).sum(dim=2)
        loss = loss + F.relu(hard - pos + margin).mean()
    return loss
