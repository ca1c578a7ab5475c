"""Walk kernels: exact transition distributions (chi-square), dead ends, determinism across threads."""

from __future__ import annotations

from collections import Counter, defaultdict

import numba
import numpy as np
import pytest
from scipy import stats
from walks_helpers import random_graph

from graphrec import ItemGraph, ItemVocab
from graphrec.errors import ConfigError, DataError
from walks import kernels
from walks.generate import RandomWalker, generate_walks


def _transitions(walks: np.ndarray, lengths: np.ndarray, order: int) -> dict[tuple, Counter]:
    """Counts of the next node given the previous ``order`` nodes."""
    out: dict[tuple, Counter] = defaultdict(Counter)
    for row, n in zip(walks.tolist(), lengths.tolist(), strict=True):
        for j in range(order, n):
            out[tuple(row[j - order:j])][row[j]] += 1
    return out


def _first_order_probs(g: ItemGraph, state: tuple[int]) -> dict[int, float]:
    nbr, prob = g.transition_probs(state[0])
    return dict(zip(nbr.tolist(), prob.tolist(), strict=True))


def _node2vec_probs(g: ItemGraph, state: tuple[int, int], p: float, q: float) -> dict[int, float]:
    """Exact node2vec transition probabilities, computed with networkx as an independent oracle."""
    nx_graph = g.to_networkx()
    ids = g.vocab.ids
    t, v = state
    out = {}
    for x, data in nx_graph[ids[v - 1]].items():
        xi = int(np.flatnonzero(ids == x)[0]) + 1
        if xi == t:
            bias = 1 / p
        elif nx_graph.has_edge(ids[t - 1], x):
            bias = 1.0
        else:
            bias = 1 / q
        out[xi] = data["weight"] * bias
    total = sum(out.values())
    return {k: w / total for k, w in out.items()}


def _chi_square(counts: dict[tuple, Counter], exact, min_count: int = 200) -> tuple[float, list[float]]:
    """Global p-value (summed statistics) and the per-state p-values of observed vs exact transitions."""
    stat_sum, dof_sum, pvals = 0.0, 0, []
    for state, obs in counts.items():
        n = sum(obs.values())
        probs = exact(state)
        assert set(obs) <= set(probs), f"impossible transition from {state}: {set(obs) - set(probs)}"
        if n < min_count or len(probs) < 2:
            continue
        keys = sorted(probs)
        f_obs = np.array([obs.get(k, 0) for k in keys], dtype=float)
        f_exp = np.array([probs[k] for k in keys]) * n
        res = stats.chisquare(f_obs, f_exp)
        stat_sum += res.statistic
        dof_sum += len(keys) - 1
        pvals.append(res.pvalue)
    assert pvals, "no state had enough observations"
    return float(stats.chi2.sf(stat_sum, dof_sum)), pvals


def test_first_order_matches_weights(weighted_undirected: ItemGraph, weighted_directed: ItemGraph) -> None:
    for g in (weighted_undirected, weighted_directed):
        walks, lengths = RandomWalker(g).walks(num_walks=400, walk_length=30, seed=3)
        counts = _transitions(walks, lengths, 1)
        p_global, pvals = _chi_square(counts, lambda s, g=g: _first_order_probs(g, s))
        assert p_global > 1e-3 and min(pvals) > 1e-5, (p_global, pvals)


@pytest.mark.parametrize(("p", "q", "directed"), [
    (0.5, 2.0, False),   # 1/p dominates: the return edge is its own mixture component
    (2.0, 0.5, False),   # 1/q dominates: DFS-like
    (0.25, 4.0, True),   # directed, strong return
    (4.0, 0.25, True),   # directed, strong outward
    (1.0, 0.5, True),
])
def test_node2vec_matches_exact_distribution(p: float, q: float, directed: bool,
                                             weighted_undirected: ItemGraph,
                                             weighted_directed: ItemGraph) -> None:
    g = weighted_directed if directed else weighted_undirected
    walks, lengths = RandomWalker(g, p=p, q=q).walks(num_walks=1500, walk_length=30, seed=11)
    counts = _transitions(walks, lengths, 2)
    p_global, pvals = _chi_square(counts, lambda s: _node2vec_probs(g, s, p, q))
    assert p_global > 1e-3 and min(pvals) > 1e-5, (p_global, min(pvals))


def test_chi_square_has_power(weighted_undirected: ItemGraph) -> None:
    """The test above would catch a sampler that ignores p and q."""
    walks, lengths = RandomWalker(weighted_undirected).walks(num_walks=1500, walk_length=30, seed=11)
    counts = _transitions(walks, lengths, 2)
    p_global, _ = _chi_square(counts, lambda s: _node2vec_probs(weighted_undirected, s, 0.5, 2.0))
    assert p_global < 1e-12


def test_alias_tables_reproduce_weights() -> None:
    g = random_graph(50, 400, seed=1)
    prob, alias = kernels.build_alias(g.indptr, g.weights)
    for v in range(1, g.num_nodes):
        s, e = g.indptr[v], g.indptr[v + 1]
        d = e - s
        if d == 0:
            continue
        mass = np.zeros(d)
        for k in range(d):
            mass[k] += prob[s + k] / d
            mass[alias[s + k]] += (1 - prob[s + k]) / d
        np.testing.assert_allclose(mass, g.transition_probs(v)[1], atol=1e-6)


