"""Score-level priors of SASRec: the global transition graph (``transition_prior``), neighbouring train sequences
(``knn_prior``) and re-consumption (``repeat_bonus``, ``repeat_recency``).

The graph is :func:`graphrec.build.build_item_graph` over the train sequences, directed, ``1 / distance``
weights within ``window`` clicks, each row normalised to ``P(b | a)``. ``score`` adds
``w * log(1 + P(i | history) / EPS)`` to the successors of the recent items, where ``P(i | history)`` mixes the
rows of the last ``transition_history`` items with weights ``transition_decay ** age``: the log of the smoothed
probability ``P + EPS`` up to a constant that does not change any ranking, and zero for items that never followed.

The neighbour prior is session-kNN (V-SKNN of Ludewig and Jannach, 2018) over the item sets of the train
sequences: a history's clicks weighted linearly by position (the most recent 1, the first ``1 / n``; the weights
of a repeated item add up), its similarity to a train sequence the sum of the weights of their shared items, and
an item's score the summed similarity of the ``k`` most similar sequences that hold it, divided by the history's
highest item score. With ``position_decay`` (``lambda_3`` of STAN, Garg et al. SIGIR 2019) a neighbour's items
count ``exp(-|p(i) - p(a)| / lambda_3)`` of its similarity instead of all of it, ``p`` the position in that
neighbour and ``a`` the history's most recent item the neighbour holds: the items clicked near the point where the
neighbour meets the history count most.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp
import torch

from graphrec.build import build_item_graph
from graphrec.sequences import Sequences

__all__ = ["EPS", "recency_weights", "transition_matrix", "transition_bias", "sequence_matrix", "knn_bias",
           "repeat_bias"]

#: Smoothing of the transition probabilities (chosen on Diginetica's validation prefixes with a 3-epoch model:
#: 1e-3 and 1e-2 within 0.1 P@20 of each other).
EPS = 1e-3


def recency_weights(num_sequences: int, recency: float) -> np.ndarray:
    """``exp(-(M - 1 - m) / (recency * M))`` for sequence ``m`` of ``M`` (row order as time; the newest weighs 1)."""
    m = np.arange(num_sequences, dtype=np.float64)
    return np.exp(-(num_sequences - 1 - m) / (recency * max(num_sequences, 1)))


def transition_matrix(train: Sequences, window: int, recency: float = 0.0) -> sp.csr_matrix:
    """Row-normalised ``P(b | a)`` ``[num_items + 1, num_items + 1]`` of the train sequences (row 0 empty); with
    ``recency > 0`` each sequence's pairs weigh :func:`recency_weights` (recent sessions count more)."""
    g = build_item_graph(train, window=window, directed=True, weighting="inverse_distance",
                         sequence_weights=recency_weights(len(train), recency) if recency > 0 else None)
    m = sp.diags(1.0 / np.maximum(g.out_weight(), 1e-300)) @ g.to_scipy().astype(np.float64)
    return sp.csr_matrix(m, dtype=np.float32)


