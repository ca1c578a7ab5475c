"""build_item_graph: a hand-computed 5-item toy, networkx as an independent oracle, pruning and parameters."""

from __future__ import annotations

import math
from collections import defaultdict

import networkx as nx
import numpy as np
import pytest

from graphrec.build import EDGE_ATTR_NAMES, build_item_graph, prune_top_k
from graphrec.errors import ConfigError, DataError
from graphrec.graph import ItemGraph
from graphrec.sequences import Sequences, csr_from_lengths
from graphrec.vocab import ItemVocab

#   S1 = 1 2 3 4   (t = 0, 10, 30, 60)
#   S2 = 2 3 5     (t = 100, 110, 150; the 5 is a skip)
#   S3 = 1 3 2 3   (t = 200, 201, 203, 206)
TOY = [[1, 2, 3, 4], [2, 3, 5], [1, 3, 2, 3]]
TIMES = [0, 10, 30, 60, 100, 110, 150, 200, 201, 203, 206]
EVENTS = [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]  # 0 = click, 1 = skip


def toy(with_events: bool = False) -> Sequences:
    s = Sequences.from_lists(TOY, 5)
    return Sequences(s.offsets, s.items, 5, s.owners, np.asarray(TIMES, dtype=np.float64),
                     np.arange(1, 12, dtype=np.float32),
                     np.asarray(EVENTS, dtype=np.int8) if with_events else None,
                     ("click", "skip") if with_events else (), (1,) if with_events else ())


def edges(g: ItemGraph) -> dict[tuple[int, int], float]:
    rows = np.repeat(np.arange(g.num_nodes), g.degree())
    return {(int(a), int(b)): float(w) for a, b, w in zip(rows, g.indices, g.weights, strict=True)}


def sym(d: dict[tuple[int, int], float]) -> dict[tuple[int, int], float]:
    return {**d, **{(b, a): w for (a, b), w in d.items()}}


def test_directed_transitions_by_hand() -> None:
    g = build_item_graph(toy(), window=1, directed=True)
    assert g.directed
    assert edges(g) == {(1, 2): 1, (1, 3): 1, (2, 3): 3, (3, 2): 1, (3, 4): 1, (3, 5): 1}
    assert g.degree().tolist() == [0, 2, 1, 3, 0, 0]
    nbr, p = g.transition_probs(3)
    assert nbr.tolist() == [2, 4, 5]
    np.testing.assert_allclose(p, [1 / 3, 1 / 3, 1 / 3])


def test_directed_window_2_by_hand() -> None:
    g = build_item_graph(toy(), window=2, directed=True)
    # the (3, 3) pair of S3 at distance 2 is a self loop and is dropped by default
    assert edges(g) == {(1, 2): 2, (1, 3): 2, (2, 3): 3, (2, 4): 1, (2, 5): 1, (3, 2): 1, (3, 4): 1, (3, 5): 1}
    g = build_item_graph(toy(), window=2, directed=True, self_loops=True)
    assert edges(g)[(3, 3)] == 1


def test_undirected_cooccurrence_count_by_hand() -> None:
    g = build_item_graph(toy(), window=2, directed=False)
    assert not g.directed
    assert edges(g) == sym({(1, 2): 2, (2, 3): 4, (3, 4): 1, (1, 3): 2, (2, 4): 1, (3, 5): 1, (2, 5): 1})
    assert g.degree().tolist() == [0, 2, 4, 4, 2, 2]


def test_undirected_inverse_distance_by_hand() -> None:
    g = build_item_graph(toy(), window=2, directed=False, weighting="inverse_distance")
    assert edges(g) == sym({(1, 2): 1.5, (2, 3): 4, (3, 4): 1, (1, 3): 1.5, (2, 4): 0.5, (3, 5): 1, (2, 5): 0.5})


def test_sum_weight_uses_the_later_event_weight() -> None:
    # event weights are 1..11 in file order; edge a -> b gains the weight of b
    g = build_item_graph(toy(), window=1, directed=True, weighting="sum_weight")
    # 2->3: S1 (w of pos 2 = 3) + S2 (pos 5 = 6) + S3 (pos 10 = 11)
    assert edges(g)[(2, 3)] == 3 + 6 + 11
    assert edges(g)[(1, 2)] == 2
    with pytest.raises(ConfigError, match="sum_weight"):
        build_item_graph(Sequences.from_lists(TOY, 5), weighting="sum_weight")


