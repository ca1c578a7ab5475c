"""Chronological item sequences in CSR form: the unit everything downstream consumes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from graphrec.errors import DataError

__all__ = ["Sequences", "csr_from_lengths"]


def csr_from_lengths(lengths: NDArray[np.integer]) -> NDArray[np.int64]:
    """Offsets ``[0, l0, l0+l1, ...]`` of a CSR layout from row lengths."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


@dataclass(frozen=True)
class Sequences:
    """Item sequences (one per user or session) stored as CSR arrays.

    Attributes:
        offsets: ``int64[n + 1]``; sequence ``s`` is ``items[offsets[s]:offsets[s + 1]]``.
        items: ``int32`` item indices ``1..num_items`` in chronological order (0 never appears).
        num_items: Size of the item vocabulary (matrices have ``num_items + 1`` rows).
        owners: ``int32[n]`` user (or session) index of each sequence, 1-based.
        timestamps: Optional ``float64`` per event (seconds, or the position when the data has no time).
        weights: Optional ``float32`` per event (rating, play count ...).
        events: Optional ``int8`` event code per event, naming ``event_names``.
        event_names: Names of the event codes; ``negative_events`` lists the codes of negative feedback.
    """

    offsets: NDArray[np.int64]
    items: NDArray[np.int32]
    num_items: int
    owners: NDArray[np.int32] | None = None
    timestamps: NDArray[np.float64] | None = None
    weights: NDArray[np.float32] | None = None
    events: NDArray[np.int8] | None = None
    event_names: tuple[str, ...] = ()
    negative_events: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        off, items = self.offsets, self.items
        if off.ndim != 1 or len(off) < 1 or off[0] != 0 or off[-1] != len(items):
            raise DataError(f"sequence offsets must start at 0 and end at len(items)={len(items)}")
        if len(off) > 1 and np.any(np.diff(off) < 0):
            raise DataError("sequence offsets must be non-decreasing")
        if items.size and (int(items.min()) < 1 or int(items.max()) > self.num_items):
            lo, hi = int(items.min()), int(items.max())
            raise DataError(f"item indices must lie in 1..{self.num_items} (got {lo}..{hi})")
        n = len(off) - 1
        if self.owners is not None and len(self.owners) != n:
            raise DataError(f"owners has {len(self.owners)} entries for {n} sequences")
        for name in ("timestamps", "weights", "events"):
            arr = getattr(self, name)
            if arr is not None and len(arr) != len(items):
                raise DataError(f"{name} has {len(arr)} entries for {len(items)} events")

    # ------------------------------------------------------------------ basic access
    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> NDArray[np.int64]:
        return np.diff(self.offsets)

    @property
    def num_events(self) -> int:
        return len(self.items)

    def __getitem__(self, s: int) -> NDArray[np.int32]:
        return self.items[self.offsets[s] : self.offsets[s + 1]]

    def __iter__(self) -> Iterator[NDArray[np.int32]]:
        for s in range(len(self)):
            yield self[s]

    def row_ids(self) -> NDArray[np.int64]:
        """Sequence index of every event (length ``num_events``)."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.lengths)

    def positions(self) -> NDArray[np.int64]:
        """Position of every event inside its sequence."""
        return np.arange(self.num_events, dtype=np.int64) - np.repeat(self.offsets[:-1], self.lengths)

    def positive_mask(self) -> NDArray[np.bool_]:
        """True for events that are not negative feedback."""
        if self.events is None or not self.negative_events:
            return np.ones(self.num_events, dtype=bool)
        return ~np.isin(self.events, np.asarray(self.negative_events, dtype=np.int8))

    def item_counts(self) -> NDArray[np.int64]:
        """Number of (positive) events per item index, length ``num_items + 1``."""
        return np.bincount(self.items[self.positive_mask()], minlength=self.num_items + 1).astype(np.int64)

    # ------------------------------------------------------------------ transformations
    def take(self, rows: NDArray[np.integer]) -> Sequences:
        """The sequences at ``rows`` (in that order)."""
        rows = np.asarray(rows, dtype=np.int64)
        lengths = self.lengths[rows]
        new_off = csr_from_lengths(lengths)
        idx = _gather_index(self.offsets[rows], lengths, new_off)
        return self._with_events(new_off, idx, None if self.owners is None else self.owners[rows])

    def select_events(self, mask: NDArray[np.bool_]) -> Sequences:
        """Keep only the events where ``mask`` is true (sequences may become empty)."""
        lengths = np.bincount(self.row_ids()[mask], minlength=len(self))
        return self._with_events(csr_from_lengths(lengths), np.flatnonzero(mask), self.owners)

    def truncate(self, drop_last: int) -> Sequences:
        """Drop the last ``drop_last`` events of every sequence (shorter sequences become empty)."""
        pos = self.positions()
        keep = pos < np.repeat(self.lengths - drop_last, self.lengths)
        return self.select_events(keep)

    def last(self, n: int) -> Sequences:
        """Keep only the last ``n`` events of every sequence."""
        pos = self.positions()
        keep = pos >= np.repeat(self.lengths - n, self.lengths)
        return self.select_events(keep)

    def nonempty(self) -> Sequences:
        return self.take(np.flatnonzero(self.lengths > 0))

    def _with_events(self, offsets: NDArray[np.int64], idx: NDArray[np.int64],
                     owners: NDArray[np.int32] | None) -> Sequences:
        def pick(a):  # noqa: ANN001, ANN202
            return None if a is None else a[idx]

        return Sequences(offsets, self.items[idx], self.num_items, owners, pick(self.timestamps),
                         pick(self.weights), pick(self.events), self.event_names, self.negative_events)

    def to_padded(self, max_len: int, align: str = "right") -> NDArray[np.int64]:
        """Matrix ``[n, max_len]`` of the last ``max_len`` items of each sequence, 0-padded (left by default)."""
        if max_len < 1:
            raise DataError(f"max_len must be >= 1 (got {max_len})")
        if align not in ("left", "right"):
            raise DataError(f"align must be 'left' or 'right' (got {align!r})")
        n = len(self)
        out = np.zeros((n, max_len), dtype=np.int64)
        lengths = np.minimum(self.lengths, max_len)
        pos = self.positions()
        start_keep = np.repeat(self.lengths - lengths, self.lengths)
        keep = pos >= start_keep
        rows = self.row_ids()[keep]
        col = pos[keep] - start_keep[keep]
        if align == "right":
            col = col + np.repeat(max_len - lengths, lengths)
        out[rows, col] = self.items[keep]
        return out

    @staticmethod
    def from_lists(lists: list[list[int]] | list[NDArray[np.integer]], num_items: int | None = None) -> Sequences:
        """Build from Python lists of item indices (tests and small examples)."""
        lengths = np.array([len(x) for x in lists], dtype=np.int64)
        items = (np.concatenate([np.asarray(x, dtype=np.int32) for x in lists]) if len(lists) and lengths.sum()
                 else np.zeros(0, dtype=np.int32))
        n_items = int(num_items if num_items is not None else (items.max() if items.size else 0))
        return Sequences(csr_from_lengths(lengths), items, n_items,
                         owners=np.arange(1, len(lists) + 1, dtype=np.int32))

    def to_lists(self) -> list[list[int]]:
        return [self[s].tolist() for s in range(len(self))]

    @staticmethod
    def concat_events(a: Sequences, b: Sequences) -> Sequences:
        """Append the events of ``b`` to the sequences of ``a`` row by row (same number of rows).

        Per-event arrays are kept when either side has them; the side without gets a neutral value: timestamps
        NaN (unknown), weights 1, and events the code of ``"unknown"`` (positive feedback). Event codes of ``b``
        are re-coded into the union of both sides' event names; owners are ``a``'s.
        """
        if len(a) != len(b):
            raise DataError(f"cannot append {len(b)} sequences to {len(a)}")
        la, lb = a.lengths, b.lengths
        off = csr_from_lengths(la + lb)
        ia = _gather_index(off[:-1], la, csr_from_lengths(la))
        ib = _gather_index(off[:-1] + la, lb, csr_from_lengths(lb))

        def merge(x: NDArray[Any] | None, y: NDArray[Any] | None, dtype: Any, fill: float) -> NDArray[Any] | None:
            if x is None and y is None:
                return None
            out = np.full(int(off[-1]), fill, dtype=dtype)
            if x is not None:
                out[ia] = x
            if y is not None:
                out[ib] = y
            return out

        names, codes_a, codes_b, negative = _merge_event_codes(a, b)
        items = merge(a.items, b.items, np.int32, 0)
        assert items is not None
        return Sequences(off, items, max(a.num_items, b.num_items), a.owners,
                         merge(a.timestamps, b.timestamps, np.float64, np.nan),
                         merge(a.weights, b.weights, np.float32, 1.0),
                         merge(codes_a, codes_b, np.int8, names.index("unknown") if "unknown" in names else 0),
                         names, negative)


def _merge_event_codes(a: Sequences, b: Sequences) -> tuple[tuple[str, ...], NDArray[np.int8] | None,
                                                            NDArray[np.int8] | None, tuple[int, ...]]:
    """The union of both sides' event names (``a``'s first, ``"unknown"`` added when a side has no events),
    each side's codes in it, and the negative codes."""
    if a.events is None and b.events is None:
        return a.event_names, None, None, a.negative_events
    names = list(a.event_names if a.events is not None else ())
    negative_names = {a.event_names[c] for c in a.negative_events if c < len(a.event_names)}
    negative_names |= {b.event_names[c] for c in b.negative_events if c < len(b.event_names)}
    for n in (b.event_names if b.events is not None else ()):
        if n not in names:
            names.append(n)
    if (a.events is None or b.events is None) and "unknown" not in names:
        names.append("unknown")
    if len(names) > 127:
        raise DataError(f"{len(names)} distinct event names; at most 127 supported")

    def recode(s: Sequences) -> NDArray[np.int8] | None:
        if s.events is None:
            return None
        table = np.array([names.index(n) for n in s.event_names], dtype=np.int8)
        return table[s.events] if len(table) else s.events.astype(np.int8)

    negative = tuple(sorted(names.index(n) for n in negative_names if n in names))
    return tuple(names), recode(a), recode(b), negative


def _gather_index(starts: NDArray[np.int64], lengths: NDArray[np.int64],
                  new_offsets: NDArray[np.int64]) -> NDArray[np.int64]:
    """Flat source indices for rows ``[starts[r], starts[r] + lengths[r])`` laid out at ``new_offsets``."""
    total = int(new_offsets[-1])
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    within = np.arange(total, dtype=np.int64) - np.repeat(new_offsets[:-1], lengths)
    return np.repeat(starts, lengths) + within
