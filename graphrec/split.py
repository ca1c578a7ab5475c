"""Train / validation / test splits and the evaluation cases they produce.

From the split on, graphs, walks and training see only ``Split.train`` (or ``Split.train_full`` when a model is
refitted for the test run); the held-out targets live only in the :class:`EvalCases`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from graphrec.errors import ConfigError, DataError
from graphrec.sequences import Sequences, csr_from_lengths
from graphrec.sideinfo import SideInfo
from graphrec.vocab import ItemVocab, UserVocab

__all__ = ["EvalCases", "Split", "leave_one_out", "time_cut", "session_split", "prefix_cases", "refit_split",
           "train_full_split", "PROTOCOLS"]

PROTOCOLS = ("leave-one-out", "time-cut", "session")


@dataclass(frozen=True)
class EvalCases:
    """What the evaluator scores: for each case a history (the model's input) and one or more targets.

    Attributes:
        histories: One sequence per case, in chronological order.
        targets: One row per case: the held-out items (one for leave-one-out and sessions, several for a time cut).
        exclude_history: Whether the protocol removes the history's items from the ranking (default of the
            evaluator; leave-one-out and time cut do, the session protocol does not).
        future_negative: Optional items each case's user later skipped/disliked (for NEG@N).
    """

    histories: Sequences
    targets: Sequences
    exclude_history: bool = True
    future_negative: Sequences | None = None

    def __post_init__(self) -> None:
        if len(self.histories) != len(self.targets):
            raise DataError(f"{len(self.histories)} histories for {len(self.targets)} target rows")

    def __len__(self) -> int:
        return len(self.targets)

    def take(self, rows: NDArray[np.integer]) -> EvalCases:
        fn = None if self.future_negative is None else self.future_negative.take(rows)
        return EvalCases(self.histories.take(rows), self.targets.take(rows), self.exclude_history, fn)


@dataclass(frozen=True)
class Split:
    """A dataset split under one protocol.

    Attributes:
        name: Dataset name.
        protocol: ``leave-one-out``, ``time-cut`` or ``session``.
        train: Training sequences (what graphs, walks and training see). They keep negative feedback
            (skip/dislike events); select positives with ``train.positive_mask()`` where only they count.
        train_full: Train plus the validation part: what a model may be refitted on before the test run.
        valid: Validation cases (history = the positive events of the train part).
        test: Test cases (history = the positive events of the train + validation part).
        vocab: Item vocabulary (``num_items`` items).
        users: User vocabulary, or None for anonymous sessions.
        side_info: Optional item side information.
        meta: Free-form protocol description (recorded in run directories).
    """

    name: str
    protocol: str
    train: Sequences
    train_full: Sequences
    valid: EvalCases
    test: EvalCases
    vocab: ItemVocab
    users: UserVocab | None = None
    side_info: SideInfo | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_items(self) -> int:
        return self.vocab.size

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name, "protocol": self.protocol, "num_items": self.num_items,
            "train_sequences": len(self.train), "train_events": self.train.num_events,
            "valid_cases": len(self.valid), "test_cases": len(self.test), **self.meta,
        }


def leave_one_out(seqs: Sequences, vocab: ItemVocab, name: str = "data", users: UserVocab | None = None,
                  side_info: SideInfo | None = None, min_length: int = 3) -> Split:
    """Per user: the last positive event is the test target, the second-to-last positive the validation target.

    Users with fewer than ``min_length`` (default 3, as in SASRec/S3-Rec) positive events stay wholly in train
    and are not evaluated.

    Negative feedback (skip/dislike events, see :meth:`Sequences.positive_mask`) is never a target, and never part
    of an evaluation history: histories hold the positive events before the target, so datasets without negative
    events split exactly as in SASRec/S3-Rec. It does stay in the training data, in time order: ``train`` holds
    every event before the validation target, ``train_full`` every event before the test target (negative events
    after the test target are dropped: they lie in the test period). Consumers that want positives only select
    them with ``positive_mask()`` (graph building and item counts do so by default); SASRec's negative-feedback
    task reads the negatives.

    Example:
        >>> import numpy as np
        >>> base = Sequences.from_lists([[1, 2, 3, 4, 5, 6]], 6)
        >>> s = Sequences(base.offsets, base.items, 6, base.owners, events=np.array([0, 1, 0, 0, 1, 0], np.int8),
        ...               event_names=("click", "skip"), negative_events=(1,))
        >>> sp = leave_one_out(s, ItemVocab(np.arange(1, 7)))
        >>> sp.train.to_lists(), sp.valid.histories.to_lists(), sp.valid.targets.to_lists()
        ([[1, 2, 3]], [[1, 3]], [[4]])
        >>> sp.train_full.to_lists(), sp.test.histories.to_lists(), sp.test.targets.to_lists()
        ([[1, 2, 3, 4, 5]], [[1, 3, 4]], [[6]])
    """
    if min_length < 3:
        raise ConfigError(f"min_length must be >= 3 for leave-one-out (got {min_length})")
    positive = seqs.positive_mask()
    has_negative = not positive.all()
    # rank[e]: number of positive events up to and including event e in its sequence
    cum = csr_from_lengths(positive.astype(np.int64))  # cum[e]: positive events among the first e events
    at_start = cum[seqs.offsets]
    rank = cum[1:] - np.repeat(at_start[:-1], seqs.lengths)
    n_pos = np.diff(at_start)
    evaluated = n_pos >= min_length
    if not evaluated.any():
        hint = " (negative feedback does not count)" if has_negative else ""
        raise DataError(f"no user has at least {min_length} interactions{hint}: nothing to evaluate")
    # events strictly before the validation target (rank n_pos - 1) / the test target (rank n_pos)
    limit = np.repeat(np.where(evaluated, n_pos, np.iinfo(np.int64).max), seqs.lengths)
    before_valid = rank < limit - 1
    train = seqs.select_events(before_valid)
    train_full = seqs.select_events(rank < limit)
    rows = np.flatnonzero(evaluated)
    pos_seqs = seqs.select_events(positive) if has_negative else seqs
    last = pos_seqs.offsets[1:][rows] - 1
    one = csr_from_lengths(np.ones(len(rows), dtype=np.int64))
    owners = seqs.owners[rows] if seqs.owners is not None else None
    valid_t = Sequences(one, pos_seqs.items[last - 1], seqs.num_items, owners)
    test_t = Sequences(one, pos_seqs.items[last], seqs.num_items, owners)
    valid = EvalCases(_positives(train).take(rows), valid_t)
    test = EvalCases(_positives(train_full).take(rows), test_t)
    meta: dict[str, Any] = {"min_length": min_length, "users_evaluated": int(len(rows))}
    if has_negative:
        meta["train_negative_events"] = int(train.num_events - train.positive_mask().sum())
    return Split(name, "leave-one-out", train, train_full, valid, test, vocab, users, side_info, meta)


def _positives(seqs: Sequences) -> Sequences:
    """The positive events of ``seqs`` (``seqs`` itself when it has no negative feedback)."""
    mask = seqs.positive_mask()
    return seqs if mask.all() else seqs.select_events(mask)


def time_cut(seqs: Sequences, vocab: ItemVocab, valid_time: float, test_time: float, name: str = "data",
             users: UserVocab | None = None, side_info: SideInfo | None = None) -> Split:
    """Global time cut: events before ``valid_time`` train, ``[valid_time, test_time)`` validate, the rest test.

    Each user with positive history before a cut and positive events after it is a case whose targets are all of
    those later positive events (Recall@K is then meaningful); skipped/disliked later events feed NEG@N. ``train``
    and ``train_full`` keep negative feedback; evaluation histories hold positive events only (as in
    :func:`leave_one_out`).
    """
    if seqs.timestamps is None:
        raise DataError("a time-cut split needs timestamps")
    if not valid_time <= test_time:
        raise ConfigError(f"valid_time must be <= test_time (got {valid_time} > {test_time})")
    ts = seqs.timestamps
    train = seqs.select_events(ts < valid_time)
    train_full = seqs.select_events(ts < test_time)
    pos_mask = seqs.positive_mask()
    valid = _future_cases(seqs, train, (ts >= valid_time) & (ts < test_time), pos_mask)
    test = _future_cases(seqs, train_full, ts >= test_time, pos_mask)
    return Split(name, "time-cut", train, train_full, valid, test, vocab, users, side_info,
                 {"valid_time": valid_time, "test_time": test_time})


def _future_cases(seqs: Sequences, history: Sequences, window: NDArray[np.bool_],
                  positive: NDArray[np.bool_]) -> EvalCases:
    history = _positives(history)
    targets = seqs.select_events(window & positive)
    negatives = seqs.select_events(window & ~positive)
    rows = np.flatnonzero((history.lengths > 0) & (targets.lengths > 0))
    has_neg = seqs.events is not None and bool(seqs.negative_events)
    return EvalCases(history.take(rows), _unique_rows(targets.take(rows)),
                     future_negative=_unique_rows(negatives.take(rows)) if has_neg else None)


def _unique_rows(seqs: Sequences) -> Sequences:
    """Drop repeated items within each row (keeping first occurrences)."""
    rows = seqs.row_ids()
    key = rows * (seqs.num_items + 1) + seqs.items
    _, first = np.unique(key, return_index=True)
    mask = np.zeros(seqs.num_events, dtype=bool)
    mask[first] = True
    return seqs.select_events(mask)


def session_split(train_sessions: Sequences, test_sessions: Sequences, vocab: ItemVocab, name: str = "sessions",
                  valid_fraction: float = 0.1, side_info: SideInfo | None = None) -> Split:
    """Fixed session split (SR-GNN protocol): every prefix of a test session predicts its next item.

    The last ``valid_fraction`` of the train sessions (in file order, which is chronological for the SR-GNN
    files) is held out for validation prefixes; ``train_full`` is every train session. Items already in the
    session are not excluded from the ranking, as in the papers. Train sessions keep negative feedback; the
    prefix cases hold positive events only (:func:`prefix_cases`).
    """
    if not 0.0 <= valid_fraction < 1.0:
        raise ConfigError(f"valid_fraction must be in [0, 1) (got {valid_fraction})")
    n_valid = int(round(len(train_sessions) * valid_fraction))
    cut = len(train_sessions) - n_valid
    train = train_sessions.take(np.arange(cut))
    valid = prefix_cases(train_sessions.take(np.arange(cut, len(train_sessions))))
    test = prefix_cases(test_sessions)
    return Split(name, "session", train, train_sessions, valid, test, vocab, None, side_info,
                 {"valid_fraction": valid_fraction, "valid_sessions": n_valid,
                  "test_sessions": len(test_sessions)})


def prefix_cases(sessions: Sequences) -> EvalCases:
    """Every prefix ``s[:i]`` (i >= 1) of every session with target ``s[i]``.

    Negative feedback (skip/dislike) is neither history nor target: the prefixes are those of each session's
    positive events."""
    sessions = _positives(sessions)
    lengths = sessions.lengths
    n_cases = np.maximum(lengths - 1, 0)
    sess = np.repeat(np.arange(len(sessions), dtype=np.int64), n_cases)
    within = np.arange(int(n_cases.sum()), dtype=np.int64) - np.repeat(csr_from_lengths(n_cases)[:-1], n_cases)
    prefix_len = within + 1
    starts = sessions.offsets[:-1][sess]
    hist_off = csr_from_lengths(prefix_len)
    flat = np.repeat(starts, prefix_len) + (np.arange(int(hist_off[-1]), dtype=np.int64)
                                              - np.repeat(hist_off[:-1], prefix_len))
    owners = None if sessions.owners is None else sessions.owners[sess]
    histories = Sequences(hist_off, sessions.items[flat], sessions.num_items, owners)
    targets = Sequences(csr_from_lengths(np.ones(len(sess), dtype=np.int64)), sessions.items[starts + prefix_len],
                        sessions.num_items, owners)
    return EvalCases(histories, targets, exclude_history=False)


def refit_split(split: Split) -> Split:
    """The split a model is refitted on before the test run: ``train`` becomes train + validation.

    Its ``valid`` cases are those of the original split and must not drive early stopping (their targets are in
    the training data now)."""
    from dataclasses import replace

    return replace(split, train=split.train_full, meta={**split.meta, "refit": True})


def train_full_split(split: Split) -> Split:
    """The split of a model trained once on train + validation with no validation at all (``--train-full``).

    ``train`` becomes ``train_full`` and ``valid`` holds no case, so a model that early-stops trains for its
    configured number of epochs instead: the protocol of fixed session splits such as Diginetica's, whose papers
    train on every train session. The test cases are unchanged."""
    from dataclasses import replace

    return replace(split, train=split.train_full, valid=split.valid.take(np.zeros(0, dtype=np.int64)),
                   meta={**split.meta, "train_full": True})
