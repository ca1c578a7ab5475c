"""Splits: leave-one-out, time cut, session split and prefix cases; nothing held out reaches train or its graph."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec.build import build_item_graph
from graphrec.errors import ConfigError, DataError
from graphrec.sequences import Sequences
from graphrec.split import (
    EvalCases,
    leave_one_out,
    prefix_cases,
    refit_split,
    session_split,
    time_cut,
    train_full_split,
)
from graphrec.vocab import ItemVocab


def _edges(g) -> set[tuple[int, int]]:  # noqa: ANN001
    rows = np.repeat(np.arange(g.num_nodes), g.degree())
    return set(zip(rows.tolist(), g.indices.tolist(), strict=True))


# ---------------------------------------------------------------------- leave-one-out
def test_leave_one_out_by_hand() -> None:
    s = Sequences.from_lists([[1, 2, 3, 4], [5, 1], [2, 3, 5], [4, 4, 4, 4, 1]], 5)
    sp = leave_one_out(s, ItemVocab(np.arange(1, 6)))
    assert sp.protocol == "leave-one-out"
    assert sp.train.to_lists() == [[1, 2], [5, 1], [2], [4, 4, 4]]  # user 2 (2 events) stays whole in train
    assert sp.train_full.to_lists() == [[1, 2, 3], [5, 1], [2, 3], [4, 4, 4, 4]]
    assert len(sp.valid) == len(sp.test) == 3
    assert sp.valid.histories.to_lists() == [[1, 2], [2], [4, 4, 4]]
    assert sp.valid.targets.to_lists() == [[3], [3], [4]]
    assert sp.test.histories.to_lists() == [[1, 2, 3], [2, 3], [4, 4, 4, 4]]
    assert sp.test.targets.to_lists() == [[4], [5], [1]]
    assert sp.test.targets.owners.tolist() == [1, 3, 4] and sp.test.exclude_history
    assert sp.meta["users_evaluated"] == 3
    assert sp.describe()["test_cases"] == 3


def test_leave_one_out_min_length() -> None:
    s = Sequences.from_lists([[1, 2, 3], [1, 2, 3, 4]], 4)
    sp = leave_one_out(s, ItemVocab(np.arange(1, 5)), min_length=4)
    assert sp.test.targets.to_lists() == [[4]] and sp.train.to_lists()[0] == [1, 2, 3]
    with pytest.raises(ConfigError, match=r"min_length must be >= 3 for leave-one-out \(got 2\)"):
        leave_one_out(s, ItemVocab(np.arange(1, 5)), min_length=2)
    with pytest.raises(DataError, match="no user has at least 3 interactions"):
        leave_one_out(Sequences.from_lists([[1, 2], [3]], 4), ItemVocab(np.arange(1, 5)))


def _with_events(lists: list[list[int]], negative: list[list[int]], num_items: int = 9) -> Sequences:
    """Sequences whose events are ``click`` (0) or ``skip`` (1, negative feedback) as flagged in ``negative``."""
    base = Sequences.from_lists(lists, num_items)
    ev = np.concatenate([np.asarray(e, dtype=np.int8) for e in negative])
    ts = np.arange(base.num_events, dtype=np.float64)
    return Sequences(base.offsets, base.items, num_items, base.owners, ts, events=ev, event_names=("click", "skip"),
                     negative_events=(1,))


def test_leave_one_out_keeps_negative_feedback_in_train_only() -> None:
    s = _with_events([[1, 9, 2, 3, 8, 4, 7, 5, 6], [5, 1, 2], [3, 4], [1, 2, 3, 4]],
                     [[0, 1, 0, 0, 1, 0, 1, 0, 1], [1, 0, 0], [1, 1], [0, 0, 0, 1]])
    sp = leave_one_out(s, ItemVocab(np.arange(1, 10)))
    # targets: the last two positives of users 1 and 4; users 2 (two positives) and 3 (none) are not evaluated
    assert sp.valid.targets.to_lists() == [[4], [2]] and sp.test.targets.to_lists() == [[5], [3]]
    assert sp.test.targets.owners.tolist() == [1, 4]
    # train: every event (negatives included) before the validation target; train_full: before the test target;
    # negatives after the test target (6 of user 1, 4 of user 4) are in neither
    assert sp.train.to_lists() == [[1, 9, 2, 3, 8], [5, 1, 2], [3, 4], [1]]
    assert sp.train.events.tolist() == [0, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0]
    assert sp.train_full.to_lists() == [[1, 9, 2, 3, 8, 4, 7], [5, 1, 2], [3, 4], [1, 2]]
    assert sp.train_full.timestamps[:7].tolist() == [0, 1, 2, 3, 4, 5, 6]
    # the evaluator sees positive histories only
    assert sp.valid.histories.to_lists() == [[1, 2, 3], [1]]
    assert sp.test.histories.to_lists() == [[1, 2, 3, 4], [1, 2]]
    assert sp.valid.histories.positive_mask().all() and sp.test.histories.positive_mask().all()
    assert sp.meta["train_negative_events"] == 5
    # what SASRec's positive/negative split of train sees
    pos = sp.train.positive_mask()
    assert sp.train.select_events(pos).to_lists() == [[1, 2, 3], [1, 2], [], [1]]
    assert sp.train.items[~pos].tolist() == [9, 8, 5, 3, 4]


def test_leave_one_out_counts_positive_events_only() -> None:
    s = _with_events([[1, 2, 3], [1, 2, 3, 4]], [[0, 1, 0], [0, 0, 1, 0]])
    sp = leave_one_out(s, ItemVocab(np.arange(1, 10)))
    assert sp.test.targets.owners.tolist() == [2] and sp.train.to_lists() == [[1, 2, 3], [1]]
    with pytest.raises(DataError, match=r"no user has at least 3 interactions \(negative feedback does not count"):
        leave_one_out(s.take(np.array([0])), ItemVocab(np.arange(1, 10)))


def test_leave_one_out_without_negatives_is_unchanged_by_event_codes() -> None:
    """Event codes that are all positive split exactly like plain sequences (ML-1M, Beauty, LastFM)."""
    lists = [[1, 2, 3, 4], [5, 1], [2, 3, 5]]
    plain = leave_one_out(Sequences.from_lists(lists, 9), ItemVocab(np.arange(1, 10)))
    coded = leave_one_out(_with_events(lists, [[0] * len(x) for x in lists]), ItemVocab(np.arange(1, 10)))
    for part in ("train", "train_full"):
        assert getattr(plain, part).to_lists() == getattr(coded, part).to_lists()
    for cases in ("valid", "test"):
        for field in ("histories", "targets"):
            assert (getattr(getattr(plain, cases), field).to_lists()
                    == getattr(getattr(coded, cases), field).to_lists())
    assert "train_negative_events" not in coded.meta


def test_leave_one_out_no_leak_on_synthetic(synth, synth_split) -> None:  # noqa: ANN001
    seqs = synth.sequences
    full = seqs.select_events(seqs.positive_mask())
    lists = full.to_lists()
    sp = synth_split
    evaluated = [len(x) >= 3 for x in lists]
    expect_train = [x[:-2] if e else x for x, e in zip(lists, evaluated, strict=True)]
    expect_full = [x[:-1] if e else x for x, e in zip(lists, evaluated, strict=True)]
    assert sp.train.select_events(sp.train.positive_mask()).to_lists() == expect_train
    assert sp.train_full.select_events(sp.train_full.positive_mask()).to_lists() == expect_full
    assert sp.test.targets.items.tolist() == [x[-1] for x, e in zip(lists, evaluated, strict=True) if e]
    assert sp.valid.targets.items.tolist() == [x[-2] for x, e in zip(lists, evaluated, strict=True) if e]
    # the owners line up: each case's history is its own user's positive train part
    for case in range(0, len(sp.test), 37):
        owner = int(sp.test.targets.owners[case])
        assert sp.test.histories[case].tolist() == expect_full[owner - 1]
        assert sp.valid.histories[case].tolist() == expect_train[owner - 1]
    # negative feedback stays in train, event by event: everything before the held-out positive
    assert sp.meta["train_negative_events"] > 0
    pos = seqs.positive_mask()
    for u in range(0, len(seqs), 53):
        sl = slice(seqs.offsets[u], seqs.offsets[u + 1])
        items, p = seqs.items[sl], pos[sl]
        where = np.flatnonzero(p)
        cut_v, cut_t = (where[-2], where[-1]) if len(where) >= 3 else (len(items), len(items))
        assert sp.train[u].tolist() == items[:cut_v].tolist()
        assert sp.train_full[u].tolist() == items[:cut_t].tolist()
    # positions of held-out events: the train part holds exactly the other positive events
    assert int(sp.train.positive_mask().sum()) + len(sp.valid) + len(sp.test) == full.num_events


def test_baselines_ignore_negative_feedback_in_train(synth_split) -> None:  # noqa: ANN001
    """Graph consumers (item-KNN's graph, popularity counts) see positive events only: the negatives kept in
    train change nothing for them."""
    from dataclasses import replace

    from graphrec.baselines import ItemKNN, Popular

    sp = synth_split
    positive_only = replace(sp, train=sp.train.select_events(sp.train.positive_mask()))
    assert sp.train.num_events > positive_only.train.num_events
    h = sp.test.histories.take(np.arange(50))
    for cls in (ItemKNN, Popular):
        np.testing.assert_array_equal(cls().fit(sp).score(h), cls().fit(positive_only).score(h))


@pytest.mark.parametrize(("window", "directed"), [(1, True), (3, False)])
def test_graph_from_train_has_no_edge_that_only_test_interactions_make(synth, synth_split, window: int,
                                                                       directed: bool) -> None:  # noqa: ANN001
    sp = synth_split
    full = synth.sequences.select_events(synth.sequences.positive_mask())
    lists = full.to_lists()
    g_train = build_item_graph(sp.train, window=window, directed=directed, vocab=sp.vocab)
    g_full = build_item_graph(full, window=window, directed=directed, vocab=sp.vocab)
    brute_train = build_item_graph(Sequences.from_lists([x[:-2] if len(x) >= 3 else x for x in lists],
                                                        full.num_items), window=window, directed=directed)
    leaked_only = _edges(g_full) - _edges(brute_train)
    assert leaked_only, "the check needs edges that only held-out interactions create"
    assert not (_edges(g_train) & leaked_only)
    np.testing.assert_array_equal(g_train.to_scipy().toarray(), brute_train.to_scipy().toarray())
    # and the held-out pair (last train item -> test target) is weighted only by its train occurrences
    dense = g_train.to_scipy().toarray()
    pairs = [(x[-2], x[-1]) for x in lists if len(x) >= 3]
    counts = {}
    for x in (x[:-2] if len(x) >= 3 else x for x in lists):
        for a, b in zip(x[:-1], x[1:], strict=True):
            counts[(a, b)] = counts.get((a, b), 0) + 1
    if directed and window == 1:
        for a, b in pairs:
            assert dense[a, b] == counts.get((a, b), 0) * (a != b)


@pytest.mark.dataset
def test_leave_one_out_shapes_on_lastfm(public) -> None:  # noqa: ANN001
    ds = public("lastfm")
    sp = ds.split()
    n = len(ds.sequences)
    assert len(sp.test) == len(sp.valid) == n == 1090  # 5-core: every user has >= 3 events
    assert sp.train.num_events == ds.sequences.num_events - 2 * n
    assert (sp.train_full.lengths == ds.sequences.lengths - 1).all()
    assert (sp.test.histories.lengths == ds.sequences.lengths - 1).all()
    assert sp.num_items == 3646


# ---------------------------------------------------------------------- time cut
def _timed(lists: list[list[int]], times: list[list[float]], events: list[list[int]] | None = None) -> Sequences:
    base = Sequences.from_lists(lists, 6)
    ev = None if events is None else np.concatenate([np.asarray(e, dtype=np.int8) for e in events])
    return Sequences(base.offsets, base.items, 6, base.owners, np.concatenate([np.asarray(t, float) for t in times]),
                     events=ev, event_names=("click", "skip") if events else (), negative_events=(1,) if events else ())


def test_time_cut_multi_targets_by_hand() -> None:
    s = _timed([[1, 2, 3, 4, 5, 3], [2, 6], [4, 5, 6]], [[1, 2, 11, 12, 21, 22], [15, 25], [30, 31, 32]],
               [[0, 0, 0, 1, 0, 0], [0, 0], [0, 0, 0]])
    sp = time_cut(s, ItemVocab(np.arange(1, 7)), valid_time=10, test_time=20)
    assert sp.train.to_lists() == [[1, 2], [], []]
    assert sp.train_full.to_lists() == [[1, 2, 3, 4], [2], []]
    # valid: user 1 only (user 2 has no history before t=10); the skip of 4 is not a target but a NEG item
    assert sp.valid.histories.to_lists() == [[1, 2]] and sp.valid.targets.to_lists() == [[3]]
    assert sp.valid.future_negative is not None and sp.valid.future_negative.to_lists() == [[4]]
    # test: user 1 with targets 5, 3 (two targets) and user 2 with 6; user 3 has no history before t=20
    assert sp.test.histories.to_lists() == [[1, 2, 3], [2]]  # the skip of 4 is not history
    assert sp.test.targets.to_lists() == [[5, 3], [6]]
    assert sp.test.targets.owners.tolist() == [1, 2]
    assert sp.test.future_negative.to_lists() == [[], []]


def test_time_cut_histories_are_positive_only() -> None:
    # user 1 skipped 4 before the test cut; user 2 only skipped before the cut: no positive history, no case
    s = _timed([[1, 2, 4, 3, 5], [6, 2, 3]], [[1, 2, 3, 4, 21], [5, 22, 23]], [[0, 0, 1, 0, 0], [1, 0, 0]])
    sp = time_cut(s, ItemVocab(np.arange(1, 7)), valid_time=20, test_time=20)
    assert sp.train_full.to_lists() == [[1, 2, 4, 3], [6]]  # negative feedback stays in training data
    assert sp.test.histories.to_lists() == [[1, 2, 3]] and sp.test.targets.to_lists() == [[5]]


def test_time_cut_targets_are_unique_per_case() -> None:
    s = _timed([[1, 2, 3, 2, 3]], [[1, 2, 20, 21, 22]])
    sp = time_cut(s, ItemVocab(np.arange(1, 7)), 10, 10)
    assert sp.test.targets.to_lists() == [[3, 2]] and len(sp.valid) == 0


def test_time_cut_no_leak_on_synthetic(synth) -> None:  # noqa: ANN001
    sp = synth.split("time-cut")
    ts = synth.sequences.timestamps
    v, t = sp.meta["valid_time"], sp.meta["test_time"]
    assert v == pytest.approx(np.quantile(ts, 0.8)) and t == pytest.approx(np.quantile(ts, 0.9))
    assert sp.train.timestamps.max() < v and sp.train_full.timestamps.max() < t
    assert ((sp.valid.targets.timestamps >= v) & (sp.valid.targets.timestamps < t)).all()
    assert (sp.test.targets.timestamps >= t).all()
    assert sp.train.num_events == int((ts < v).sum())
    assert (sp.test.targets.lengths > 1).any()  # multi-target cases exist
    # every target of a test case is a positive event of that user at or after the test cut
    seqs = synth.sequences
    pos = seqs.positive_mask()
    for case in range(0, len(sp.test), 11):
        u = int(sp.test.targets.owners[case]) - 1
        sl = slice(seqs.offsets[u], seqs.offsets[u + 1])
        later = set(seqs.items[sl][(seqs.timestamps[sl] >= t) & pos[sl]].tolist())
        assert set(sp.test.targets[case].tolist()) == later
    g = build_item_graph(sp.train, window=2, directed=False, vocab=sp.vocab)
    assert g.num_edges > 0


def test_time_cut_errors() -> None:
    s = Sequences.from_lists([[1, 2, 3]], 3)
    with pytest.raises(DataError, match="needs timestamps"):
        time_cut(s, ItemVocab([1, 2, 3]), 1, 2)
    with pytest.raises(ConfigError, match=r"valid_time must be <= test_time \(got 5 > 2\)"):
        time_cut(_timed([[1, 2]], [[1, 2]]), ItemVocab(np.arange(1, 7)), 5, 2)


# ---------------------------------------------------------------------- sessions
def test_prefix_cases_by_hand() -> None:
    c = prefix_cases(Sequences.from_lists([[1, 2, 3], [4], [5, 6], [2, 2]], 6))
    assert c.histories.to_lists() == [[1], [1, 2], [5], [2]]
    assert c.targets.to_lists() == [[2], [3], [6], [2]]
    assert c.histories.owners.tolist() == [1, 1, 3, 4]
    assert not c.exclude_history


def test_prefix_cases_skip_negative_feedback() -> None:
    c = prefix_cases(_with_events([[1, 7, 2, 3, 8], [9, 4], [5, 9, 6]], [[0, 1, 0, 0, 1], [1, 0], [0, 1, 0]]))
    assert c.histories.to_lists() == [[1], [1, 2], [5]]
    assert c.targets.to_lists() == [[2], [3], [6]]
    assert c.histories.owners.tolist() == [1, 1, 3]


def test_session_split_by_hand() -> None:
    train = Sequences.from_lists([[1, 2], [2, 3, 4], [3, 1], [4, 2, 1], [1, 4]], 4)
    test = Sequences.from_lists([[2, 4, 1], [3]], 4)
    sp = session_split(train, test, ItemVocab(np.arange(1, 5)), valid_fraction=0.4)
    assert sp.protocol == "session" and sp.users is None
    assert sp.train.to_lists() == [[1, 2], [2, 3, 4], [3, 1]]
    assert sp.train_full.to_lists() == train.to_lists()
    assert sp.valid.targets.to_lists() == [[2], [1], [4]]
    assert sp.test.histories.to_lists() == [[2], [2, 4]] and sp.test.targets.to_lists() == [[4], [1]]
    assert not sp.test.exclude_history
    with pytest.raises(ConfigError, match=r"valid_fraction must be in \[0, 1\) \(got 1.0\)"):
        session_split(train, test, ItemVocab(np.arange(1, 5)), valid_fraction=1.0)


@pytest.mark.dataset
def test_diginetica_prefix_cases(public) -> None:  # noqa: ANN001
    ds = public("diginetica")
    sp = ds.split()
    assert len(ds.test_sessions) == 15963 and ds.test_sessions.num_events == 76821
    assert len(sp.test) == 60858
    assert sp.num_items == 43097
    assert len(sp.train_full) == 186670 and len(sp.train) + sp.meta["valid_sessions"] == 186670
    # every case is a prefix of its session and the next click is its target
    t = ds.test_sessions
    for case in (0, 1, 12345, 60857):
        s = int(sp.test.histories.owners[case]) - 1
        h = sp.test.histories[case]
        session = t[s]
        assert session[: len(h)].tolist() == h.tolist()
        assert sp.test.targets[case].tolist() == [session[len(h)]]
    # the SR-GNN train examples: every prefix of every train session
    assert int((ds.sequences.lengths - 1).sum()) == 719470


@pytest.mark.dataset
def test_diginetica_sample_split(public) -> None:  # noqa: ANN001
    ds = public("diginetica-sample")
    sp = ds.split()
    train_items = set(sp.train_full.items.tolist())
    assert set(sp.test.targets.items.tolist()) <= train_items
    assert (ds.test_sessions.lengths > 1).all() and (ds.sequences.lengths > 1).all()


def test_refit_split_trains_on_train_plus_valid(synth_split) -> None:  # noqa: ANN001
    r = refit_split(synth_split)
    assert r.train is synth_split.train_full and r.meta["refit"] is True
    assert r.test is synth_split.test


def test_train_full_split_has_no_validation_cases(synth_split) -> None:  # noqa: ANN001
    full = train_full_split(synth_split)
    assert full.train is synth_split.train_full and len(full.valid) == 0 and full.meta["train_full"] is True
    assert full.test is synth_split.test and full.valid.exclude_history == synth_split.valid.exclude_history
    assert "train_full" not in synth_split.meta


def test_eval_cases_take_and_shape_check() -> None:
    c = prefix_cases(Sequences.from_lists([[1, 2, 3], [4, 5]], 5))
    sub = c.take(np.array([2, 0]))
    assert sub.histories.to_lists() == [[4], [1]] and sub.targets.to_lists() == [[5], [2]]
    with pytest.raises(DataError, match="2 histories for 1 target rows"):
        EvalCases(Sequences.from_lists([[1], [2]], 5), Sequences.from_lists([[1]], 5))


def test_dataset_split_protocol_errors(synth) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match="no fixed session split"):
        synth.split("session")
    with pytest.raises(ConfigError, match=r"unknown protocol 'time_cut' \(did you mean 'time-cut'\?\)"):
        synth.split("time_cut")
