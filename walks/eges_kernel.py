"""numba training kernel of EGES / GES: skip-gram negative sampling through the attention-weighted aggregation.

For a centre item ``v`` with sources ``S_0 = W_v`` (its own embedding) and ``S_j = \\sum_u c_{vu} E_u`` (the
weighted mean of the embeddings ``E_u`` of its values in side field ``j``: ``c_{vu} = 1 / k`` for the plain mean
of ``k`` values, or IDF weights summing to 1), present sources only, attention logits ``a_v`` and the logits
``b`` shared by all items:

.. math::
    w_j = \\frac{e^{a_{vj} + b_j}}{\\sum_k e^{a_{vk} + b_k}}, \\qquad H_v = \\sum_j w_j S_j

and skip-gram with negative sampling against context vectors ``Z``,
``L = -\\log\\sigma(H_v \\cdot Z_x) - \\sum_n \\log\\sigma(-H_v \\cdot Z_n)``. With
``g = \\partial L / \\partial H_v = \\sum_t (\\sigma(H_v \\cdot Z_t) - y_t) Z_t`` the hand-derived gradients are

* ``\\partial L / \\partial Z_t = (\\sigma(H_v \\cdot Z_t) - y_t) H_v``,
* ``\\partial L / \\partial S_j = w_j g`` (spread as ``w_j c_{vu} g`` over the values ``u`` in ``S_j``),
* ``\\partial L / \\partial a_{vj} = \\partial L / \\partial b_j = w_j (S_j - H_v) \\cdot g`` (the softmax
  Jacobian); GES has neither ``a`` nor ``b``.

Training is plain SGD as in word2vec: the learning rate decays linearly from ``alpha`` to ``min_alpha`` over the
walks (by global walk index, so the schedule does not depend on threads or chunking). The pairs are never
materialised: each walk of a chunk yields its (centre, context) pairs on the fly (window shrunk at random per
centre, frequent nodes down-sampled first, as word2vec), and all the pairs of one centre take one SGD step at the
same ``H_v`` (their summed loss), so ``H_v`` and its backward pass are computed once per centre, not per pair.
Negatives come from the unigram^0.75 distribution through an alias table (exact, O(items) memory).

Walks are spread over threads with ``prange`` and update the shared weights without locks (Hogwild, Recht et
al. 2011): runs with more than one thread are not bit-identical. With one thread and a fixed seed every random
draw comes from per-walk splitmix64 streams, and the result is identical from run to run.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from graphrec.rng import MIX2 as _MIX2
from graphrec.rng import S32 as _S32
from graphrec.rng import next_u64 as _next
from graphrec.rng import uniform as _uniform
from walks.kernels import walk_seed

__all__ = ["train_walks", "center_step", "keep_probabilities", "subsample_walks"]

_MAX_EXP = 30.0


@njit(inline="always", cache=True)
def _sigmoid_loss(score: float, label: float) -> tuple[float, float]:
    """``(sigma(score), -log sigma(+-score))`` with the sign given by the label."""
    s = min(max(score, -_MAX_EXP), _MAX_EXP)
    sig = 1.0 / (1.0 + np.exp(-s))
    loss = np.log1p(np.exp(-s)) if label > 0.5 else np.log1p(np.exp(s))
    return sig, loss


@njit(inline="always", cache=True)
def _aggregate(c: int, item_emb: NDArray[np.float32], side_emb: NDArray[np.float32], side: NDArray[np.int32],
               side_w: NDArray[np.float32], field_cols: NDArray[np.int64], present: NDArray[np.bool_],
               attn: NDArray[np.float32], bias: NDArray[np.float32], attention: bool, src: NDArray[np.float32],
               w: NDArray[np.float32], h: NDArray[np.float32]) -> None:
    """Fill ``src[j]`` with the sources of ``c``, ``w`` with their weights and ``h`` with ``H_c``."""
    num_src, d = src.shape
    top = -1e30
    for j in range(num_src):
        if present[c, j] and attention and attn[c, j] + bias[j] > top:
            top = attn[c, j] + bias[j]
    total = 0.0
    for j in range(num_src):
        w[j] = 0.0
        if present[c, j]:
            w[j] = np.exp(attn[c, j] + bias[j] - top) if attention else 1.0
            total += w[j]
    for i in range(d):
        h[i] = 0.0
    for j in range(num_src):
        if w[j] == 0.0:
            continue
        w[j] /= total
        if j == 0:
            for i in range(d):
                src[0, i] = item_emb[c, i]
        else:
            for i in range(d):
                src[j, i] = 0.0
            for col in range(field_cols[j - 1], field_cols[j]):
                r = side[c, col]
                if r >= 0:
                    u = side_w[c, col]
                    for i in range(d):
                        src[j, i] += u * side_emb[r, i]
        for i in range(d):
            h[i] += w[j] * src[j, i]


@njit(inline="always", cache=True)
def _backward(c: int, grad: NDArray[np.float32], item_emb: NDArray[np.float32], side_emb: NDArray[np.float32],
              side: NDArray[np.int32], side_w: NDArray[np.float32], field_cols: NDArray[np.int64],
              attn: NDArray[np.float32], bias_step: NDArray[np.float32], attention: bool, src: NDArray[np.float32],
              w: NDArray[np.float32], h: NDArray[np.float32]) -> None:
    """Apply ``grad`` (already ``-lr * dL/dH``) to the sources and the attention logits of ``c``; the shared
    bias's step (the same as the logits') is added to ``bias_step``, which the caller applies."""
    num_src, d = src.shape
    for j in range(num_src):
        if w[j] == 0.0:
            continue
        if attention:
            s = 0.0
            for i in range(d):
                s += (src[j, i] - h[i]) * grad[i]
            attn[c, j] += w[j] * s
            bias_step[j] += w[j] * s
        if j == 0:
            for i in range(d):
                item_emb[c, i] += w[0] * grad[i]
        else:
            for col in range(field_cols[j - 1], field_cols[j]):
                r = side[c, col]
                if r >= 0:
                    scale = w[j] * side_w[c, col]
                    for i in range(d):
                        side_emb[r, i] += scale * grad[i]


@njit(inline="always", cache=True)
def _target(x: int, label: float, lr: float, h: NDArray[np.float32], context: NDArray[np.float32],
            grad: NDArray[np.float32]) -> float:
    """One output of the SGNS loss: accumulate ``-lr dL/dH`` into ``grad``, update ``Z_x``; return the loss."""
    score = 0.0
    for i in range(len(h)):
        score += h[i] * context[x, i]
    sig, loss = _sigmoid_loss(score, label)
    g = lr * (label - sig)
    for i in range(len(h)):
        grad[i] += g * context[x, i]
        context[x, i] += g * h[i]
    return loss


@njit(cache=True, fastmath=True)
def _center(c: int, ctx: NDArray[np.int32], n_ctx: int, negs: NDArray[np.int32], lr: float,
            item_emb: NDArray[np.float32], side_emb: NDArray[np.float32], side: NDArray[np.int32],
            side_w: NDArray[np.float32], field_cols: NDArray[np.int64], present: NDArray[np.bool_],
            attn: NDArray[np.float32], bias: NDArray[np.float32], bias_step: NDArray[np.float32],
            context: NDArray[np.float32], attention: bool, src: NDArray[np.float32], w: NDArray[np.float32],
            h: NDArray[np.float32], grad: NDArray[np.float32]) -> float:
    """One SGD step on the summed loss of centre ``c`` with contexts ``ctx[:n_ctx]`` and negatives
    ``negs[k * K:(k + 1) * K]`` for context ``k`` (a negative equal to its context is skipped, as word2vec)."""
    _aggregate(c, item_emb, side_emb, side, side_w, field_cols, present, attn, bias, attention, src, w, h)
    for i in range(len(grad)):
        grad[i] = 0.0
    loss = 0.0
    num_neg = len(negs) // n_ctx
    for k in range(n_ctx):
        x = ctx[k]
        loss += _target(x, 1.0, lr, h, context, grad)
        for t in range(k * num_neg, (k + 1) * num_neg):
            if negs[t] != x:
                loss += _target(negs[t], 0.0, lr, h, context, grad)
    _backward(c, grad, item_emb, side_emb, side, side_w, field_cols, attn, bias_step, attention, src, w, h)
    return loss


def center_step(c: int, contexts: NDArray[np.int32], negatives: NDArray[np.int32], lr: float,
                item_emb: NDArray[np.float32], side_emb: NDArray[np.float32], side: NDArray[np.int32],
                side_w: NDArray[np.float32], field_cols: NDArray[np.int64], present: NDArray[np.bool_],
                attn: NDArray[np.float32], context: NDArray[np.float32], attention: bool = True,
                bias: NDArray[np.float32] | None = None) -> float:
    """One SGD step of the kernel for one centre (in place); ``negatives`` is ``[len(contexts), K]``; ``side_w``:
    the weight of every entry of ``side`` in its field's mean (:func:`walks.eges.row_weights`, concatenated);
    ``bias``: the shared attention bias per source (updated in place; None = zeros, not learned).

    The same code the training kernel runs, exposed to test the hand-derived gradients against autograd.
    """
    d = item_emb.shape[1]
    num_src = attn.shape[1]
    ctx = np.ascontiguousarray(contexts, dtype=np.int32)
    shared = np.zeros(num_src, np.float32) if bias is None else bias
    step = np.zeros(num_src, np.float32)
    loss = float(_center(int(c), ctx, len(ctx), np.ascontiguousarray(negatives, dtype=np.int32).ravel(),
                         float(lr), item_emb, side_emb, side, side_w, field_cols, present, attn, shared, step,
                         context, attention, np.empty((num_src, d), np.float32), np.empty(num_src, np.float32),
                         np.empty(d, np.float32), np.empty(d, np.float32)))
    if bias is not None:
        bias += step
    return loss


def keep_probabilities(counts: NDArray[np.int64], sample: float) -> NDArray[np.float32]:
    """word2vec's down-sampling: keep node ``v`` with ``(sqrt(f_v / t) + 1) t / f_v``, ``t = sample * total``."""
    counts = counts.astype(np.float64)
    if sample <= 0.0:
        return np.ones(len(counts), dtype=np.float32)
    t = sample * counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (np.sqrt(counts / t) + 1.0) * t / counts
    return np.where(counts > 0, np.minimum(keep, 1.0), 1.0).astype(np.float32)