def test_step_table_and_adjacency_bitmap() -> None:
    g = random_graph(70, 600, seed=3)
    prob, alias = kernels.build_alias(g.indptr, g.weights)
    table = kernels.step_table(g.indptr, g.indices, g.weights)
    rows = np.repeat(np.arange(g.num_nodes), np.diff(g.indptr))
    np.testing.assert_array_equal(table["node"], g.indices)
    np.testing.assert_array_equal(table["prob"], prob)
    np.testing.assert_array_equal(table["alias"], g.indices[g.indptr[rows] + alias])
    bits = kernels.adjacency_bits(g.indptr, g.indices)
    words = (g.num_nodes + 63) // 64
    dense = np.unpackbits(bits.view(np.uint8), bitorder="little").reshape(g.num_nodes, 64 * words)
    expect = np.zeros_like(dense)
    expect[rows, g.indices] = 1
    np.testing.assert_array_equal(dense, expect)


@pytest.mark.parametrize(("p", "q"), [(1.0, 0.5), (0.25, 4.0), (4.0, 0.25), (2.0, 2.0)])
def test_bitmap_and_binary_search_give_the_same_walks(p: float, q: float, weighted_directed: ItemGraph) -> None:
    for g in (random_graph(300, 3000, seed=2), weighted_directed):
        w1, l1 = RandomWalker(g, p=p, q=q, bitmap=True).walks(num_walks=4, walk_length=25, seed=1)
        w2, l2 = RandomWalker(g, p=p, q=q, bitmap=False).walks(num_walks=4, walk_length=25, seed=1)
        np.testing.assert_array_equal(w1, w2)
        np.testing.assert_array_equal(l1, l2)


def test_bitmap_only_on_dense_graphs() -> None:
    dense, sparse = random_graph(60, 1500, seed=3), random_graph(2000, 3000, seed=3)
    assert RandomWalker(dense, p=1.0, q=0.5).bits.size == 60 + 1
    assert RandomWalker(sparse, p=1.0, q=0.5).bits.size == 0
    assert RandomWalker(dense).bits.size == 0  # first-order walks never test edges


def test_same_walks_for_any_thread_count_and_chunking() -> None:
    g = random_graph(300, 2000, seed=2)
    walker = RandomWalker(g, p=0.5, q=2.0)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        w1, l1 = walker.walks(num_walks=3, walk_length=20, seed=5)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        w2, l2 = walker.walks(num_walks=3, walk_length=20, seed=5)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(l1, l2)
    chunks = list(walker.iter_chunks(num_walks=3, walk_length=20, seed=5, chunk_steps=20 * 7))
    assert all(len(c[1]) <= 7 for c in chunks)
    np.testing.assert_array_equal(np.concatenate([c[0] for c in chunks]), w1)
    w3, _ = walker.walks(num_walks=3, walk_length=20, seed=6)
    assert not np.array_equal(w1, w3)


def test_dead_ends_and_isolated_nodes() -> None:
    # 1 -> 2 -> 3 (3 is a dead end), 4 isolated, 5 -> 6 with zero weight (also a dead end)
    indptr = np.array([0, 0, 1, 2, 2, 2, 3, 3])
    g = ItemGraph(indptr, np.array([2, 3, 6]), np.array([1.0, 1.0, 0.0]), ItemVocab(np.arange(1, 7)), True)
    for p, q in ((1.0, 1.0), (0.5, 2.0)):
        walks, lengths = RandomWalker(g, p=p, q=q).walks(num_walks=2, walk_length=6, seed=0)
        assert walks[:, 0].tolist() == [1, 2, 1, 2]  # only nodes with positive out-weight start walks
        assert lengths.tolist() == [3, 2, 3, 2]
        assert walks[0].tolist() == [1, 2, 3, 0, 0, 0]
        assert walks[1].tolist() == [2, 3, 0, 0, 0, 0]


def test_golden_walks(weighted_undirected: ItemGraph) -> None:
    walker = RandomWalker(weighted_undirected, p=0.5, q=2.0)
    walks, lengths = walker.walks(num_walks=1, walk_length=8, seed=42)
    assert lengths.tolist() == [8] * 6
    assert walks.tolist() == GOLDEN


GOLDEN = [
    [1, 3, 1, 3, 4, 3, 4, 3],
    [2, 5, 2, 3, 2, 3, 2, 3],
    [3, 2, 3, 1, 3, 4, 3, 4],
    [4, 3, 4, 3, 2, 5, 2, 5],
    [5, 2, 5, 2, 5, 2, 5, 2],
    [6, 3, 2, 3, 6, 3, 6, 3],
]


def test_bad_parameters(weighted_undirected: ItemGraph) -> None:
    with pytest.raises(ConfigError, match="walk_length must be an integer >= 2"):
        RandomWalker(weighted_undirected).walks(walk_length=1)
    with pytest.raises(ConfigError, match="num_walks"):
        RandomWalker(weighted_undirected).walks(num_walks=0)
    with pytest.raises(ConfigError, match=r"p must be a positive finite number \(got 0\)"):
        RandomWalker(weighted_undirected, p=0)
    with pytest.raises(ConfigError, match="q must be"):
        RandomWalker(weighted_undirected, q=float("nan"))
    with pytest.raises(ConfigError, match="method 'deepwalk' is first-order"):
        generate_walks(weighted_undirected, method="deepwalk", q=0.5)
    with pytest.raises(ConfigError, match="method must be one of"):
        generate_walks(weighted_undirected, method="line")
    with pytest.raises(ConfigError, match="chunk_steps"):
        next(RandomWalker(weighted_undirected).iter_chunks(walk_length=10, chunk_steps=5))
    empty = ItemGraph(np.array([0, 0, 1, 1, 1]), np.array([2]), np.array([0.0]), ItemVocab([7, 8, 9]), True)
    with pytest.raises(DataError, match="nowhere to walk"):
        RandomWalker(empty).walks()
