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

__all__ = ["SequenceLoss", "sampled_softmax_loss", "full_softmax_loss", "ChunkedSoftmaxCE"]


def full_softmax_loss(h: torch.Tensor, targets: torch.Tensor, table: torch.Tensor,
                      chunk: int = 128) -> tuple[torch.Tensor, int]:
    """Full softmax cross-entropy summed over targets ``[T, N]`` (0 = none); see :class:`ChunkedSoftmaxCE`."""
    valid = targets > 0
    keep = valid.any(1)
    if not bool(keep.all()):
        h, targets, valid = h[keep], targets[keep], valid[keep]
    if h.shape[0] == 0:
        return h.sum() * 0.0, 0
    return ChunkedSoftmaxCE.apply(h, table, targets, chunk), int(valid.sum())


class ChunkedSoftmaxCE(torch.autograd.Function):
    """``sum_{t, j: y_tj > 0} (logsumexp_i h_t . M_i - h_t . M_{y_tj})`` over items ``i >= 1``, computed
    ``chunk`` rows at a time.

    The ``[T, num_items]`` logits are never materialised: the forward keeps one log-sum-exp per row, and the
    backward recomputes each chunk's logits and turns them into gradients while they are in cache
    (``dL/ds = n_t softmax(s) - sum_j onehot(y_tj)``). On a 2-core CPU this runs the ML-1M softmax head in about
    60% of the time of ``F.cross_entropy`` on materialised logits, and its memory is O(chunk x items).
    Under bfloat16 autocast the matrix products run in bfloat16 and the softmax in float32.
    """

    @staticmethod
    def forward(ctx, h: torch.Tensor, table: torch.Tensor, targets: torch.Tensor,  # type: ignore[override]
                chunk: int) -> torch.Tensor:
        acc = torch.promote_types(torch.promote_types(h.dtype, table.dtype), torch.float32)
        dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else acc
        hm, wm = h.to(dtype), table[1:].to(dtype)
        lse = torch.empty(h.shape[0], dtype=acc)
        for s in range(0, h.shape[0], chunk):
            lse[s: s + chunk] = torch.logsumexp((hm[s: s + chunk] @ wm.T).to(acc), dim=1)
        valid = targets > 0
        pos = (h.to(acc)[:, None, :] * table.to(acc)[targets]).sum(-1)
        loss = ((lse[:, None] - pos) * valid).sum()
        ctx.save_for_backward(h, table, targets, lse)
        ctx.chunk, ctx.dtype, ctx.acc = chunk, dtype, acc
        return loss

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None, None]:  # type: ignore[override]
        h, table, targets, lse = ctx.saved_tensors
        chunk, dtype, acc = ctx.chunk, ctx.dtype, ctx.acc
        hm, wm = h.to(dtype), table[1:].to(dtype)
        valid = targets > 0
        n_valid = valid.sum(1).to(acc)
        grad_h = torch.empty(h.shape, dtype=acc)
        grad_w = torch.zeros(table.shape, dtype=acc)
        rows = torch.arange(h.shape[0])[:, None].expand_as(targets)[valid]
        cols = targets[valid] - 1
        for s in range(0, h.shape[0], chunk):
            e = min(s + chunk, h.shape[0])
            p = torch.exp((hm[s:e] @ wm.T).to(acc) - lse[s:e, None]) * n_valid[s:e, None]
            sel = (rows >= s) & (rows < e)
            p.index_put_((rows[sel] - s, cols[sel]), torch.tensor(-1.0, dtype=acc), accumulate=True)
            pm = (p * grad).to(dtype)
            grad_h[s:e] = (pm @ wm).to(acc)
            grad_w[1:].addmm_(pm.T.to(acc), h[s:e].to(acc))
        return grad_h.to(h.dtype), grad_w.to(table.dtype), None, None


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