def test_min_count_by_hand() -> None:
    g = build_item_graph(toy(), window=2, directed=False, min_count=2)
    assert edges(g) == sym({(1, 2): 2, (2, 3): 4, (1, 3): 2})
    assert g.degree().tolist() == [0, 2, 2, 2, 0, 0]


def test_top_k_with_ties_keeps_lower_index() -> None:
    g = build_item_graph(toy(), window=2, directed=False, top_k=1)
    # row 1: 2 and 3 tie at 2 -> 2; row 4: 2 and 3 tie at 1 -> 2; row 5 likewise
    assert edges(g) == {(1, 2): 2, (2, 3): 4, (3, 2): 4, (4, 2): 1, (5, 2): 1}
    assert g.directed  # pruning per row breaks symmetry
    g2 = build_item_graph(toy(), window=2, directed=False, top_k=2)
    assert edges(g2) == {(1, 2): 2, (1, 3): 2, (2, 3): 4, (2, 1): 2, (3, 2): 4, (3, 1): 2,
                         (4, 2): 1, (4, 3): 1, (5, 2): 1, (5, 3): 1}


def test_top_k_larger_than_degree_keeps_everything_and_symmetry() -> None:
    full = build_item_graph(toy(), window=2, directed=False)
    g = build_item_graph(toy(), window=2, directed=False, top_k=10)
    assert edges(g) == edges(full) and not g.directed


def test_prune_top_k_keeps_rows_sorted_and_attrs_aligned() -> None:
    g = build_item_graph(toy(), window=2, directed=False, edge_attributes=True)
    p = prune_top_k(g, 1)
    p.validate()
    full = {e: a for e, a in zip(edges(g), g.edge_attr.tolist(), strict=True)}
    for e, a in zip(edges(p), p.edge_attr.tolist(), strict=True):
        assert full[e] == a
    with pytest.raises(ConfigError, match=r"top_k must be >= 1 \(got 0\)"):
        prune_top_k(g, 0)


def test_symmetrisation_of_transitions_by_hand() -> None:
    g = build_item_graph(toy(), window=1, directed=True, symmetric=True)
    assert not g.directed
    assert edges(g) == sym({(1, 2): 1, (1, 3): 1, (2, 3): 4, (3, 4): 1, (3, 5): 1})


def test_edge_attributes_directed_by_hand() -> None:
    g = build_item_graph(toy(), window=1, directed=True, edge_attributes=True)
    assert g.edge_attr_names == EDGE_ATTR_NAMES == ("log_count", "log_gap", "forward_share", "negative_share")
    attr = dict(zip(edges(g), g.edge_attr.tolist(), strict=True))
    # 2->3 seen 3 times with gaps 20 (S1), 10 (S2), 3 (S3): mean 11
    np.testing.assert_allclose(attr[(2, 3)], [math.log1p(3), math.log1p(11), 1, 0], rtol=1e-6)
    np.testing.assert_allclose(attr[(1, 2)], [math.log1p(1), math.log1p(10), 1, 0], rtol=1e-6)
    np.testing.assert_allclose(attr[(3, 2)], [math.log1p(1), math.log1p(2), 1, 0], rtol=1e-6)
    np.testing.assert_allclose(attr[(3, 5)], [math.log1p(1), math.log1p(40), 1, 0], rtol=1e-6)


def test_edge_attributes_undirected_forward_share_by_hand() -> None:
    g = build_item_graph(toy(), window=1, directed=False, edge_attributes=True)
    attr = dict(zip(edges(g), g.edge_attr.tolist(), strict=True))
    # {2,3}: 2 before 3 in S1, S2 and S3 (pos 2->3); 3 before 2 once in S3; gaps 20, 10, 3, 2
    np.testing.assert_allclose(attr[(2, 3)], [math.log1p(4), math.log1p(35 / 4), 3 / 4, 0], rtol=1e-6)
    np.testing.assert_allclose(attr[(3, 2)], [math.log1p(4), math.log1p(35 / 4), 1 / 4, 0], rtol=1e-6)
    np.testing.assert_allclose(attr[(4, 3)][2], 0.0)


