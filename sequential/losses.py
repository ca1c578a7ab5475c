"""Training objectives of SASRec over flattened target positions.

Every loss takes hidden states ``h`` ``[T, d]`` of the non-padding positions, their targets ``[T, N]`` (the next
``N`` items, 0 where the sequence ended) and the item table ``M`` ``[num_items + 1, d]``, and returns the *sum* of
per-target losses and the number of targets, so that distributed workers can normalise by the global count.

* ``ce``: full softmax, :math:`-s_{t} + \\log \\sum_{j=1}^{N} e^{s_j}`.
* ``bce``: the original, one (or ``k``) uniformly sampled negative per position,
  :math:`-\\log \\sigma(s_t) - \\sum_k \\log(1 - \\sigma(s_{j_k}))`.
* ``sampled_softmax``: ``K`` shared negatives ``j_k ~ q`` per batch, log-Q corrected and accidental hits removed,
  :math:`-s_t + \\log\\big(e^{s_t} + \\sum_{k: j_k \\ne t} e^{s_{j_k} - \\log(K q_{j_k})}\\big)`, which tends to the
  full softmax as ``K`` grows (the sum estimates :math:`\\sum_{j \\ne t} e^{s_j}` without bias).
* ``in_batch``: the same estimator with the batch's targets (and ``cross_batch`` earlier batches') as the samples,
  corrected with the train popularity ``q``.
* ``gbce``: gSASRec (Petrov & Macdonald, RecSys 2023),
  :math:`-\\beta \\log \\sigma(s_t) - \\sum_k \\log(1 - \\sigma(s_{j_k}))` with
  :math:`\\beta = \\alpha (t (1 - 1/\\alpha) + 1/\\alpha)`, :math:`\\alpha = K / (N - 1)`; the ``K`` negatives are
  shared by the batch.
"""

from __future__ import annotations

import collections
import math

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray

from sequential.config import SASRecConfig
from sequential.samplers import NegativeSampler

__all__ = ["SequenceLoss", "sampled_softmax_loss", "full_softmax_loss"]


