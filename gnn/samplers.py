"""numba neighbour samplers over CSR arrays (``indptr`` int64, ``indices`` int32 sorted per row, ``weights``).

Every kernel is a pure function of arrays. Target ``b`` of a call draws its random numbers from its own
splitmix64 stream seeded by ``(seed, b)``, so results are identical for any number of threads.

* :func:`sample_neighbors` -- ``S`` neighbours per node, the GraphSAGE recipe: without replacement when the
  degree is ``>= S`` (Floyd's algorithm, or exact successive weighted draws for ``weighted=True``),
  with replacement otherwise. Weighted draws pick edge ``e`` of row ``v`` with probability ``w_e / sum_v w``.
* :func:`importance_neighbors` -- PinSAGE neighbourhoods: random walks with restart from each node; the
  ``top_t`` most visited nodes become its neighbours with L1-normalised visit counts as weights. Expected
  visit counts are proportional to personalised PageRank with teleport probability ``restart_prob``.
* :func:`sample_blocks` / :func:`table_blocks` -- multi-hop minibatches as PyG-ready bipartite blocks.

Messages flow from a sampled neighbour (row 0 of ``edge_index``, "source") to the node it was sampled for
(row 1, "target"). In every block the targets are a prefix of the sources, so a layer can run as
``conv((x, x[:num_dst]), edge_index)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from graphrec.rng import S32 as _S32
from graphrec.rng import next_u64, stream_seed
from graphrec.rng import uniform as _uniform

_LOW32 = np.uint64(0xFFFFFFFF)
_ALIAS_TRIES = 4  # alias draws tried per without-replacement draw before the exact O(k + log d) steps

__all__ = [
    "Block",
    "SampledSubgraph",
    "alias_table",
    "cumulative_weights",
    "weight_tables",
    "sample_neighbors",
    "importance_neighbors",
    "sample_blocks",
    "table_blocks",
]

@njit(inline="always", cache=True)
def _stream(seed: int, b: int) -> NDArray[np.uint64]:
    state = np.empty(1, dtype=np.uint64)
    state[0] = stream_seed(seed, b)
    return state


@njit(inline="always", cache=True)
def _randint(state: NDArray[np.uint64], n: int) -> int:
    """Uniform integer in ``[0, n)`` (multiply-shift on 32 high bits; bias < 2**-32 * n)."""
    r = next_u64(state) >> _S32
    return int((r * np.uint64(n)) >> _S32)


# ---------------------------------------------------------------------------------------------- tables
@njit(parallel=True, cache=True)
def cumulative_weights(indptr: NDArray[np.int64], weights: NDArray[np.float32]) -> NDArray[np.float64]:
    """Row-local inclusive prefix sums of the edge weights (``float64[num_edges]``), for weighted draws."""
    n = len(indptr) - 1
    out = np.empty(len(weights), dtype=np.float64)
    for v in prange(n):
        s = 0.0
        for e in range(indptr[v], indptr[v + 1]):
            s += max(weights[e], 0.0)
            out[e] = s
    return out


@njit(parallel=True, cache=True)
def alias_table(indptr: NDArray[np.int64], weights: NDArray[np.float32]) -> NDArray[np.uint64]:
    """Row-local Walker alias tables (Vose's construction), one packed ``uint64`` per edge, for O(1) weighted draws.

    Entry ``e`` of row ``[s, s + d)``: the high 32 bits hold the acceptance threshold ``round(d p_e 2^32)``
    (``p_e = w_e / sum_v w``, clipped), the low 32 bits the row-local offset of its alias. A draw picks a
    column ``i`` uniformly and keeps it when 32 further random bits fall below its threshold, else takes its
    alias: edge ``e`` comes out with probability ``p_e`` up to rounding of order ``2^-32``. Zero-weight edges
    have threshold 0 (never kept) and are nobody's alias. Rows whose weights are all zero are left as zeros.
    """
    n = len(indptr) - 1
    out = np.zeros(len(weights), dtype=np.uint64)
    for v in prange(n):
        s, e = indptr[v], indptr[v + 1]
        d = e - s
        total = 0.0
        for i in range(s, e):
            total += max(weights[i], 0.0)
        if d == 0 or total <= 0.0:
            continue
        prob = np.empty(d, dtype=np.float64)
        small = np.empty(d, dtype=np.int64)
        large = np.empty(d, dtype=np.int64)
        alias = np.arange(d)
        n_small = n_large = 0
        for i in range(d):
            prob[i] = max(weights[s + i], 0.0) * d / total
            if prob[i] < 1.0:
                small[n_small] = i
                n_small += 1
            else:
                large[n_large] = i
                n_large += 1
        while n_small > 0 and n_large > 0:
            n_small -= 1
            lo = small[n_small]
            hi = large[n_large - 1]
            alias[lo] = hi
            prob[hi] -= 1.0 - prob[lo]
            if prob[hi] < 1.0:
                n_large -= 1
                small[n_small] = hi
                n_small += 1
        for j in range(n_large):  # what is left is full (up to rounding): keep itself
            prob[large[j]] = 1.0
        heaviest = 0
        for i in range(1, d):
            if weights[s + i] > weights[s + heaviest]:
                heaviest = i
        for j in range(n_small):
            if prob[small[j]] > 0.0:
                prob[small[j]] = 1.0
            else:
                alias[small[j]] = heaviest
        for i in range(d):
            thr = 4294967295 if prob[i] >= 1.0 else min(int(prob[i] * 4294967296.0 + 0.5), 4294967295)
            out[s + i] = (np.uint64(thr) << _S32) | np.uint64(alias[i])
    return out


def weight_tables(indptr: NDArray[np.int64], weights: NDArray[np.float32]) -> tuple[NDArray[np.float64],
                                                                                      NDArray[np.uint64]]:
    """``(cumulative_weights, alias_table)`` of a graph: the two tables every weighted kernel reads."""
    return cumulative_weights(indptr, weights), alias_table(indptr, weights)


@njit(inline="always", cache=True)
def _alias_edge(s: int, d: int, alias: NDArray[np.uint64], state: NDArray[np.uint64]) -> int:
    """Edge position in ``[s, s + d)`` drawn with probability proportional to its weight (alias method)."""
    r = next_u64(state)
    i = s + int(((r >> _S32) * np.uint64(d)) >> _S32)
    packed = alias[i]
    if (r & _LOW32) < (packed >> _S32):
        return i
    return s + int(packed & _LOW32)


@njit(inline="always", cache=True)
def _taken(buf: NDArray[np.int64], n: int, x: int) -> bool:
    for i in range(n):
        if buf[i] == x:
            return True
    return False


@njit(inline="always", cache=True)
def _weighted_without(s: int, e: int, cumw: NDArray[np.float64], alias: NDArray[np.uint64], k: int,
                      out: NDArray[np.int64], state: NDArray[np.uint64]) -> None:
    """``k`` distinct edges of row ``[s, e)`` by successive weighted draws (draw ``n`` picks ``x`` with
    probability ``w_x / (W - sum of the weights taken)`` among the edges not taken), exactly.

    Each draw tries ``_ALIAS_TRIES`` O(1) alias draws from the whole row and keeps the first edge not taken yet:
    rejection from the full law gives the same conditional law. When every try hits a taken edge (heavy edges),
    this and all later draws use :func:`_weighted_exact`. Which method serves a draw depends on the past only,
    and both give the exact conditional law, so the sequence is exact.
    """
    n = 0
    while n < k:
        x = -1
        for _ in range(_ALIAS_TRIES):
            y = _alias_edge(s, e - s, alias, state)
            if not _taken(out, n, y):
                x = y
                break
        if x < 0:
            _weighted_exact(s, e, cumw, alias, k, out, n, state)
            return
        out[n] = x
        n += 1


@njit(cache=True)
def _weighted_exact(s: int, e: int, cumw: NDArray[np.float64], alias: NDArray[np.uint64], k: int,
                    out: NDArray[np.int64], n: int, state: NDArray[np.uint64]) -> None:
    """Draws ``n .. k - 1`` of :func:`_weighted_without` without rejection, in ``O(k + log d)`` each.

    A uniform ``t`` in ``[0, W - taken)`` is mapped to the full row by adding the weights of the taken edges
    lying before the answer (``taken`` is kept sorted by position), then found by binary search on ``cumw``.
    """
    taken = np.empty(k, dtype=np.int64)  # positions drawn so far, sorted
    total = cumw[e - 1]
    rest = total
    for i in range(n):
        x = out[i]
        rest -= cumw[x] - (cumw[x - 1] if x > s else 0.0)
        j = i
        while j > 0 and taken[j - 1] > x:
            taken[j] = taken[j - 1]
            j -= 1
        taken[j] = x
    while n < k:
        if rest <= 1e-12 * total:
            break  # fewer than k edges of positive weight
        target = _uniform(state) * rest
        for i in range(n):
            t = taken[i]
            if (cumw[t - 1] if t > s else 0.0) > target:
                break
            target += cumw[t] - (cumw[t - 1] if t > s else 0.0)
        lo, hi = s, e - 1
        while lo < hi:
            mid = (lo + hi) >> 1
            if cumw[mid] > target:
                hi = mid
            else:
                lo = mid + 1
        x = lo
        if _taken(taken, n, x):  # rounding at the very end of the row: last untaken edge of positive weight
            x = e - 1
            while x >= s and (_taken(taken, n, x) or cumw[x] <= (cumw[x - 1] if x > s else 0.0)):
                x -= 1
            if x < s:
                break
        out[n] = x
        j = n
        while j > 0 and taken[j - 1] > x:
            taken[j] = taken[j - 1]
            j -= 1
        taken[j] = x
        rest -= cumw[x] - (cumw[x - 1] if x > s else 0.0)
        n += 1
    for i in range(n, k):  # fewer than k edges of positive weight: fill with replacement
        out[i] = _alias_edge(s, e - s, alias, state)


@njit(parallel=True, cache=True)
def sample_neighbors(indptr: NDArray[np.int64], indices: NDArray[np.int32], cumw: NDArray[np.float64],
                     alias: NDArray[np.uint64], nodes: NDArray[np.int64], num_neighbors: int, seed: int,
                     weighted: bool) -> tuple[NDArray[np.int32], NDArray[np.int64]]:
    """Sample ``num_neighbors`` out-neighbours of every node in ``nodes``.

    Args:
        indptr, indices: The CSR graph.
        cumw, alias: :func:`weight_tables` of the graph (only read when ``weighted``; may be empty otherwise).
        nodes: ``int64[B]`` node ids.
        num_neighbors: ``S`` samples per node.
        seed: Random seed; node ``b`` of the call uses stream ``(seed, b)``.
        weighted: Draw proportionally to edge weight instead of uniformly.

    Returns:
        ``(neighbors int32[B, S], edge_ids int64[B, S])``: sampled node ids and their CSR edge positions;
        ``-1`` for nodes without out-edges (or whose weights are all zero when ``weighted``).
    """
    b_count = len(nodes)
    s_count = num_neighbors
    nbr = np.full((b_count, s_count), -1, dtype=np.int32)
    eid = np.full((b_count, s_count), -1, dtype=np.int64)
    for b in prange(b_count):
        v = nodes[b]
        s, e = indptr[v], indptr[v + 1]
        d = e - s
        if d == 0 or (weighted and cumw[e - 1] <= 0.0):
            continue
        state = _stream(seed, b)
        row = eid[b]
        if d < s_count:
            for i in range(s_count):
                row[i] = _alias_edge(s, d, alias, state) if weighted else s + _randint(state, d)
        elif weighted:
            _weighted_without(s, e, cumw, alias, s_count, row, state)
        else:
            for j in range(d - s_count, d):  # Floyd: a uniform S-subset of 0..d-1
                t = _randint(state, j + 1)
                row[j - d + s_count] = s + (j if _taken(row, j - d + s_count, s + t) else t)
            for i in range(s_count - 1, 0, -1):  # random order (matters for the LSTM aggregator)
                k = _randint(state, i + 1)
                row[i], row[k] = row[k], row[i]
        for i in range(s_count):
            nbr[b, i] = indices[row[i]]
    return nbr, eid


# ---------------------------------------------------------------------------------------------- importance
@njit(parallel=True, cache=True)
def importance_neighbors(indptr: NDArray[np.int64], indices: NDArray[np.int32], cumw: NDArray[np.float64],
                         alias: NDArray[np.uint64], nodes: NDArray[np.int64], num_steps: int, restart_prob: float,
                         top_t: int, seed: int, weighted: bool,
                         skip: int = 0) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """PinSAGE importance neighbourhoods by random walks with restart.

    From each node ``u`` a walk takes ``num_steps`` steps; after every step it jumps back to ``u`` with
    probability ``restart_prob`` (and at dead ends). Every node reached is counted (``u`` itself is not), so the
    expected count of ``v`` is proportional to the personalised PageRank ``pi_u(v)``. Nodes are ranked by count
    (ties: lower id first); ranks ``skip .. skip + top_t - 1`` are returned.

    Args:
        indptr, indices: The CSR graph. cumw, alias: Its :func:`weight_tables` (read when ``weighted``).
        nodes: ``int64[B]`` origins.
        num_steps: Walk steps per origin (the visit budget).
        restart_prob: Probability of jumping back to the origin after a step, in ``(0, 1]``.
        top_t: Neighbours kept per origin.
        seed: Random seed; origin ``b`` uses stream ``(seed, b)``.
        weighted: Step proportionally to edge weight instead of uniformly.
        skip: Leading ranks to skip (``skip > 0`` gives a middle band, e.g. hard negatives).

    Returns:
        ``(neighbors int32[B, top_t], weights float32[B, top_t])``: ``-1``/``0`` where fewer nodes were
        visited; the weights of each row sum to 1 (or 0 for an empty row).
    """
    b_count = len(nodes)
    nbr = np.full((b_count, top_t), -1, dtype=np.int32)
    wts = np.zeros((b_count, top_t), dtype=np.float32)
    for b in prange(b_count):
        u = nodes[b]
        if indptr[u + 1] == indptr[u] or (weighted and cumw[indptr[u + 1] - 1] <= 0.0):
            continue
        state = _stream(seed, b)
        visits = np.empty(num_steps, dtype=np.int32)
        n_vis = 0
        cur = u
        for _ in range(num_steps):
            s, e = indptr[cur], indptr[cur + 1]
            if e == s or (weighted and cumw[e - 1] <= 0.0):
                cur = u
                s, e = indptr[cur], indptr[cur + 1]
            pos = _alias_edge(s, e - s, alias, state) if weighted else s + _randint(state, e - s)
            cur = indices[pos]
            if cur != u:
                visits[n_vis] = cur
                n_vis += 1
            if _uniform(state) < restart_prob:
                cur = u
        vis = np.sort(visits[:n_vis])
        keep = top_t + skip
        best_id = np.full(keep, -1, dtype=np.int32)
        best_c = np.zeros(keep, dtype=np.int64)
        i = 0
        while i < n_vis:  # run-length counts; insertion into a small sorted top list
            j = i
            while j < n_vis and vis[j] == vis[i]:
                j += 1
            c = j - i
            if c > best_c[keep - 1]:
                k = keep - 1
                while k > 0 and best_c[k - 1] < c:
                    best_c[k] = best_c[k - 1]
                    best_id[k] = best_id[k - 1]
                    k -= 1
                best_c[k] = c
                best_id[k] = vis[i]
            i = j
        total = 0.0
        for k in range(skip, keep):
            total += best_c[k]
        for k in range(skip, keep):
            if best_id[k] >= 0 and total > 0:
                nbr[b, k - skip] = best_id[k]
                wts[b, k - skip] = best_c[k] / total
    return nbr, wts


# ---------------------------------------------------------------------------------------------- blocks
@njit(cache=True)
def _relabel(n_id: NDArray[np.int64], nbr: NDArray[np.int32],
             num_nodes: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Local ids of the valid entries of ``nbr`` [n_dst, S] in ``n_id`` extended by the nodes first seen there.

    Returns ``(new_n_id, src_local, dst_local)`` for the valid (``>= 0``) entries, row-major (sorted by target).
    """
    pos = np.full(num_nodes, -1, dtype=np.int64)
    n = len(n_id)
    for i in range(n):
        pos[n_id[i]] = i
    n_dst, s = nbr.shape
    out = np.empty(n + n_dst * s, dtype=np.int64)
    out[:n] = n_id
    src = np.empty(n_dst * s, dtype=np.int64)
    dst = np.empty(n_dst * s, dtype=np.int64)
    m = 0
    for r in range(n_dst):
        for c in range(s):
            v = nbr[r, c]
            if v < 0:
                continue
            if pos[v] < 0:
                pos[v] = n
                out[n] = v
                n += 1
            src[m] = pos[v]
            dst[m] = r
            m += 1
    return out[:n].copy(), src[:m].copy(), dst[:m].copy()


@dataclass
class Block:
    """One hop of a sampled minibatch, ready for a PyG bipartite layer.

    Attributes:
        edge_index: ``int64[2, E]``: row 0 local source ids (into the first ``size[0]`` nodes of ``n_id``),
            row 1 local target ids (into the first ``size[1]``); sorted by target.
        size: ``(num_src, num_dst)``; targets are the first ``num_dst`` sources.
        edge_weight: ``float32[E]``: the CSR edge weight (or the importance weight for :func:`table_blocks`).
        e_id: ``int64[E]`` CSR edge positions (``-1`` for importance edges); gathers edge attributes.
    """

    edge_index: NDArray[np.int64]
    size: tuple[int, int]
    edge_weight: NDArray[np.float32]
    e_id: NDArray[np.int64]


@dataclass
class SampledSubgraph:
    """A multi-hop minibatch: ``n_id`` maps local node ids to graph node ids; the seeds come first.

    ``blocks[0]`` is the hop next to the seeds (its targets are the seeds); a ``L``-layer model applies its
    first layer to ``blocks[-1]`` and its last to ``blocks[0]``.
    """

    n_id: NDArray[np.int64]
    blocks: list[Block]
    num_seeds: int


def sample_blocks(indptr: NDArray[np.int64], indices: NDArray[np.int32], weights: NDArray[np.float32],
                  seeds: NDArray[np.int64], fanouts: list[int] | tuple[int, ...], seed: int = 0,
                  weighted: bool = False,
                  tables: tuple[NDArray[np.float64], NDArray[np.uint64]] | None = None) -> SampledSubgraph:
    """Multi-hop neighbour sampling (GraphSAGE): ``fanouts[l]`` neighbours per node at hop ``l + 1``.

    Args:
        indptr, indices, weights: The CSR graph.
        seeds: Distinct node ids of the minibatch.
        fanouts: Neighbours per node per hop, nearest hop first (e.g. ``(10, 5)``).
        seed: Random seed (hop ``l`` uses ``seed * 1009 + l``).
        weighted: Weighted instead of uniform draws.
        tables: Precomputed :func:`weight_tables` (computed when ``weighted`` and omitted).

    Returns:
        The :class:`SampledSubgraph`.

    Example:
        >>> import numpy as np
        >>> ip, ix = np.array([0, 0, 2, 3, 4]), np.array([2, 3, 1, 1], dtype=np.int32)
        >>> sub = sample_blocks(ip, ix, np.ones(4, np.float32), np.array([1]), (2,))
        >>> sorted(sub.n_id.tolist()), sub.blocks[0].size
        ([1, 2, 3], (3, 1))
    """
    seeds = np.ascontiguousarray(seeds, dtype=np.int64)
    if weighted and tables is None:
        tables = weight_tables(indptr, weights)
    if tables is None:
        tables = np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.uint64)
    cumw, alias = tables
    n_id = seeds
    blocks = []
    for hop, fanout in enumerate(fanouts):
        nbr, eid = sample_neighbors(indptr, indices, cumw, alias, n_id, int(fanout), int(seed) * 1009 + hop, weighted)
        new_n_id, src, dst = _relabel(n_id, nbr, len(indptr) - 1)
        e_id = eid[eid >= 0]
        blocks.append(Block(np.stack([src, dst]), (len(new_n_id), len(n_id)), weights[e_id], e_id))
        n_id = new_n_id
    return SampledSubgraph(n_id, blocks, len(seeds))


def table_blocks(neighbors: NDArray[np.int32], weights: NDArray[np.float32], seeds: NDArray[np.int64],
                 num_layers: int) -> SampledSubgraph:
    """Multi-hop blocks from a fixed neighbour table (PinSAGE importance neighbourhoods).

    Args:
        neighbors: ``int32[num_nodes, T]`` neighbour ids (``-1`` = none), e.g. from :func:`importance_neighbors`.
        weights: ``float32[num_nodes, T]`` importance weights.
        seeds: Distinct node ids of the minibatch.
        num_layers: Hops to expand.
    """
    n_id = np.ascontiguousarray(seeds, dtype=np.int64)
    blocks = []
    for _ in range(num_layers):
        nbr = neighbors[n_id]
        new_n_id, src, dst = _relabel(n_id, nbr, len(neighbors))
        w = weights[n_id][nbr >= 0].astype(np.float32)
        blocks.append(Block(np.stack([src, dst]), (len(new_n_id), len(n_id)), w, np.full(len(w), -1, np.int64)))
        n_id = new_n_id
    return SampledSubgraph(n_id, blocks, len(seeds))
