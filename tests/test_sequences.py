"""Sequences: CSR layout, per-event arrays kept aligned through take / select / truncate / last / padding."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec.errors import DataError
from graphrec.sequences import Sequences, csr_from_lengths

LISTS = [[3, 1, 2], [], [4], [2, 2, 5, 1]]


@pytest.fixture
def s() -> Sequences:
    base = Sequences.from_lists(LISTS, 5)
    n = base.num_events
    return Sequences(base.offsets, base.items, 5, base.owners, np.arange(n, dtype=np.float64) * 10,
                     np.arange(n, dtype=np.float32) + 0.5, np.array([0, 1, 0, 0, 0, 1, 0, 0], dtype=np.int8),
                     ("click", "skip"), (1,))


def test_layout(s: Sequences) -> None:
    assert len(s) == 4 and s.num_events == 8
    assert s.offsets.tolist() == [0, 3, 3, 4, 8]
    assert s.lengths.tolist() == [3, 0, 1, 4]
    assert s.to_lists() == LISTS
    assert s[3].tolist() == [2, 2, 5, 1]
    assert [x.tolist() for x in s] == LISTS
    assert s.row_ids().tolist() == [0, 0, 0, 2, 3, 3, 3, 3]
    assert s.positions().tolist() == [0, 1, 2, 0, 0, 1, 2, 3]
    assert csr_from_lengths(np.array([2, 0, 3])).tolist() == [0, 2, 2, 5]


def test_positive_mask_and_item_counts(s: Sequences) -> None:
    assert s.positive_mask().tolist() == [True, False, True, True, True, False, True, True]
    # skips: item 1 at position 1 and item 2 at position 5; item 2 keeps two positive events (positions 2, 4)
    assert s.item_counts().tolist() == [0, 1, 2, 1, 1, 1]
    assert Sequences.from_lists(LISTS, 5).item_counts().tolist() == [0, 2, 3, 1, 1, 1]


def test_take_keeps_event_arrays_aligned(s: Sequences) -> None:
    t = s.take(np.array([3, 0]))
    assert t.to_lists() == [[2, 2, 5, 1], [3, 1, 2]]
    assert t.owners.tolist() == [4, 1]
    assert t.timestamps.tolist() == [40, 50, 60, 70, 0, 10, 20]
    assert t.events.tolist() == [0, 1, 0, 0, 0, 1, 0]
    assert t.event_names == ("click", "skip") and t.negative_events == (1,)


def test_select_truncate_last(s: Sequences) -> None:
    sel = s.select_events(s.positive_mask())
    assert sel.to_lists() == [[3, 2], [], [4], [2, 5, 1]]
    assert sel.weights.tolist() == [0.5, 2.5, 3.5, 4.5, 6.5, 7.5]
    assert s.truncate(1).to_lists() == [[3, 1], [], [], [2, 2, 5]]
    assert s.truncate(2).lengths.tolist() == [1, 0, 0, 2]
    assert s.last(2).to_lists() == [[1, 2], [], [4], [5, 1]]
    assert s.last(2).timestamps.tolist() == [10, 20, 30, 60, 70]
    assert s.nonempty().to_lists() == [[3, 1, 2], [4], [2, 2, 5, 1]]
    assert s.nonempty().owners.tolist() == [1, 3, 4]


def test_to_padded(s: Sequences) -> None:
    right = s.to_padded(3)
    assert right.tolist() == [[3, 1, 2], [0, 0, 0], [0, 0, 4], [2, 5, 1]]
    left = s.to_padded(3, align="left")
    assert left.tolist() == [[3, 1, 2], [0, 0, 0], [4, 0, 0], [2, 5, 1]]
    assert s.to_padded(5)[0].tolist() == [0, 0, 3, 1, 2]


def test_concat_events(s: Sequences) -> None:
    tail = Sequences.from_lists([[5], [1, 2], [], [3]], 5)
    c = Sequences.concat_events(Sequences.from_lists(LISTS, 5), tail)
    assert c.to_lists() == [[3, 1, 2, 5], [1, 2], [4], [2, 2, 5, 1, 3]]
    with pytest.raises(DataError, match="cannot append 1 sequences to 4"):
        Sequences.concat_events(s, Sequences.from_lists([[1]], 5))


def test_concat_events_merges_per_event_arrays() -> None:
    a = Sequences(np.array([0, 1, 2]), np.array([1, 2], dtype=np.int32), 3, timestamps=np.array([1.0, 2.0]))
    b = Sequences(np.array([0, 1, 1]), np.array([3], dtype=np.int32), 3, timestamps=np.array([9.0]))
    c = Sequences.concat_events(a, b)
    assert c.to_lists() == [[1, 3], [2]]
    assert c.timestamps.tolist() == [1.0, 9.0, 2.0]


def test_concat_events_keeps_arrays_that_only_one_side_has() -> None:
    a = Sequences(np.array([0, 2, 3]), np.array([1, 2, 3], dtype=np.int32), 4, np.array([7, 8], np.int32),
                  timestamps=np.array([1.0, 2.0, 3.0]), events=np.array([0, 1, 0], np.int8),
                  event_names=("click", "skip"), negative_events=(1,))
    targets = Sequences.from_lists([[4], [1]], 4)  # e.g. held-out targets: no time, no events, no weights
    c = Sequences.concat_events(a, targets)
    assert c.to_lists() == [[1, 2, 4], [3, 1]] and c.owners.tolist() == [7, 8]
    np.testing.assert_array_equal(c.timestamps, [1.0, 2.0, np.nan, 3.0, np.nan])
    assert c.event_names == ("click", "skip", "unknown") and c.negative_events == (1,)
    assert c.events.tolist() == [0, 1, 2, 0, 2] and c.positive_mask().tolist() == [True, False, True, True, True]
    assert c.weights is None
    back = Sequences.concat_events(targets, a)  # the other way round: the side without comes first
    np.testing.assert_array_equal(back.timestamps, [np.nan, 1.0, 2.0, np.nan, 3.0])
    assert back.event_names == ("click", "skip", "unknown") and back.events.tolist() == [2, 0, 1, 2, 0]
    w = Sequences(targets.offsets, targets.items, 4, weights=np.array([2.5, 0.5], np.float32))
    assert Sequences.concat_events(w, targets).weights.tolist() == [2.5, 1.0, 0.5, 1.0]


def test_concat_events_recodes_differing_event_names() -> None:
    a = Sequences(np.array([0, 1]), np.array([1], np.int32), 3, events=np.array([0], np.int8),
                  event_names=("click", "skip"), negative_events=(1,))
    b = Sequences(np.array([0, 2]), np.array([2, 3], np.int32), 3, events=np.array([0, 1], np.int8),
                  event_names=("dislike", "skip"), negative_events=(0, 1))
    c = Sequences.concat_events(a, b)
    assert c.event_names == ("click", "skip", "dislike") and c.negative_events == (1, 2)
    assert c.events.tolist() == [0, 2, 1] and c.positive_mask().tolist() == [True, False, False]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"offsets": np.array([1, 2]), "items": np.array([1], dtype=np.int32)}, "start at 0"),
        ({"offsets": np.array([0, 2, 1, 2]), "items": np.array([1, 2], dtype=np.int32)}, "non-decreasing"),
        ({"offsets": np.array([0, 2]), "items": np.array([1, 0], dtype=np.int32)}, r"1..3 \(got 0..1\)"),
        ({"offsets": np.array([0, 2]), "items": np.array([1, 4], dtype=np.int32)}, r"1..3 \(got 1..4\)"),
        ({"offsets": np.array([0, 2]), "items": np.array([1, 2], dtype=np.int32),
          "timestamps": np.array([1.0])}, "timestamps has 1 entries for 2 events"),
        ({"offsets": np.array([0, 2]), "items": np.array([1, 2], dtype=np.int32),
          "owners": np.array([1, 2], dtype=np.int32)}, "owners has 2 entries for 1 sequences"),
    ],
)
def test_invalid_layouts(kwargs: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        Sequences(num_items=3, **kwargs)


def test_empty_sequences() -> None:
    e = Sequences.from_lists([[], []], 3)
    assert e.num_events == 0 and e.lengths.tolist() == [0, 0]
    assert e.to_padded(2).tolist() == [[0, 0], [0, 0]]
    assert e.last(1).num_events == 0
