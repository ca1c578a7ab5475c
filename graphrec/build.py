"""Build weighted item graphs from behaviour sequences (vectorised: no Python loop per edge)."""

from __future__ import annotations

import logging
from typing import Literal

import numba
import numpy as np
from numpy.typing import NDArray

from graphrec.errors import ConfigError, DataError
from graphrec.graph import ItemGraph
from graphrec.sequences import Sequences, csr_from_lengths
from graphrec.sideinfo import SideInfo
from graphrec.vocab import ItemVocab

__all__ = ["build_item_graph", "EDGE_ATTR_NAMES", "prune_top_k"]

log = logging.getLogger(__name__)

EDGE_ATTR_NAMES = ("log_count", "log_gap", "forward_share", "negative_share")


def build_item_graph(
    sequences: Sequences,
    window: int = 1,
    directed: bool = True,
    weighting: Literal["count", "inverse_distance", "sum_weight"] = "count",
    min_count: int = 1,
    top_k: int | None = None,
    symmetric: bool | None = None,
    edge_attributes: bool = False,
    events: Literal["positive", "all"] = "positive",
    vocab: ItemVocab | None = None,
    side_info: SideInfo | None = None,
    self_loops: bool = False,
    sequence_weights: NDArray[np.floating] | None = None,
) -> ItemGraph:
    """Build an item graph from chronological sequences.

    For each pair of events ``(a, b)`` in the same sequence with ``b`` at most ``window`` positions after ``a``,
    the edge ``a -> b`` gains weight ``1`` (``count``), ``1 / distance`` (``inverse_distance``) or the event
    weight of ``b`` (``sum_weight``). ``window=1`` and ``directed=True`` give the transition graph of
    Taobao/EGES; ``directed=False`` adds ``b -> a`` too, which is windowed co-occurrence.

    .. math::
        w_{ij} = \\sum_{s} \\sum_{p < q \\le p + W} [s_p = i, s_q = j] \\cdot f(q - p)

    Args:
        sequences: Train sequences only (never the held-out part).
        window: Largest distance between two co-occurring events (>= 1). Default 1.
        directed: Keep only forward edges ``a -> b``. Default True.
        weighting: ``count``, ``inverse_distance`` or ``sum_weight``. Default ``count``.
        min_count: Drop edges seen fewer than ``min_count`` times. Default 1.
        top_k: Keep only the ``top_k`` heaviest out-edges per node (ties: lower item index first). Default None.
        symmetric: Add the reverse edge weights after building (``w_ij + w_ji``); defaults to ``not directed``
            (a no-op there). Set True on a directed build to get an undirected transition graph.
        edge_attributes: Also compute ``log_count``, ``log_gap`` (log1p of the mean time gap in the timestamps'
            unit), ``forward_share`` (share of occurrences where ``i`` came before ``j``) and ``negative_share``
            (share of occurrences where ``i`` or ``j`` was negative feedback: always 0 with ``events="positive"``).
        events: ``positive`` (default) drops negative-feedback events (skip/dislike, see
            :meth:`~graphrec.sequences.Sequences.positive_mask`) before pairing, so the graph is the one of the
            positive sequence, whatever negatives the train split keeps; ``all`` pairs every event.
        vocab: Item vocabulary; a generic one over ``1..num_items`` is made when omitted.
        side_info: Side information attached to the graph.
        self_loops: Keep ``i -> i`` edges from repeated items. Default False.
        sequence_weights: One factor ``>= 0`` per sequence multiplying the weights of its pairs (e.g. a decay by
            age, so recent sessions count more); counts and the other edge attributes are unchanged. Default None.

    Returns:
        The :class:`ItemGraph`, with ``meta`` recording the parameters.

    Raises:
        ConfigError: For an invalid parameter. DataError: for sequences without any pair.

    Example:
        >>> from graphrec import Sequences
        >>> g = build_item_graph(Sequences.from_lists([[1, 2, 3], [1, 3]]), window=2, directed=False)
        >>> g.neighbors(1)[0].tolist(), g.neighbors(1)[1].tolist()
        ([2, 3], [1.0, 2.0])
    """
    _check_params(window, weighting, min_count, top_k, events)
    if symmetric is None:
        symmetric = False
    seqs = sequences if events == "all" else sequences.select_events(sequences.positive_mask())
    n = seqs.num_items + 1
    if vocab is None:
        vocab = ItemVocab(np.arange(1, seqs.num_items + 1))
    elif vocab.size != seqs.num_items:
        raise DataError(f"vocab has {vocab.size} items but the sequences use {seqs.num_items}")

    src, dst, dist, pos_a, pos_b = _pairs(seqs, window)
    if not self_loops:
        keep = src != dst
        src, dst, dist, pos_a, pos_b = src[keep], dst[keep], dist[keep], pos_a[keep], pos_b[keep]
    forward = np.ones(len(src), dtype=np.float64)
    if not directed:
        r = src != dst  # both directions of a pair; a self loop is one co-occurrence, not two
        src, dst = np.concatenate([src, dst[r]]), np.concatenate([dst, src[r]])
        dist = np.concatenate([dist, dist[r]])
        pos_a, pos_b = np.concatenate([pos_a, pos_b[r]]), np.concatenate([pos_b, pos_a[r]])
        forward = np.concatenate([forward, np.zeros(int(r.sum()))])
    if weighting == "count":
        w = np.ones(len(src), dtype=np.float64)
    elif weighting == "inverse_distance":
        w = 1.0 / dist
    else:
        if seqs.weights is None:
            raise ConfigError("weighting='sum_weight' needs event weights in the data")
        w = seqs.weights[pos_b].astype(np.float64)

    if sequence_weights is not None:
        sw = np.asarray(sequence_weights, dtype=np.float64)
        if sw.shape != (len(seqs),) or not np.all(np.isfinite(sw)) or (sw < 0).any():
            raise ConfigError(f"sequence_weights must hold {len(seqs)} finite values >= 0, one per sequence "
                              f"(got shape {sw.shape})")
        w = w * sw[seqs.row_ids()[pos_a]]
    gap = neg = np.zeros(1)
    if edge_attributes:
        ts = seqs.timestamps
        gap = np.abs(ts[pos_b] - ts[pos_a]) if ts is not None else np.abs(pos_b - pos_a).astype(np.float64)
        neg = np.zeros(len(src))
        if seqs.events is not None and seqs.negative_events:
            neg_ev = ~seqs.positive_mask()
            neg = (neg_ev[pos_a] | neg_ev[pos_b]).astype(np.float64)
    else:
        forward = np.zeros(1)
    indptr, cols, weight, count, gap_sum, fwd_sum, neg_sum = _aggregate_pairs(
        src.astype(np.int64), dst.astype(np.int64), w, gap, forward, neg, n, edge_attributes)
    attr = None
    if edge_attributes:
        attr = np.stack([np.log1p(count), np.log1p(gap_sum / count), fwd_sum / count, neg_sum / count],
                        axis=1).astype(np.float32)
    if min_count > 1:
        keep = count >= min_count
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))[keep]
        indptr = csr_from_lengths(np.bincount(rows, minlength=n))
        cols, weight = cols[keep], weight[keep]
        attr = None if attr is None else attr[keep]
    graph = ItemGraph(indptr, cols.astype(np.int32), weight.astype(np.float32), vocab, directed=directed,
                      edge_attr=attr, edge_attr_names=EDGE_ATTR_NAMES if edge_attributes else (),
                      side_info=side_info,
                      meta={"window": window, "directed": directed, "weighting": weighting,
                            "min_count": min_count, "top_k": top_k, "events": events})
    if symmetric and directed:
        graph = graph.symmetrize()
        graph.meta.update({"symmetric": True})
    if top_k is not None:
        graph = prune_top_k(graph, top_k)
    log.info("built %r", graph)
    return graph