@njit(inline="always", cache=True)
def _keep_tokens(walk: NDArray[np.int32], length: int, keep: NDArray[np.float32], state: NDArray[np.uint64],
                 out: NDArray[np.int32]) -> int:
    """word2vec's down-sampling of one walk into ``out`` (node ``v`` kept with probability ``keep[v]``, one
    uniform draw from ``state`` per node below 1); returns how many were kept."""
    m = 0
    for j in range(length):
        v = walk[j]
        if keep[v] >= 1.0 or _uniform(state) < keep[v]:
            out[m] = v
            m += 1
    return m


@njit(parallel=True, cache=True)
def subsample_walks(walks: NDArray[np.int32], lengths: NDArray[np.int32], keep: NDArray[np.float32], seed: int,
                    first: int) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """The walks after word2vec's down-sampling (node ``v`` kept with probability ``keep[v]``), left-aligned.

    Walk ``i`` draws from the stream of walk ``first + i`` through the same code as :func:`train_walks` before its
    pairs, so the kept tokens are the ones the numba trainer trains on, for any thread count.
    """
    n, walk_length = walks.shape
    out = np.zeros((n, walk_length), dtype=np.int32)
    kept = np.zeros(n, dtype=np.int32)
    for i in prange(n):
        state = np.empty(1, dtype=np.uint64)
        state[0] = walk_seed(seed, first + i) ^ _MIX2
        kept[i] = _keep_tokens(walks[i], lengths[i], keep, state, out[i])
    return out, kept


