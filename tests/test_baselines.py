"""Baselines by hand: most-popular, seeded random, and item-KNN over the item graph."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec.baselines import ItemKNN, Popular, RandomRecommender
from graphrec.build import build_item_graph
from graphrec.errors import ConfigError
from graphrec.evaluate import evaluate
from graphrec.model import load_model
from graphrec.sequences import Sequences
from graphrec.split import leave_one_out
from graphrec.vocab import ItemVocab

# 5 items; train part after leave-one-out: [1, 2, 3], [2, 3], [4, 2, 1] (each user loses 2 events)
LISTS = [[1, 2, 3, 5, 4], [2, 3, 1, 5], [4, 2, 1, 3, 3]]


@pytest.fixture
def split():  # noqa: ANN201
    return leave_one_out(Sequences.from_lists(LISTS, 5), ItemVocab(np.arange(1, 6)))


def test_popular_by_hand(split) -> None:  # noqa: ANN001
    assert split.train.to_lists() == [[1, 2, 3], [2, 3], [4, 2, 1]]
    m = Popular().fit(split)
    s = m.score(Sequences.from_lists([[1], []], 5))
    assert s.shape == (2, 6) and s.dtype == np.float32
    assert s[0].tolist() == [0, 2, 3, 2, 1, 0] and s[1].tolist() == s[0].tolist()


def test_popular_counts_only_positive_events() -> None:
    base = Sequences.from_lists([[1, 2, 3, 1, 2, 3, 3]], 3)
    s = Sequences(base.offsets, base.items, 3, base.owners, events=np.array([0, 1, 1, 0, 0, 0, 0], dtype=np.int8),
                  event_names=("click", "skip"), negative_events=(1,))
    sp = leave_one_out(s, ItemVocab([1, 2, 3]))
    # positive events 1, 1, 2, 3, 3: the last two are held out, the skipped 2 and 3 never count
    assert Popular().fit(sp).counts_.tolist() == [0, 2, 1, 0]


def test_random_is_seeded_and_uniform() -> None:
    sp = leave_one_out(Sequences.from_lists([[1, 2, 3]] * 5, 3), ItemVocab([1, 2, 3]))
    h = Sequences.from_lists([[1]] * 4, 3)
    a = RandomRecommender(seed=1).fit(sp).score(h)
    b = RandomRecommender(seed=1).fit(sp).score(h)
    c = RandomRecommender(seed=2).fit(sp).score(h)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_random_hits_about_k_over_n(synth_split) -> None:  # noqa: ANN001
    m = evaluate(RandomRecommender(seed=0).fit(synth_split), synth_split.test, (20,), exclude_history=False)
    n_items, n_cases = synth_split.num_items, len(synth_split.test)
    p = 20 / n_items
    assert abs(m["HR@20"] - p) < 4 * np.sqrt(p * (1 - p) / n_cases)


def test_itemknn_scores_by_hand(split) -> None:  # noqa: ANN001
    # window 1, undirected, count: edges {1,2}: 2 ([1,2], [2,1]), {2,3}: 2, {2,4}: 1
    m = ItemKNN(window=1, recent=2, decay=0.5, normalize="none", popularity_tiebreak=False).fit(split)
    s = m.score(Sequences.from_lists([[4, 1]], 5))[0]
    # last item 1 (age 0, weight 1): w(1, .) = {2: 2}; item 4 (age 1, weight 0.5): w(4, .) = {2: 1}
    np.testing.assert_allclose(s, [0, 0, 2 + 0.5, 0, 0, 0])
    s = m.score(Sequences.from_lists([[2]], 5))[0]
    np.testing.assert_allclose(s, [0, 2, 0, 2, 1, 0])


def test_itemknn_recent_one_uses_the_last_item_only(split) -> None:  # noqa: ANN001
    m = ItemKNN(window=1, recent=1, normalize="none", popularity_tiebreak=False).fit(split)
    np.testing.assert_allclose(m.score(Sequences.from_lists([[2, 3]], 5))[0], [0, 0, 2, 0, 0, 0])


def test_itemknn_normalisations(split) -> None:  # noqa: ANN001
    row = ItemKNN(window=1, recent=1, normalize="row", popularity_tiebreak=False).fit(split)
    # row 2: {1: 2, 3: 2, 4: 1} / 5
    np.testing.assert_allclose(row.score(Sequences.from_lists([[2]], 5))[0], [0, 0.4, 0, 0.4, 0.2, 0], rtol=1e-6)
    cos = ItemKNN(window=1, recent=1, normalize="cosine", popularity_tiebreak=False).fit(split)
    # degrees (weighted): 1: 2, 2: 5, 3: 2, 4: 1
    expect = [0, 2 / np.sqrt(10), 0, 2 / np.sqrt(10), 1 / np.sqrt(5), 0]
    np.testing.assert_allclose(cos.score(Sequences.from_lists([[2]], 5))[0], expect, rtol=1e-6)


def test_itemknn_popularity_breaks_ties_only(split) -> None:  # noqa: ANN001
    m = ItemKNN(window=1, normalize="none").fit(split)
    plain = ItemKNN(window=1, normalize="none", popularity_tiebreak=False).fit(split)
    h = Sequences.from_lists([[4], []], 5)
    s, p = m.score(h), plain.score(h)
    assert 0 < (s - p).max() <= 1e-6  # a nudge, never a vote
    # history [4]: 2 has the only vote; 1 and 3 (2 train events each) beat 5 (none) on popularity alone
    assert s[0, 2] > s[0, 1] == s[0, 3] > s[0, 5]
    assert np.argmax(s[1, 1:]) + 1 == 2  # empty history: the most popular item (2, 3 train events) first


def test_itemknn_fit_graph_uses_a_prebuilt_graph(split) -> None:  # noqa: ANN001
    g = build_item_graph(split.train, window=1, directed=True, vocab=split.vocab)
    m = ItemKNN(normalize="none", popularity_tiebreak=False).fit_graph(g)
    # directed transitions of the train part: 1->2, 2->3 (twice), 4->2, 2->1
    np.testing.assert_allclose(m.score(Sequences.from_lists([[2]], 5))[0], [0, 1, 0, 2, 0, 0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"recent": 0}, r"recent must be >= 1 \(got 0\)"), ({"decay": 0}, r"decay must be in \(0, 1\] \(got 0"),
     ({"normalize": "l2"}, r"normalize must be one of \['none', 'row', 'cosine'\] \(got 'l2'\)"),
     ({"windw": 3}, r"'windw' \(did you mean 'window'\?\)")],
)
def test_itemknn_config_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ItemKNN(**kwargs)


@pytest.mark.parametrize("cls", [Popular, ItemKNN, RandomRecommender])
def test_save_load_gives_the_same_scores(tmp_path, split, cls) -> None:  # noqa: ANN001
    m = cls().fit(split)
    h = Sequences.from_lists([[1, 2], [4], []], 5)
    before = m.score(h)
    m.save(tmp_path / "run")
    loaded = load_model(tmp_path / "run")
    assert type(loaded) is cls and loaded.vocab_ == split.vocab
    if cls is not RandomRecommender:
        np.testing.assert_array_equal(loaded.score(h), before)
    else:
        np.testing.assert_array_equal(loaded.score(h), RandomRecommender().fit(split).score(h))
