"""numba random-walk kernels over CSR arrays (``indptr`` int64, ``indices`` int32 sorted per row, weights).

Every function here is a pure function of arrays. Walk ``w`` draws its random numbers from its own splitmix64
stream seeded by ``(seed, w)``, so the walks are the same for any number of threads and any chunking, and a
range of walk indices can be generated on any machine independently of the others.

First-order steps use Walker/Vose alias tables, stored as one 12-byte record per edge (target, ``float32``
keep threshold, target of the alias) so that a step reads one record: O(edges) memory, O(1) per step.
node2vec second-order steps use rejection sampling (KnightKing, Yang et al., SOSP 2019): propose ``x`` from the
first-order distribution of ``v`` and accept with ``f(t, x) / M``, where ``f = 1/p`` if ``x == t``, ``1`` if
``t -> x`` is an edge, ``1/q`` otherwise. When ``1/p`` dominates, the return edge is split off as its own
mixture component so the envelope stays ``max(1, 1/q)``. The distribution is exact and nothing of size
O(edges x degree) is ever built. The edge test is a binary search of the row of ``t``, or one bit of an
adjacency bitmap on dense graphs (where ``n^2 / 8`` bytes is no more than the edge arrays).

Walks are memory-bound (each step is a cache miss in a large table), so a thread advances a group of walks one
step at a time in turn and prefetches the record that each walk's next draw will pick (the streams are
counter-based, so the next draw is known before it is made); the misses of different walks then overlap.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from graphrec.rng import GOLDEN, mix, stream_seed
from graphrec.rng import MIX1 as _MIX1
from graphrec.rng import S32 as _S32
from graphrec.rng import next_u64 as _next
from graphrec.rng import uniform as _uniform
from walks._prefetch import prefetch

__all__ = [
    "build_alias",
    "step_table",
    "adjacency_bits",
    "out_weights",
    "walk_range",
    "walk_seed",
    "format_walks",
    "token_counts",
    "skipgram_pairs",
]

_LOW32 = np.uint64(0xFFFFFFFF)
_INV32 = 1.0 / 4294967296.0  # 2**-32


@njit(cache=True)
def walk_seed(seed: int, walk: int) -> np.uint64:
    """Initial splitmix64 state of walk ``walk`` under ``seed`` (a counter-based hash of the pair)."""
    return stream_seed(seed, walk)




# ---------------------------------------------------------------------------------------------- tables
@njit(parallel=True, cache=True)
def out_weights(indptr: NDArray[np.int64], weights: NDArray[np.float32]) -> NDArray[np.float64]:
    """Sum of the outgoing edge weights of every node (float64)."""
    n = len(indptr) - 1
    out = np.zeros(n, dtype=np.float64)
    for v in prange(n):
        s = 0.0
        for e in range(indptr[v], indptr[v + 1]):
            s += weights[e]
        out[v] = s
    return out


@njit(parallel=True, cache=True)
def build_alias(indptr: NDArray[np.int64], weights: NDArray[np.float32]) -> tuple[NDArray[np.float32],
                                                                                   NDArray[np.int32]]:
    """Vose alias tables for every row: ``prob[e]`` (keep threshold) and ``alias[e]`` (local column).

    Drawing column ``k`` uniformly in a row of degree ``d`` and keeping it when ``u < prob[s + k]`` (else
    taking ``alias[s + k]``) samples column ``j`` with probability ``w_j / sum(w)``. Rows of zero total weight
    get ``prob = 1`` but the walk kernels never enter them (they are dead ends). Memory: 8 bytes per edge.
    """
    n = len(indptr) - 1
    m = len(weights)
    prob = np.ones(m, dtype=np.float32)
    alias = np.zeros(m, dtype=np.int32)
    stack = np.empty(m, dtype=np.int32)  # per-row scratch: small stack from the left, large from the right
    scaled = np.empty(m, dtype=np.float64)
    for v in prange(n):
        s, e = indptr[v], indptr[v + 1]
        d = e - s
        if d == 0:
            continue
        total = 0.0
        for i in range(s, e):
            total += weights[i]
        if total <= 0.0:
            continue
        n_small = 0
        n_large = 0
        for k in range(d):
            x = weights[s + k] * d / total
            scaled[s + k] = x
            if x < 1.0:
                stack[s + n_small] = k
                n_small += 1
            else:
                n_large += 1
                stack[e - n_large] = k
        while n_small > 0 and n_large > 0:
            n_small -= 1
            small = stack[s + n_small]
            large = stack[e - n_large]
            prob[s + small] = scaled[s + small]
            alias[s + small] = large
            scaled[s + large] = (scaled[s + large] + scaled[s + small]) - 1.0
            if scaled[s + large] < 1.0:
                n_large -= 1
                stack[s + n_small] = large
                n_small += 1
        for i in range(n_large):  # leftovers are exactly 1 up to rounding
            prob[s + stack[e - 1 - i]] = 1.0
            alias[s + stack[e - 1 - i]] = stack[e - 1 - i]
        for i in range(n_small):
            prob[s + stack[s + i]] = 1.0
            alias[s + stack[s + i]] = stack[s + i]
    return prob, alias


STEP_DTYPE = np.dtype([("node", np.int32), ("prob", np.float32), ("alias", np.int32)])


@njit(parallel=True, cache=True)
def build_step_table(indptr: NDArray[np.int64], indices: NDArray[np.int32], prob: NDArray[np.float32],
                     alias: NDArray[np.int32], table: NDArray) -> None:
    """Fill ``table`` (``STEP_DTYPE``, one record per edge) from the alias tables: the edge's own target, its
    keep threshold and the target of its alias. A first-order step then reads one 12-byte record."""
    n = len(indptr) - 1
    for v in prange(n):
        s = indptr[v]
        for e in range(s, indptr[v + 1]):
            table[e].node = indices[e]
            table[e].prob = prob[e]
            table[e].alias = indices[s + alias[e]]


def step_table(indptr: NDArray[np.int64], indices: NDArray[np.int32], weights: NDArray[np.float32]) -> NDArray:
    """The per-edge records of first-order steps (``STEP_DTYPE``, 12 bytes per edge) for a CSR graph."""
    prob, alias = build_alias(indptr, weights)
    table = np.empty(len(indices), dtype=STEP_DTYPE)
    build_step_table(indptr, indices, prob, alias, table)
    return table


# ---------------------------------------------------------------------------------------------- steps
@njit(inline="always", cache=True)
def _alias_step(v: int, indptr: NDArray[np.int64], table: NDArray, state: NDArray[np.uint64]) -> int:
    """One first-order step from ``v`` (degree > 0): column by multiply-shift, keep or alias by low bits."""
    s = indptr[v]
    d = np.uint64(indptr[v + 1] - s)
    r = _next(state)
    k = np.int64(((r >> _S32) * d) >> _S32)
    rec = table[s + k]
    if float(r & _LOW32) * _INV32 < rec.prob:
        return rec.node
    return rec.alias


@njit(inline="always", cache=True)
def _find(indices: NDArray[np.int32], lo: int, hi: int, x: int) -> int:
    """Position of ``x`` in the sorted ``indices[lo:hi]``, or -1."""
    while lo < hi:
        mid = (lo + hi) >> 1
        y = indices[mid]
        if y < x:
            lo = mid + 1
        elif y > x:
            hi = mid
        else:
            return mid
    return -1


@njit(parallel=True, cache=True)
def adjacency_bits(indptr: NDArray[np.int64], indices: NDArray[np.int32]) -> NDArray[np.uint64]:
    """The adjacency matrix as a bitmap: bit ``x`` of row ``t`` (``words = (n + 63) // 64`` words a row) is set
    when ``t -> x`` is an edge. ``n * n / 8`` bytes: for dense graphs only (``walks.generate.bitmap_fits``)."""
    n = len(indptr) - 1
    words = (n + 63) >> 6
    bits = np.zeros(n * words, dtype=np.uint64)
    for t in prange(n):
        row = t * words
        for e in range(indptr[t], indptr[t + 1]):
            x = indices[e]
            bits[row + (x >> 6)] |= np.uint64(1) << np.uint64(x & 63)
    return bits


@njit(inline="always", cache=True)
def _is_edge(t: int, x: int, indptr: NDArray[np.int64], indices: NDArray[np.int32], bits: NDArray[np.uint64],
             words: int) -> bool:
    """Whether ``t -> x`` is an edge: one bit of the bitmap when there is one (``words > 0``), else a binary
    search of the sorted row of ``t``."""
    if words > 0:
        return (bits[t * words + (x >> 6)] >> np.uint64(x & 63)) & np.uint64(1) != 0
    return _find(indices, indptr[t], indptr[t + 1], x) >= 0


@njit(inline="always", cache=True)
def _node2vec_step(t: int, v: int, indptr: NDArray[np.int64], indices: NDArray[np.int32],
                   weights: NDArray[np.float32], table: NDArray, wsum: NDArray[np.float64],
                   bits: NDArray[np.uint64], words: int, inv_p: float, inv_q: float, split_return: bool,
                   state: NDArray[np.uint64]) -> int:
    """One second-order step ``t -> v -> x`` by rejection sampling (exact node2vec distribution).

    ``split_return``: ``1/p`` exceeds ``max(1, 1/q)``; the return edge ``v -> t`` then forms its own
    mixture component of mass ``w_vt / p`` against ``wsum[v] * max(1, 1/q)`` for the rest, and proposals of
    ``t`` from the alias table are rejected (they are covered by the component).
    """
    if split_return:
        env = max(1.0, inv_q)
        pos = _find(indices, indptr[v], indptr[v + 1], t)
        a = weights[pos] * inv_p if pos >= 0 else 0.0
        p_return = a / (a + wsum[v] * env)
    else:
        env = max(inv_p, max(1.0, inv_q))
        p_return = 0.0
    while True:
        if p_return > 0.0 and _uniform(state) < p_return:
            return t
        x = _alias_step(v, indptr, table, state)
        if x == t:
            if split_return:
                continue
            f = inv_p
        elif _is_edge(t, x, indptr, indices, bits, words):
            f = 1.0
        else:
            f = inv_q
        if f >= env or _uniform(state) * env < f:
            return x


# ---------------------------------------------------------------------------------------------- walks
GROUP = 16  # walks advanced in turn by one thread, so that the memory reads of their steps overlap


@njit(inline="always", cache=True)
def _prefetch_step(x: int, indptr: NDArray[np.int64], table: NDArray, state: NDArray[np.uint64],
                   ahead: int) -> None:
    """Ask for the record that draw number ``ahead`` of ``state`` picks in the row of ``x`` (a hint only)."""
    s = indptr[x]
    d = np.uint64(indptr[x + 1] - s)
    r = mix(state[0] + GOLDEN * np.uint64(ahead))
    prefetch(table, s + np.int64(((r >> _S32) * d) >> _S32))


@njit(parallel=True, cache=True)
def walk_range(indptr: NDArray[np.int64], indices: NDArray[np.int32], weights: NDArray[np.float32],
               table: NDArray, wsum: NDArray[np.float64], bits: NDArray[np.uint64], starts: NDArray[np.int32],
               first: int, count: int, walk_length: int, p: float, q: float, second_order: bool,
               seed: int) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """Walks ``first .. first + count - 1``; walk ``w`` starts at ``starts[w % len(starts)]``.

    ``bits``: the :func:`adjacency_bits` bitmap for node2vec's edge tests, or an empty array (binary search).
    Each thread advances ``GROUP`` walks one step at a time in turn and prefetches the record that each walk's
    next step will read, so the cache misses of different walks overlap; every walk still draws only from its
    own stream.

    Returns:
        ``walks`` int32 ``[count, walk_length]`` (0-padded after a dead end), ``lengths`` int32 ``[count]``.
    """
    walks = np.zeros((count, walk_length), dtype=np.int32)
    lengths = np.full(count, walk_length, dtype=np.int32)
    n_starts = len(starts)
    inv_p = 1.0 / p
    inv_q = 1.0 / q
    split_return = inv_p > max(1.0, inv_q)
    words = len(bits) // (len(indptr) - 1) if len(bits) > 0 else 0  # words per bitmap row
    for grp in prange((count + GROUP - 1) // GROUP):
        lo = grp * GROUP
        m = min(GROUP, count - lo)
        state = np.empty(GROUP, dtype=np.uint64)
        cur = np.empty(GROUP, dtype=np.int64)
        prev = np.full(GROUP, -1, dtype=np.int64)
        for j in range(m):
            w = first + lo + j
            state[j] = walk_seed(seed, w)
            cur[j] = starts[w % n_starts]
            walks[lo + j, 0] = cur[j]
        live = m
        n = 1
        while n < walk_length and live > 0:
            for j in range(m):
                v = cur[j]
                if v < 0:
                    continue
                if wsum[v] <= 0.0:  # a dead end
                    lengths[lo + j] = n
                    cur[j] = -1
                    live -= 1
                    continue
                st = state[j:j + 1]
                t = prev[j]
                if second_order and t >= 0:
                    x = _node2vec_step(t, v, indptr, indices, weights, table, wsum, bits, words, inv_p,
                                       inv_q, split_return, st)
                else:
                    x = _alias_step(v, indptr, table, st)
                walks[lo + j, n] = x
                prev[j] = v
                cur[j] = x
                _prefetch_step(x, indptr, table, st, 1)
                if second_order:  # where the second proposal goes if the first is rejected
                    _prefetch_step(x, indptr, table, st, 3)
                    if words == 0:  # the first probe of the next step's binary search in the row of v
                        prefetch(indices, (indptr[v] + indptr[v + 1]) >> 1)
            n += 1
    return walks, lengths


# ---------------------------------------------------------------------------------------------- corpus text
@njit(inline="always", cache=True)
def _num_digits(x: int) -> int:
    d = 1
    while x >= 10:
        x //= 10
        d += 1
    return d


@njit(parallel=True, cache=True)
def format_walks(walks: NDArray[np.int32], lengths: NDArray[np.int32]) -> NDArray[np.uint8]:
    """The walks as ASCII text, one walk per line, node ids separated by spaces (gensim ``corpus_file``)."""
    n = len(lengths)
    size = np.zeros(n + 1, dtype=np.int64)
    for i in prange(n):
        b = 0
        for j in range(lengths[i]):
            b += _num_digits(walks[i, j]) + 1  # digits + space or newline
        size[i + 1] = b
    for i in range(n):
        size[i + 1] += size[i]
    out = np.empty(size[n], dtype=np.uint8)
    for i in prange(n):
        pos = size[i]
        for j in range(lengths[i]):
            x = walks[i, j]
            d = _num_digits(x)
            for k in range(d - 1, -1, -1):
                out[pos + k] = 48 + x % 10
                x //= 10
            pos += d
            out[pos] = 32 if j + 1 < lengths[i] else 10
            pos += 1
    return out


@njit(cache=True)
def token_counts(walks: NDArray[np.int32], lengths: NDArray[np.int32], num_nodes: int) -> NDArray[np.int64]:
    """How often each node occurs in the walks."""
    out = np.zeros(num_nodes, dtype=np.int64)
    for i in range(len(lengths)):
        for j in range(lengths[i]):
            out[walks[i, j]] += 1
    return out


# ---------------------------------------------------------------------------------------------- pairs
@njit(inline="always", cache=True)
def _pair_window(state: NDArray[np.uint64], window: int, shrink: bool) -> int:
    if not shrink:
        return window
    return 1 + np.int64((_next(state) >> _S32) * np.uint64(window) >> _S32)  # type: ignore[return-value]


@njit(parallel=True, cache=True)
def skipgram_pairs(walks: NDArray[np.int32], lengths: NDArray[np.int32], window: int, shrink: bool,
                   seed: int, first: int) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """All (centre, context) pairs of the walks within ``window`` positions (word2vec's skip-gram pairs).

    With ``shrink`` every centre draws its window uniformly from ``1..window`` (as word2vec does, weighting
    near contexts more). Walk ``i`` uses the random stream of walk ``first + i``: the pairs are the same for
    any thread count. Output order is walk by walk, centre by centre.
    """
    n = len(lengths)
    size = np.zeros(n + 1, dtype=np.int64)
    for i in prange(n):
        state = np.empty(1, dtype=np.uint64)
        state[0] = walk_seed(seed, first + i) ^ _MIX1
        c = 0
        m = lengths[i]
        for j in range(m):
            b = _pair_window(state, window, shrink)
            c += min(j + b, m - 1) - max(j - b, 0)
        size[i + 1] = c
    for i in range(n):
        size[i + 1] += size[i]
    centers = np.empty(size[n], dtype=np.int32)
    contexts = np.empty(size[n], dtype=np.int32)
    for i in prange(n):
        state = np.empty(1, dtype=np.uint64)
        state[0] = walk_seed(seed, first + i) ^ _MIX1
        pos = size[i]
        m = lengths[i]
        for j in range(m):
            b = _pair_window(state, window, shrink)
            for k in range(max(j - b, 0), min(j + b, m - 1) + 1):
                if k != j:
                    centers[pos] = walks[i, j]
                    contexts[pos] = walks[i, k]
                    pos += 1
    return centers, contexts


def num_threads() -> int:
    """Number of threads numba runs ``prange`` loops on."""
    return int(numba.get_num_threads())