def full_softmax_loss(h: torch.Tensor, targets: torch.Tensor, table: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Full softmax cross-entropy summed over targets ``[T, N]`` (0 = none)."""
    logits = h @ table[1:].T
    if targets.shape[1] == 1:
        t = targets[:, 0] - 1
        return F.cross_entropy(logits.float(), t, ignore_index=-1, reduction="sum"), int((t >= 0).sum())
    logp = torch.log_softmax(logits.float(), dim=1)
    valid = targets > 0
    picked = logp.gather(1, (targets - 1).clamp_min(0))
    return -(picked * valid).sum(), int(valid.sum())


def sampled_softmax_loss(h: torch.Tensor, targets: torch.Tensor, table: torch.Tensor, cand: torch.Tensor,
                         log_expected: torch.Tensor | None) -> tuple[torch.Tensor, int]:
    """Softmax over the positive and shared candidates ``cand`` ``[K]`` whose logits are shifted by
    ``-log_expected`` (``log(K q_j)`` for sampled candidates; None: no correction). Candidates equal to the
    positive are removed (accidental hits)."""
    s_cand = (h @ table[cand].T).float()
    if log_expected is not None:
        s_cand = s_cand - log_expected
    total = h.new_zeros((), dtype=torch.float32)
    count = 0
    for j in range(targets.shape[1]):
        t = targets[:, j]
        valid = t > 0
        if not valid.any():
            continue
        hv, tv, sc = h[valid], t[valid], s_cand[valid]
        s_pos = (hv * table[tv]).sum(-1).float()
        sc = sc.masked_fill(cand[None, :] == tv[:, None], -math.inf)
        total = total + (torch.logsumexp(torch.cat([s_pos[:, None], sc], 1), 1) - s_pos).sum()
        count += int(valid.sum())
    return total, count


class SequenceLoss:
    """The configured objective (see the module docstring), with its sampler state (cross-batch memory).

    Args:
        config: The model settings (``loss``, ``num_negatives``, ``sampler``, ...).
        num_items: Catalogue size.
        counts: Train counts per item index (length ``num_items + 1``).
    """

    def __init__(self, config: SASRecConfig, num_items: int, counts: NDArray[np.integer]) -> None:
        self.config = config
        self.num_items = num_items
        self.kind = config.loss
        self.k = config.negatives()
        self.sampler = NegativeSampler(num_items, config.sampler, counts)
        self.uniform = NegativeSampler(num_items, "uniform")
        self.pop_log_q = NegativeSampler(num_items, "popularity", counts).log_q
        self.memory: collections.deque[torch.Tensor] = collections.deque(maxlen=max(config.cross_batch, 1))

    def __call__(self, h: torch.Tensor, targets: torch.Tensor, table: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, int]:
        if self.kind == "ce":
            return full_softmax_loss(h, targets, table)
        if self.kind == "sampled_softmax":
            cand = self.sampler.sample(self.k, generator)
            log_exp = (self.sampler.log_q[cand] + math.log(self.k)) if self.config.logq_correction else None
            return sampled_softmax_loss(h, targets, table, cand, log_exp)
        if self.kind == "in_batch":
            return self._in_batch(h, targets, table)
        return self._binary(h, targets, table, generator)

    def _in_batch(self, h: torch.Tensor, targets: torch.Tensor, table: torch.Tensor) -> tuple[torch.Tensor, int]:
        current = targets[targets > 0]
        pool = torch.cat([current, *self.memory]) if self.config.cross_batch else current
        if self.config.cross_batch:
            self.memory.append(current.detach().clone())
        cand, mult = torch.unique(pool, return_counts=True)
        if self.config.logq_correction:  # sum over all pool draws of e^{s}/(|pool| q) == over unique with multiplicity
            log_exp = self.pop_log_q[cand] + math.log(len(pool)) - torch.log(mult.float())
        else:
            log_exp = None
        return sampled_softmax_loss(h, targets, table, cand, log_exp)

    def _binary(self, h: torch.Tensor, targets: torch.Tensor, table: torch.Tensor,
                generator: torch.Generator) -> tuple[torch.Tensor, int]:
        cfg = self.config
        if self.kind == "gbce":
            shared = self.sampler.sample(self.k, generator)
            s_shared = (h @ table[shared].T).float()
            alpha = self.k / max(self.num_items - 1, 1)
            beta = alpha * (cfg.gbce_t * (1.0 - 1.0 / alpha) + 1.0 / alpha)
        else:
            beta = 1.0
        hard = None
        if cfg.hard_negatives:
            pool = self.uniform.sample(cfg.hard_pool, generator)
            hard = (pool, (h @ table[pool].T).float())
        total = h.new_zeros((), dtype=torch.float32)
        count = 0
        for j in range(targets.shape[1]):
            t = targets[:, j]
            valid = t > 0
            if not valid.any():
                continue
            hv, tv = h[valid], t[valid]
            s_pos = (hv * table[tv]).sum(-1).float()
            if self.kind == "gbce":
                s_neg = s_shared[valid].masked_fill(shared[None, :] == tv[:, None], -math.inf)
            else:
                negs = self.sampler.sample((len(tv), self.k), generator)
                s_neg = torch.einsum("td,tkd->tk", hv, table[negs]).float().masked_fill(negs == tv[:, None],
                                                                                         -math.inf)
            loss = beta * F.softplus(-s_pos) + F.softplus(s_neg).sum(1)
            if hard is not None:
                pool, s_pool = hard
                s_pool = s_pool[valid].masked_fill(pool[None, :] == tv[:, None], -math.inf)
                loss = loss + F.softplus(s_pool.topk(cfg.hard_negatives, dim=1).values).sum(1)
            total = total + loss.sum()
            count += int(valid.sum())
        return total, count


def negative_feedback_loss(h: torch.Tensor, items: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Auxiliary loss pushing down items skipped/disliked right after a position: :math:`\\sum -\\log(1-\\sigma(s))`."""
    return F.softplus((h * table[items]).sum(-1).float()).sum()