def prune_top_k(graph: ItemGraph, top_k: int) -> ItemGraph:
    """Keep the ``top_k`` heaviest out-edges of every node (ties broken by lower neighbour index).

    Pruning is per row, so an undirected graph may become directed (``i`` keeps ``j`` but not vice versa).
    """
    if top_k < 1:
        raise ConfigError(f"top_k must be >= 1 (got {top_k})")
    deg = graph.degree()
    rows = np.repeat(np.arange(graph.num_nodes, dtype=np.int64), deg)
    order = np.lexsort((graph.indices, -graph.weights.astype(np.float64), rows))
    rank = np.arange(len(order)) - np.repeat(graph.indptr[:-1], deg)
    chosen = np.sort(order[rank < top_k])  # sorted positions keep rows and column order intact
    new_deg = np.bincount(rows[chosen], minlength=graph.num_nodes)
    attr = None if graph.edge_attr is None else graph.edge_attr[chosen]
    pruned_directed = graph.directed or bool((new_deg != deg).any())
    return ItemGraph(csr_from_lengths(new_deg), graph.indices[chosen], graph.weights[chosen], graph.vocab,
                     pruned_directed, attr, graph.edge_attr_names, graph.side_info,
                     {**graph.meta, "top_k": top_k})


def _check_params(window: int, weighting: str, min_count: int, top_k: int | None, events: str) -> None:
    if not isinstance(window, int | np.integer) or window < 1:
        raise ConfigError(f"window must be an integer >= 1 (got {window!r})")
    if weighting not in ("count", "inverse_distance", "sum_weight"):
        raise ConfigError(f"weighting must be 'count', 'inverse_distance' or 'sum_weight' (got {weighting!r})")
    if min_count < 1:
        raise ConfigError(f"min_count must be >= 1 (got {min_count})")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"top_k must be >= 1 (got {top_k})")
    if events not in ("positive", "all"):
        raise ConfigError(f"events must be 'positive' or 'all' (got {events!r})")