def test_edge_attributes_without_timestamps_use_positions() -> None:
    g = build_item_graph(Sequences.from_lists(TOY, 5), window=2, directed=True, edge_attributes=True)
    attr = dict(zip(edges(g), g.edge_attr.tolist(), strict=True))
    # 1->2: distance 1 in S1, distance 2 in S3
    np.testing.assert_allclose(attr[(1, 2)][1], math.log1p(1.5), rtol=1e-6)


def test_negative_events_are_dropped_or_counted() -> None:
    pos = build_item_graph(toy(with_events=True), window=1, directed=True)
    assert (3, 5) not in edges(pos)  # the skip of 5 is not a transition by default
    assert edges(pos)[(2, 3)] == 3
    g = build_item_graph(toy(with_events=True), window=1, directed=True, events="all", edge_attributes=True)
    attr = dict(zip(edges(g), g.edge_attr.tolist(), strict=True))
    assert attr[(3, 5)][3] == 1.0 and attr[(2, 3)][3] == 0.0


def test_meta_records_parameters() -> None:
    g = build_item_graph(toy(), window=2, directed=False, min_count=1, top_k=3)
    assert g.meta["window"] == 2 and g.meta["directed"] is False and g.meta["top_k"] == 3


def test_vocab_must_match() -> None:
    with pytest.raises(DataError, match="vocab has 3 items but the sequences use 5"):
        build_item_graph(toy(), vocab=ItemVocab([1, 2, 3]))
    g = build_item_graph(toy(), vocab=ItemVocab(list("abcde")))
    assert g.to_networkx().has_edge("b", "c")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": 0}, r"window must be an integer >= 1 \(got 0\)"),
        ({"window": -3}, r"got -3"),
        ({"window": 1.5}, r"got 1.5"),
        ({"top_k": 0}, r"top_k must be >= 1 \(got 0\)"),
        ({"min_count": 0}, r"min_count must be >= 1 \(got 0\)"),
        ({"weighting": "tfidf"}, "'tfidf'"),
        ({"events": "negative"}, "'negative'"),
    ],
)
def test_bad_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_item_graph(toy(), **kwargs)


def test_sequences_without_pairs() -> None:
    with pytest.raises(DataError, match="length < 2"):
        build_item_graph(Sequences.from_lists([[1], [2], []], 2))


def test_isolated_and_padding_nodes_have_no_edges() -> None:
    g = build_item_graph(Sequences.from_lists([[1, 2]], 4), window=1)
    assert g.num_items == 4 and g.degree().tolist() == [0, 1, 0, 0, 0]


# ---------------------------------------------------------------------- networkx oracle
def _random_sequences(seed: int, n_items: int = 25, n_seqs: int = 60) -> Sequences:
    rng = np.random.default_rng(seed)
    lists = [rng.integers(1, n_items + 1, rng.integers(0, 12)).tolist() for _ in range(n_seqs)]
    lists[0] = [1, 1, 2, 1]  # repeats and self loops
    return Sequences.from_lists(lists, n_items)


def _oracle(seqs: Sequences, window: int, directed: bool, weighting: str, self_loops: bool) -> nx.Graph:
    g = nx.DiGraph() if directed else nx.Graph()
    g.add_nodes_from(range(1, seqs.num_items + 1))
    acc: dict[tuple[int, int], float] = defaultdict(float)
    for s in seqs.to_lists():
        for p in range(len(s)):
            for d in range(1, window + 1):
                if p + d >= len(s):
                    break
                a, b = s[p], s[p + d]
                if a == b and not self_loops:
                    continue
                key = (a, b) if directed else (min(a, b), max(a, b))
                w = 1.0 if weighting == "count" else 1.0 / d
                acc[key] += w
    for (a, b), w in acc.items():
        g.add_edge(a, b, weight=w)
    return g


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("window", [1, 3])
@pytest.mark.parametrize("directed", [True, False])
@pytest.mark.parametrize("weighting", ["count", "inverse_distance"])
@pytest.mark.parametrize("self_loops", [False, True])
def test_networkx_oracle_weights_and_degrees(seed: int, window: int, directed: bool, weighting: str,
                                             self_loops: bool) -> None:
    seqs = _random_sequences(seed)
    g = build_item_graph(seqs, window=window, directed=directed, weighting=weighting,  # type: ignore[arg-type]
                         self_loops=self_loops)
    oracle = _oracle(seqs, window, directed, weighting, self_loops)
    dense = g.to_scipy().toarray()
    for a, b, w in oracle.edges(data="weight"):
        assert dense[a, b] == pytest.approx(w, rel=1e-6)
        if not directed:
            assert dense[b, a] == pytest.approx(w, rel=1e-6)
    loops = nx.number_of_selfloops(oracle)
    assert g.num_edges == (oracle.number_of_edges() if directed else 2 * oracle.number_of_edges() - loops)
    # networkx counts a self loop twice in an undirected degree; the CSR row stores it once
    deg = dict(oracle.out_degree() if directed else oracle.degree())
    own = {a: 1 for a, _ in nx.selfloop_edges(oracle)} if not directed else {}
    nodes = range(1, seqs.num_items + 1)
    assert g.degree()[1:].tolist() == [deg[i] - own.get(i, 0) for i in nodes]
    expect_w = {i: sum(w for _, _, w in oracle.edges(i, data="weight")) for i in nodes}
    np.testing.assert_allclose(g.out_weight()[1:], [expect_w[i] for i in nodes], rtol=1e-6)


