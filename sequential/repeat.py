"""RepeatNet's repeat-explore mixture on top of SASRec: learn when the next item is one the sequence holds.

In session logs the next click often repeats an item of the session (on Diginetica's test prefixes 20.5% of the
targets are in their prefix), and a dot-product model ranks such items no higher than their similarity says.
RepeatNet (Ren et al., AAAI 2019) predicts with two modes. At query position ``t``, with prefix items
:math:`P_t = \\{x_1..x_t\\}` and scores :math:`s_{t,i}` (query . item):

.. math::
    p(i) = \\sigma(g_t) \\, \\mathrm{softmax}_{j \\in P_t}(r_{t,j})_i \\;[i \\in P_t]
         + \\sigma(-g_t) \\, \\mathrm{softmax}_{j \\notin P_t}(s_{t,j})_i \\;[i \\notin P_t]

with the gate :math:`g_t = w \\cdot q_t + b` (the state decides how likely this session repeats) and the repeat
logits :math:`r_{t,j} = s_{t,j} + b_{lag} + c_{count}`: ``lag`` = ``t`` minus the position of the latest
occurrence of ``j`` (capped at ``max_len - 1``), ``count`` its occurrences in the prefix (capped at
:data:`MAX_COUNT`).

Training: the network's own loss is unchanged, and the negative log-likelihood of the mixture over the *detached*
scores and query trains the head alone (the gate, lag and count parameters): the explore softmax is the sampled
softmax with the sampled candidates that are prefix items dropped, the repeat softmax is exact (at most
``max_len`` items). ``score`` returns :math:`\\log p(i)` over the whole catalogue, so ranking and NDCG see
the mixture. Where seen items are excluded from the ranking (ML-1M, Beauty) the explore part alone ranks, by
:math:`s`, as without the head.

Training the network through the mixture as well (RepeatNet proper) lost on Diginetica: after 1 epoch its
validation NDCG@10 was 0.170 against the plain model's 0.185, and its explore part ranked only 21.6% of the new
targets of 10,000 validation prefixes in the top 20 (the plain model ~38% after 3 epochs), as did an additive
repeat bias over one softmax (0.171 with the prefix items exact in the softmax, 0.183 with them sampled).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["RepeatHead", "RepeatBatch", "MAX_COUNT", "prefix_stats"]

MAX_COUNT = 4


class RepeatHead(nn.Module):
    """The gate ``g``, the lag biases ``b`` and the count biases ``c`` (see the module docstring). All start at
    zero: an even mixture, repeat logits equal to the similarity.

    Args:
        dim: Width of the query vectors.
        max_len: The model's ``max_len`` (number of lag buckets).
    """

    def __init__(self, dim: int, max_len: int) -> None:
        super().__init__()
        self.gate = nn.Linear(dim, 1)
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)
        self.lag_bias = nn.Parameter(torch.zeros(max_len))
        self.count_bias = nn.Parameter(torch.zeros(MAX_COUNT))

    def gates(self, query: torch.Tensor) -> torch.Tensor:
        """``g(q)`` for query vectors ``[..., d]`` -> ``[...]`` (float32)."""
        return self.gate(query.float()).squeeze(-1)

    def bias(self, lag: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        """``b_lag + c_count`` of prefix items (``count >= 1``)."""
        lag = lag.clamp(0, len(self.lag_bias) - 1)
        count = count.clamp(1, MAX_COUNT) - 1
        return self.lag_bias[lag] + self.count_bias[count]

    def history(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The prefix items of the newest position of ``inputs`` ``[B, L]``: ``(row, item, b_lag + c_count)``,
        one entry per distinct item of a row."""
        l = inputs.shape[1]
        eq = (inputs[:, :, None] == inputs[:, None, :]) & (inputs[:, :, None] > 0)  # [B, L, L]
        count = eq.sum(2)
        latest = torch.where(eq, torch.arange(l), -1).amax(2)
        r, p = ((inputs > 0) & (latest == torch.arange(l))).nonzero().unbind(1)  # the latest occurrence of each item
        return r, inputs[r, p], self.bias((l - 1) - p, count[r, p])

    def log_probs(self, inputs: torch.Tensor, scores: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        """:math:`\\log p(i)` ``[B, num_items + 1]`` of the newest position from the similarity ``scores`` (column
        0 ``-inf``) and the gates ``[B]``."""
        b = scores.shape[0]
        row, item, bias = self.history(inputs)
        seen = torch.zeros(scores.shape, dtype=torch.bool)
        seen[row, item] = True
        lse_e = torch.logsumexp(scores.masked_fill(seen, -math.inf), 1)
        out = scores - (lse_e + F.softplus(gate))[:, None]  # log sigma(-g) = -softplus(g)
        r = scores[row, item] + bias
        top = torch.full((b,), -math.inf).scatter_reduce(0, row, r, "amax")
        lse_r = top + torch.log(torch.zeros(b).index_add(0, row, torch.exp(r - top[row])))
        out[row, item] = r - lse_r[row] - F.softplus(-gate[row])  # log sigma(g) = -softplus(-g)
        return out

    def candidate_hits(self, inputs: torch.Tensor, cand: torch.Tensor,
                       rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(row, column)`` of the shared candidates ``cand`` ``[K]`` that occur in the prefix of a position.

        ``rows`` ``[B, L]`` numbers the positions of ``inputs`` as the caller flattens them (-1: padding). Each
        (row, column) pair occurs once.
        """
        l, k = inputs.shape[1], cand.shape[0]
        match = (inputs.reshape(-1, 1) == cand.reshape(1, -1)) & (inputs.reshape(-1, 1) > 0)
        src, col = match.nonzero().unbind(1)
        if src.numel() == 0:
            empty = torch.zeros(0, dtype=torch.long)
            return empty, empty
        row_b, pos = src // l, src % l
        span = l - pos  # every later position of the row has the candidate in its prefix
        rep = torch.repeat_interleave(torch.arange(src.numel()), span)
        t = pos[rep] + torch.arange(rep.numel()) - torch.repeat_interleave(span.cumsum(0) - span, span)
        key = torch.unique((row_b[rep] * l + t) * k + col[rep])
        flat_rows = rows.reshape(-1)[key // k]
        keep = flat_rows >= 0
        return flat_rows[keep], (key % k)[keep]


class RepeatBatch:
    """What the sampled losses need from the repeat head for one training batch.

    Args:
        head: The network's :class:`RepeatHead`.
        inputs: Input rows ``[B, L]``.
        targets: Their targets ``[B, L, N]``.
        gate: ``[B, L]`` gates of the query positions.
        valid: ``[B, L]`` mask of the positions the loss flattens (in row-major order).
        query: ``[B, L, d]`` query vectors.
        table: The item vectors the queries are scored against ``[num_items + 1, d]``.

    Attributes:
        gate: ``[T]`` gates of the flattened positions.
        target_in_prefix: ``[T, N]`` whether each target is a prefix item.
        target_bias: ``[T, N]`` its ``b_lag + c_count`` (0 when not in the prefix).
        prefix_logits: ``[T, L]`` repeat logits of the prefix items (one entry per distinct item, ``-inf`` else).
    """

    def __init__(self, head: RepeatHead, inputs: torch.Tensor, targets: torch.Tensor, gate: torch.Tensor,
                 valid: torch.Tensor, query: torch.Tensor, table: torch.Tensor) -> None:
        self.head, self.inputs = head, inputs
        self.rows = torch.full(inputs.shape, -1, dtype=torch.long)
        self.rows[valid] = torch.arange(int(valid.sum()))
        self.gate = gate[valid]  # the gate's input is detached by the caller
        lag, count = prefix_stats(inputs, targets)
        self.target_in_prefix = (count > 0)[valid]
        self.target_bias = torch.where(count > 0, head.bias(lag, count), 0.0)[valid]
        l = inputs.shape[1]
        eq = (inputs[:, :, None] == inputs[:, None, :]) & (inputs[:, :, None] > 0)  # [B, s, s']
        upto = eq.cumsum(2)  # [B, s, t]: occurrences of item x_s among positions <= t
        t_idx = torch.arange(l)
        after = t_idx[None, :] >= t_idx[:, None]  # [s, t]: t >= s
        latest = after & (upto == upto.diagonal(dim1=1, dim2=2)[:, :, None]) & (inputs[:, :, None] > 0)
        latest = latest.transpose(1, 2)  # [B, t, s]: x_s is in the prefix of t and s is its latest occurrence
        lag_ts = (t_idx[:, None] - t_idx[None, :]).clamp_min(0).expand_as(latest)
        bias = head.bias(lag_ts, upto.transpose(1, 2).clamp_min(1))
        logits = torch.einsum("btd,bsd->bts", query.detach(), table.detach()[inputs]).float() + bias
        self.prefix_logits = logits.masked_fill(~latest, -math.inf)[valid]

    def prefix_hits(self, cand: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(row, column)`` of the shared candidates ``cand`` that are prefix items of their flattened position."""
        return self.head.candidate_hits(self.inputs, cand, self.rows)


def prefix_stats(inputs: torch.Tensor, cand: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For candidates ``cand`` ``[B, L, N]`` at query positions ``t`` of ``inputs`` ``[B, L]``: the lag of the
    latest occurrence in ``inputs[b, :t + 1]`` (``t`` - its position; 0 where absent) and the number of
    occurrences (0 = absent). Returns two ``long`` tensors ``[B, L, N]``."""
    l = inputs.shape[1]
    eq = (cand[..., None] == inputs[:, None, None, :]) & (inputs[:, None, None, :] > 0)  # [B, L(t), N, L(s)]
    causal = torch.ones(l, l, dtype=torch.bool).tril()  # [t, s]: s <= t
    eq = eq & causal[None, :, None, :]
    count = eq.sum(-1)
    latest = torch.where(eq, torch.arange(l), -1).amax(-1)
    lag = torch.where(count > 0, torch.arange(l)[None, :, None] - latest, 0)
    return lag, count