def _history_rows(inputs: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(row, item, age, length)`` of every real position of left-padded ``inputs`` (age 0 = the most recent)."""
    ids = inputs.numpy()
    real = ids != 0
    length = real.sum(axis=1)
    row, col = np.nonzero(real)
    return row, ids[row, col].astype(np.int64), (ids.shape[1] - 1 - col).astype(np.int64), length


def transition_bias(matrix: sp.csr_matrix, inputs: torch.Tensor, weight: float, history: int = 1,
                    decay: float = 0.8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(row, item, bias)``: ``weight * log(1 + P(item | history) / EPS)`` for every item with ``P > 0``.

    ``inputs`` are left-padded histories ``[B, L]`` (0 = padding). ``P(item | history)`` mixes the transition rows
    of the last ``history`` items, the ``j``-th most recent weighted ``decay ** (j - 1)`` and the weights of each
    row's real (non-padding) items normalised to 1; ``history=1`` is ``P(item | last item)``.
    """
    row, item, age, _ = _history_rows(inputs)
    keep = age < max(1, int(history))
    # [B, num_items + 1] mixing weights (a repeated item's weights add up), rows normalised over real items
    mix = sp.csr_matrix((decay ** age[keep].astype(np.float64), (row[keep], item[keep])),
                        shape=(inputs.shape[0], matrix.shape[0]))
    norm = np.asarray(mix.sum(axis=1)).ravel()
    sub = (sp.diags(1.0 / np.maximum(norm, 1e-300)) @ mix @ matrix).tocoo()
    bias = weight * np.log1p(sub.data.astype(np.float64) / EPS)
    return (torch.from_numpy(sub.row.astype(np.int64)), torch.from_numpy(sub.col.astype(np.int64)),
            torch.from_numpy(bias.astype(np.float32)))


def sequence_matrix(train: Sequences) -> sp.csr_matrix:
    """The item sets of the train sequences ``[num_sequences, num_items + 1]`` (the neighbour base; negative
    feedback such as skips is left out), each entry the 1-based position of the item's last click in its sequence
    (the similarity reads the pattern alone, ``position_decay`` the positions). Column indices sorted."""
    train = train.select_events(train.positive_mask())
    rows = train.row_ids().astype(np.int64)
    positions = np.arange(train.num_events, dtype=np.int64) - train.offsets[rows] + 1
    items = train.items.astype(np.int64)
    order = np.lexsort((positions, items, rows))  # per (sequence, item) the last click last
    rows, items, positions = rows[order], items[order], positions[order]
    last = np.ones(len(rows), dtype=bool)
    last[:-1] = (rows[1:] != rows[:-1]) | (items[1:] != items[:-1])
    m = sp.csr_matrix((positions[last].astype(np.float32), (rows[last], items[last])),
                      shape=(len(train), train.num_items + 1))
    m.sort_indices()
    return m


def _pattern(m: sp.csr_matrix) -> sp.csr_matrix:
    """``m`` with every stored value 1 (sharing ``m``'s index arrays: it is rebuilt on every scored batch)."""
    return sp.csr_matrix((np.ones_like(m.data), m.indices, m.indptr), shape=m.shape)


def knn_bias(sequences: sp.csr_matrix, inputs: torch.Tensor, weight: float, neighbors: int,
             position_decay: float = 0.0, recency: float = 0.0, idf: bool = False,
             query_decay: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(row, item, bias)``: ``weight * s(item) / max_j s(j)`` for the items of each history's ``neighbors``
    most similar train sequences (``sequences`` from :func:`sequence_matrix`; module docstring for ``s`` and
    ``position_decay``, 0 = off; a base saved as plain item sets has every position 1, where it changes nothing).

    ``recency > 0`` multiplies the similarity of train sequence ``m`` of ``M`` by
    ``exp(-(M - 1 - m) / (recency * M))`` before the neighbours are chosen (STAN's ``lambda_2`` with the row
    order as time: for logs whose sequences are in time order, such as session files). ``idf`` weighs each shared
    item by ``log(M / df)``, ``df`` the number of train sequences holding it, so rare items say more.
    ``query_decay > 0`` weighs the history's clicks ``exp(-age / query_decay)`` (STAN's ``lambda_1``) instead of
    linearly by position.

    Ties between equally similar sequences go to the lower sequence index, so the result is deterministic (with
    the default linear click weights equal similarities are exactly equal; with ``idf`` or ``query_decay`` they are
    floats and rounding may order them)."""
    row, item, age, length = _history_rows(inputs)
    n = inputs.shape[0]
    pattern = _pattern(sequences)
    # position weights times n (integers, so equal similarities tie exactly; the final division by the row's peak
    # removes the scale); a repeated item's weights add up
    weights = np.exp(-age / query_decay) if query_decay > 0 else (length[row] - age).astype(np.float64)
    if idf:
        df = np.bincount(pattern.indices, minlength=sequences.shape[1])
        weights *= np.log(sequences.shape[0] / np.maximum(df[item], 1))
    q = sp.csr_matrix((weights, (row, item)), shape=(n, sequences.shape[1]))
    sim = (q @ pattern.T).tocoo()
    if recency > 0:
        sim.data *= recency_weights(sequences.shape[0], recency)[sim.col]
    # keep the top ``neighbors`` similarities of each row: sort by (row, -sim, sequence), rank within the row
    order = np.lexsort((sim.col, -sim.data, sim.row))
    r, c, v = sim.row[order], sim.col[order], sim.data[order]
    starts = np.searchsorted(r, r, side="left")
    keep = np.arange(len(r)) - starts < neighbors
    top = sp.csr_matrix((v[keep], (r[keep], c[keep])), shape=sim.shape)
    if position_decay > 0:
        recent = np.lexsort((age, row))  # each row's history, most recent first
        scores = _decayed_scores(top, sequences, row[recent], item[recent], n, float(position_decay))
    else:
        scores = (top @ pattern).tocsr()
    scores.eliminate_zeros()
    counts = np.diff(scores.indptr)
    peak = np.ones(n)
    nonempty = counts > 0
    if scores.nnz:
        peak[nonempty] = np.maximum.reduceat(scores.data, scores.indptr[:-1][nonempty])
    denom = np.repeat(peak, counts)
    out = scores.tocoo()
    bias = weight * out.data.astype(np.float64) / denom
    return (torch.from_numpy(out.row.astype(np.int64)), torch.from_numpy(out.col.astype(np.int64)),
            torch.from_numpy(bias.astype(np.float32)))


def _decayed_scores(top: sp.csr_matrix, sequences: sp.csr_matrix, hist_row: np.ndarray, hist_item: np.ndarray,
                    n: int, decay: float) -> sp.csr_matrix:
    """``s(i)`` with STAN's position decay: ``sum`` over the neighbours ``m`` of row ``r`` holding ``i`` of
    ``sim(r, m) * exp(-|p_m(i) - p_m(a)| / decay)``, ``a`` the most recent history item that ``m`` holds."""
    top.sort_indices()
    hist_ptr = np.searchsorted(hist_row, np.arange(n + 1)).astype(np.int64)
    rows, cols, vals = _decayed_kernel(top.indptr.astype(np.int64), top.indices.astype(np.int64),
                                       top.data.astype(np.float64), sequences.indptr.astype(np.int64),
                                       sequences.indices.astype(np.int64), sequences.data.astype(np.float64),
                                       hist_ptr, hist_item.astype(np.int64), sequences.shape[1], decay)
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, sequences.shape[1]))


@numba.njit(cache=True)
def _decayed_kernel(top_ptr, top_seq, top_sim, seq_ptr, seq_item, seq_pos, hist_ptr, hist_item, num_cols,
                    decay):  # pragma: no cover - numba
    total = 0
    for r in range(len(top_ptr) - 1):
        for t in range(top_ptr[r], top_ptr[r + 1]):
            m = top_seq[t]
            total += seq_ptr[m + 1] - seq_ptr[m]
    out_r = np.empty(total, np.int64)
    out_c = np.empty(total, np.int64)
    out_v = np.empty(total, np.float64)
    acc = np.zeros(num_cols, np.float64)
    seen = np.zeros(num_cols, np.bool_)
    touched = np.empty(num_cols, np.int64)
    k = 0
    for r in range(len(top_ptr) - 1):
        nt = 0
        for t in range(top_ptr[r], top_ptr[r + 1]):
            m = top_seq[t]
            lo, hi = seq_ptr[m], seq_ptr[m + 1]
            anchor = -1.0
            for h in range(hist_ptr[r], hist_ptr[r + 1]):  # most recent first
                j = lo + np.searchsorted(seq_item[lo:hi], hist_item[h])
                if j < hi and seq_item[j] == hist_item[h]:
                    anchor = seq_pos[j]
                    break
            for j in range(lo, hi):
                c = seq_item[j]
                w = top_sim[t] * (np.exp(-abs(seq_pos[j] - anchor) / decay) if anchor >= 0 else 1.0)
                if not seen[c]:
                    seen[c] = True
                    touched[nt] = c
                    nt += 1
                acc[c] += w
        for x in range(nt):
            c = touched[x]
            out_r[k] = r
            out_c[k] = c
            out_v[k] = acc[c]
            k += 1
            acc[c] = 0.0
            seen[c] = False
    return out_r[:k], out_c[:k], out_v[:k]


def repeat_bias(inputs: torch.Tensor, bonus: float, recency: float,
                decay: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(row, item, bias)``: ``bonus + recency * decay ** age`` for each distinct item of each history, ``age``
    the number of clicks since its last occurrence (0 for the last item)."""
    row, item, age, _ = _history_rows(inputs)
    order = np.lexsort((age, item, row))  # per (row, item) the smallest age first
    row, item, age = row[order], item[order], age[order]
    first = np.ones(len(row), dtype=bool)
    first[1:] = (row[1:] != row[:-1]) | (item[1:] != item[:-1])
    row, item, age = row[first], item[first], age[first]
    bias = bonus + recency * np.power(float(decay), age.astype(np.float64))
    return torch.from_numpy(row), torch.from_numpy(item), torch.from_numpy(bias.astype(np.float32))