def test_undirected_self_loop_counts_once_per_cooccurrence() -> None:
    # one repeated item at distance 1 is one co-occurrence of (1, 1); the undirected graph must not double it
    g = build_item_graph(Sequences.from_lists([[1, 1, 2]], 2), window=1, directed=False, self_loops=True)
    assert edges(g) == {(1, 1): 1, (1, 2): 1, (2, 1): 1}


def test_top_k_matches_a_sort_per_row() -> None:
    seqs = _random_sequences(7, n_items=30, n_seqs=200)
    g = build_item_graph(seqs, window=3, directed=False)
    p = build_item_graph(seqs, window=3, directed=False, top_k=4)
    for node in range(1, g.num_nodes):
        nbr, w = g.neighbors(node)
        order = sorted(zip(-w.astype(np.float64), nbr.tolist(), strict=True))[:4]
        expect = sorted(n for _, n in order)
        assert p.neighbors(node)[0].tolist() == expect


def test_large_random_build_is_valid_csr() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 40, 3000)
    items = rng.integers(1, 500, int(lengths.sum())).astype(np.int32)
    s = Sequences(csr_from_lengths(lengths), items, 500)
    g = build_item_graph(s, window=5, directed=False, top_k=20, edge_attributes=True)
    g.validate()
    assert g.degree().max() <= 20
    assert np.all(np.isfinite(g.edge_attr))


def test_same_graph_with_one_and_two_threads() -> None:
    import numba
    import torch

    from graphrec.training import set_threads

    saved = (numba.get_num_threads(), torch.get_num_threads())
    seqs = _random_sequences(11, n_items=60, n_seqs=300)
    try:
        graphs = []
        for n in (1, 2):
            set_threads(min(n, numba.config.NUMBA_NUM_THREADS))
            graphs.append(build_item_graph(seqs, window=3, directed=False, top_k=5, edge_attributes=True))
    finally:
        numba.set_num_threads(saved[0])
        torch.set_num_threads(saved[1])
    a, b = graphs
    for name in ("indptr", "indices", "weights", "edge_attr"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_sequence_weights_scale_each_sequences_pairs() -> None:
    seqs = Sequences.from_lists([[1, 2, 3], [1, 3]], num_items=3)
    g = build_item_graph(seqs, window=2, directed=True, weighting="inverse_distance",
                         sequence_weights=np.array([0.5, 2.0]))
    # 1 -> 2: 0.5 * 1; 1 -> 3: 0.5 * 1/2 + 2 * 1; 2 -> 3: 0.5 * 1
    assert g.neighbors(1)[0].tolist() == [2, 3]
    np.testing.assert_allclose(g.neighbors(1)[1], [0.5, 2.25])
    np.testing.assert_allclose(g.neighbors(2)[1], [0.5])
    plain = build_item_graph(seqs, window=2, directed=True, weighting="inverse_distance")
    ones = build_item_graph(seqs, window=2, directed=True, weighting="inverse_distance", sequence_weights=np.ones(2))
    np.testing.assert_array_equal(plain.weights, ones.weights)
    for bad in (np.ones(3), np.array([1.0, -1.0]), np.array([1.0, np.nan])):
        with pytest.raises(ConfigError, match="sequence_weights"):
            build_item_graph(seqs, window=2, sequence_weights=bad)
