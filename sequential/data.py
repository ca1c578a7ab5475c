"""Whole-sequence training batches: one sample per sequence per epoch, every position a target.

A sequence of positives ``s_1..s_L`` is stored right-aligned as its last ``max_len + 1`` items; the input is the
first ``max_len`` columns, and the target of input column ``c`` for step ``j`` (1..next_n) is column ``c + j``.
This is what RecBole's prefix augmentation computes too, but with one forward pass per user instead of one per
prefix. Batches are trimmed to their longest row on the left (positions stay anchored at the right).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from graphrec.sequences import Sequences

__all__ = ["TrainData", "Batch", "padded_histories"]


@dataclass
class Batch:
    """Input ids ``[B, L]``, targets ``[B, L, next_n]`` (0 = none), and negative feedback as
    ``(row, column, item)`` triples inside the batch."""

    inputs: torch.Tensor
    targets: torch.Tensor
    neg_row: torch.Tensor
    neg_col: torch.Tensor
    neg_item: torch.Tensor

    @property
    def num_targets(self) -> int:
        return int((self.targets > 0).sum())


class TrainData:
    """Padded training rows built once from the train sequences.

    Args:
        train: Train sequences (negative-feedback events, if any, become the auxiliary targets).
        max_len: Model input length.
        next_n: Targets per position.
    """

    def __init__(self, train: Sequences, max_len: int, next_n: int = 1) -> None:
        pos_mask = train.positive_mask()
        positives = train.select_events(pos_mask) if not pos_mask.all() else train
        keep = np.flatnonzero(positives.lengths >= 2)
        self.max_len, self.next_n = max_len, next_n
        seqs = positives.take(keep)
        self.lengths = np.minimum(seqs.lengths, max_len + 1)
        self.padded = np.zeros((len(seqs), max_len + next_n), dtype=np.int64)
        self.padded[:, : max_len + 1] = seqs.to_padded(max_len + 1)
        self.num_rows = len(seqs)
        self.neg_row, self.neg_col, self.neg_item = _negative_feedback(train, pos_mask, keep, max_len)

    @property
    def targets_per_row(self) -> float:
        """Mean number of (position, next item) targets per training row (at least 1)."""
        if self.num_rows == 0:
            return 1.0
        steps = np.arange(1, self.next_n + 1)
        total = np.maximum(self.lengths[:, None] - steps[None, :], 0).sum()
        return max(float(total) / self.num_rows, 1.0)

    @property
    def has_negative_feedback(self) -> bool:
        return len(self.neg_row) > 0

    def batch(self, rows: NDArray[np.int64]) -> Batch:
        """The batch of training rows ``rows``."""
        width = int(max(self.lengths[rows].max() - 1, 1))
        start = self.max_len - width
        pad = self.padded[rows]
        inputs = pad[:, start: self.max_len]
        targets = np.stack([pad[:, start + j: self.max_len + j] for j in range(1, self.next_n + 1)], axis=-1)
        targets = targets * (inputs > 0)[..., None]
        nr = nc = ni = np.zeros(0, dtype=np.int64)
        if self.has_negative_feedback:
            where = np.full(self.num_rows, -1, dtype=np.int64)
            where[rows] = np.arange(len(rows))
            sel = where[self.neg_row] >= 0
            sel &= self.neg_col >= start
            nr, nc, ni = where[self.neg_row[sel]], self.neg_col[sel] - start, self.neg_item[sel]
        return Batch(torch.from_numpy(np.ascontiguousarray(inputs)), torch.from_numpy(np.ascontiguousarray(targets)),
                     torch.from_numpy(nr), torch.from_numpy(nc), torch.from_numpy(ni))


def _negative_feedback(train: Sequences, pos_mask: NDArray[np.bool_], keep: NDArray[np.int64],
                       max_len: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """For every negative event after the ``p``-th positive (0-based) of its sequence: the training row, the input
    column of positive ``p``, and the item. Events before the first positive or after the last are dropped."""
    empty = np.zeros(0, dtype=np.int64)
    if pos_mask.all():
        return empty, empty, empty
    row_of_seq = np.full(len(train), -1, dtype=np.int64)
    row_of_seq[keep] = np.arange(len(keep))
    seq = train.row_ids()
    # number of positives before each event, within its sequence
    cum: NDArray[np.int64] = np.cumsum(pos_mask, dtype=np.int64) - pos_mask
    before: NDArray[np.int64] = cum - np.repeat(cum[train.offsets[:-1]], train.lengths)
    n_pos = np.bincount(seq[pos_mask], minlength=len(train))
    neg = np.flatnonzero(~pos_mask)
    p = before[neg] - 1
    total = n_pos[seq[neg]]
    col = (max_len + 1) - np.minimum(total, max_len + 1) + p - np.maximum(total - (max_len + 1), 0)
    ok = (row_of_seq[seq[neg]] >= 0) & (p >= 0) & (p < total - 1) & (col >= 0) & (col < max_len)
    return row_of_seq[seq[neg][ok]], col[ok].astype(np.int64), train.items[neg][ok].astype(np.int64)


def padded_histories(histories: Sequences, max_len: int) -> torch.Tensor:
    """Right-aligned ``[B, L]`` input ids of the histories' last ``max_len`` items, trimmed to the longest one."""
    width = int(min(max(histories.lengths.max(initial=1), 1), max_len))
    return torch.from_numpy(histories.to_padded(width))