def _pairs(seqs: Sequences, window: int) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float64],
                                                  NDArray[np.int64], NDArray[np.int64]]:
    """All (a, b) event pairs with b at distance 1..window after a in the same sequence."""
    items = seqs.items
    ends = np.repeat(seqs.offsets[1:], seqs.lengths)
    idx = np.arange(len(items), dtype=np.int64)
    srcs, dsts, dists, pa, pb = [], [], [], [], []
    for d in range(1, window + 1):
        ok = idx + d < ends
        a = idx[ok]
        if not a.size:
            break
        srcs.append(items[a])
        dsts.append(items[a + d])
        dists.append(np.full(len(a), float(d)))
        pa.append(a)
        pb.append(a + d)
    if not srcs:
        raise DataError("the sequences contain no pair of consecutive events: every sequence has length < 2")
    return (np.concatenate(srcs), np.concatenate(dsts), np.concatenate(dists), np.concatenate(pa),
            np.concatenate(pb))


@numba.njit(cache=True)
def _aggregate_pairs(src, dst, w, gap, fwd, neg, n, with_attr):  # noqa: ANN001, ANN202
    """Sum pair statistics per (src, dst) edge in O(pairs): counting sort by source, then a scratch slot per
    destination. Returns CSR ``indptr`` and per-edge ``indices``, weight, count, gap/forward/negative sums."""
    p = len(src)
    row_start = np.zeros(n + 1, np.int64)
    for i in range(p):
        row_start[src[i] + 1] += 1
    for r in range(n):
        row_start[r + 1] += row_start[r]
    order = np.empty(p, np.int64)
    fill = row_start[:-1].copy()
    for i in range(p):
        order[fill[src[i]]] = i
        fill[src[i]] += 1
    slot = np.full(n, -1, np.int64)
    indptr = np.zeros(n + 1, np.int64)
    cols = np.empty(p, np.int32)
    weight = np.zeros(p)
    count = np.zeros(p)
    m = p if with_attr else 1
    gap_sum = np.zeros(m)
    fwd_sum = np.zeros(m)
    neg_sum = np.zeros(m)
    e = 0
    for r in range(n):
        start = e
        for k in range(row_start[r], row_start[r + 1]):
            i = order[k]
            d = dst[i]
            if slot[d] < 0:
                slot[d] = e
                cols[e] = d
                e += 1
            j = slot[d]
            weight[j] += w[i]
            count[j] += 1.0
            if with_attr:
                gap_sum[j] += gap[i]
                fwd_sum[j] += fwd[i]
                neg_sum[j] += neg[i]
        if e - start > 1:
            perm = np.argsort(cols[start:e], kind="mergesort") + start
            cols[start:e] = cols[perm]
            weight[start:e] = weight[perm]
            count[start:e] = count[perm]
            if with_attr:
                gap_sum[start:e] = gap_sum[perm]
                fwd_sum[start:e] = fwd_sum[perm]
                neg_sum[start:e] = neg_sum[perm]
        for j in range(start, e):
            slot[cols[j]] = -1
        indptr[r + 1] = e
    if not with_attr:
        return indptr, cols[:e], weight[:e], count[:e], gap_sum, fwd_sum, neg_sum
    return indptr, cols[:e], weight[:e], count[:e], gap_sum[:e], fwd_sum[:e], neg_sum[:e]
