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


def sampled_softmax_loss(zq: torch.Tensor, zp: torch.Tensor, zn: torch.Tensor, p_ids: torch.Tensor,
                         n_ids: torch.Tensor, temperature: float, in_batch: bool = True) -> torch.Tensor:
    """Cross-entropy of each positive against shared negatives (and the batch's other positives when
    ``in_batch``). Scores are cosines over ``temperature``; accidental hits (a negative equal to the positive)
    are masked."""
    zq, zp, zn = F.normalize(zq, dim=1), F.normalize(zp, dim=1), F.normalize(zn, dim=1)
    if in_batch:
        pos = zq @ zp.T / temperature
        pos = pos.masked_fill((p_ids.unsqueeze(0) == p_ids.unsqueeze(1))
                              & ~torch.eye(len(p_ids), dtype=torch.bool), float("-inf"))
    else:
        pos = (zq * zp).sum(dim=1, keepdim=True) / temperature
    logits = [pos]
    if len(n_ids):
        neg = zq @ zn.T / temperature
        logits.append(neg.masked_fill(n_ids.unsqueeze(0) == p_ids.unsqueeze(1), float("-inf")))
    target = torch.arange(len(zq)) if in_batch else torch.zeros(len(zq), dtype=torch.long)
    return F.cross_entropy(torch.cat(logits, dim=1), target)


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
