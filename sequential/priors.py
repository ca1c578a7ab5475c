"""Score-level priors of SASRec: the global transition graph (``transition_prior``), neighbouring train sequences
(``knn_prior``) and re-consumption (``repeat_bonus``, ``repeat_recency``).

The graph is :func:`graphrec.build.build_item_graph` over the train sequences, directed, ``1 / distance``
weights within ``window`` clicks, each row normalised to ``P(b | a)``. ``score`` adds
``w * log(1 + P(i | history) / EPS)`` to the successors of the recent items, where ``P(i | history)`` mixes the
rows of the last ``transition_history`` items with weights ``transition_decay ** age``: the log of the smoothed
probability ``P + EPS`` up to a constant that does not change any ranking, and zero for items that never followed.

The neighbour prior is session-kNN (V-SKNN of Ludewig and Jannach, 2018) over the binary item sets of the train
sequences: a history's clicks weighted linearly by position (the most recent 1, the first ``1 / n``; the weights
of a repeated item add up), its similarity to a train sequence the sum of the weights of their shared items, and
an item's score the summed similarity of the ``k`` most similar sequences that hold it, divided by the history's
highest item score.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from graphrec.build import build_item_graph
from graphrec.sequences import Sequences

__all__ = ["EPS", "transition_matrix", "transition_bias", "sequence_matrix", "knn_bias", "repeat_bias"]

#: Smoothing of the transition probabilities (chosen on Diginetica's validation prefixes with a 3-epoch model:
#: 1e-3 and 1e-2 within 0.1 P@20 of each other).
EPS = 1e-3


def transition_matrix(train: Sequences, window: int) -> sp.csr_matrix:
    """Row-normalised ``P(b | a)`` ``[num_items + 1, num_items + 1]`` of the train sequences (row 0 empty)."""
    g = build_item_graph(train, window=window, directed=True, weighting="inverse_distance")
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
    """Binary ``[num_sequences, num_items + 1]`` item sets of the train sequences (the neighbour base; negative
    feedback such as skips is left out)."""
    train = train.select_events(train.positive_mask())
    m = sp.csr_matrix((np.ones(train.num_events, np.float32), (train.row_ids(), train.items.astype(np.int64))),
                      shape=(len(train), train.num_items + 1))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def knn_bias(sequences: sp.csr_matrix, inputs: torch.Tensor, weight: float,
             neighbors: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(row, item, bias)``: ``weight * s(item) / max_j s(j)`` for the items of each history's ``neighbors``
    most similar train sequences (``sequences`` from :func:`sequence_matrix`; module docstring for ``s``).

    Ties between equally similar sequences go to the lower sequence index, so the result is deterministic."""
    row, item, age, length = _history_rows(inputs)
    n = inputs.shape[0]
    # position weights times n (integers, so equal similarities tie exactly; the final division by the row's peak
    # removes the scale); a repeated item's weights add up
    q = sp.csr_matrix(((length[row] - age).astype(np.float64), (row, item)), shape=(n, sequences.shape[1]))
    sim = (q @ sequences.T).tocoo()
    # keep the top ``neighbors`` similarities of each row: sort by (row, -sim, sequence), rank within the row
    order = np.lexsort((sim.col, -sim.data, sim.row))
    r, c, v = sim.row[order], sim.col[order], sim.data[order]
    starts = np.searchsorted(r, r, side="left")
    keep = np.arange(len(r)) - starts < neighbors
    top = sp.csr_matrix((v[keep], (r[keep], c[keep])), shape=sim.shape)
    scores = (top @ sequences).tocsr()
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