@njit(inline="always", cache=True)
def _draw(neg_prob: NDArray[np.float32], neg_alias: NDArray[np.int32], state: NDArray[np.uint64]) -> np.int64:
    r = _next(state)
    k = np.int64(((r >> _S32) * np.uint64(len(neg_prob))) >> _S32)
    if float(r & np.uint64(0xFFFFFFFF)) * (1.0 / 4294967296.0) < neg_prob[k]:
        return k
    return neg_alias[k]


@njit(parallel=True, cache=True, fastmath=True)
def train_walks(walks: NDArray[np.int32], lengths: NDArray[np.int32], first: int, total: int, window: int,
                num_negatives: int, alpha: float, min_alpha: float, keep: NDArray[np.float32],
                neg_prob: NDArray[np.float32], neg_alias: NDArray[np.int32], item_emb: NDArray[np.float32],
                side_emb: NDArray[np.float32], side: NDArray[np.int32], side_w: NDArray[np.float32],
                field_cols: NDArray[np.int64], present: NDArray[np.bool_], attn: NDArray[np.float32],
                bias: NDArray[np.float32], learn_bias: bool, context: NDArray[np.float32], attention: bool,
                seed: int) -> tuple[float, int]:
    """Train on walks ``first .. first + len(lengths) - 1`` of ``total`` (the learning-rate schedule).

    ``bias`` (one attention logit per source, shared by all items) is added to every item's logits; with
    ``learn_bias`` its steps are summed over a walk and applied once at the walk's end, so the one array every
    centre updates is written once per walk by each thread, not once per centre.

    Returns:
        The summed loss and the number of (centre, context) pairs trained.
    """
    n, walk_length = walks.shape
    num_src = attn.shape[1]
    d = item_emb.shape[1]
    losses = np.zeros(n, dtype=np.float64)
    pairs = np.zeros(n, dtype=np.int64)
    for i in prange(n):
        state = np.empty(1, dtype=np.uint64)
        state[0] = walk_seed(seed, first + i) ^ _MIX2
        lr = max(alpha - (alpha - min_alpha) * (first + i) / total, min_alpha)
        tokens = np.empty(walk_length, dtype=np.int32)
        m = _keep_tokens(walks[i], lengths[i], keep, state, tokens)
        src = np.empty((num_src, d), dtype=np.float32)
        wts = np.empty(num_src, dtype=np.float32)
        h = np.empty(d, dtype=np.float32)
        grad = np.empty(d, dtype=np.float32)
        ctx = np.empty(2 * window, dtype=np.int32)
        negs = np.empty(2 * window * num_negatives, dtype=np.int32)
        step = np.zeros(num_src, dtype=np.float32)
        loss = 0.0
        count = 0
        for j in range(m):
            b = 1 + int((_next(state) >> _S32) * np.uint64(window) >> _S32)
            n_ctx = 0
            for k in range(max(j - b, 0), min(j + b, m - 1) + 1):
                if k != j:
                    ctx[n_ctx] = tokens[k]
                    n_ctx += 1
            if n_ctx == 0:
                continue
            for t in range(n_ctx * num_negatives):
                negs[t] = _draw(neg_prob, neg_alias, state)
            loss += _center(tokens[j], ctx, n_ctx, negs[:n_ctx * num_negatives], lr, item_emb, side_emb, side,
                            side_w, field_cols, present, attn, bias, step, context, attention, src, wts, h, grad)
            count += n_ctx
        if learn_bias:
            for j in range(num_src):
                bias[j] += step[j]
        losses[i] = loss
        pairs[i] = count
    return losses.sum(), pairs.sum()
