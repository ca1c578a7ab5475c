"""Statistical and structural tests of the numba samplers."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from gnn.samplers import (
    importance_neighbors,
    sample_blocks,
    sample_neighbors,
    table_blocks,
    weight_tables,
)


def _csr(rows: list[list[tuple[int, float]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indices, weights = [], []
    for i, row in enumerate(rows):
        for j, w in sorted(row):
            indices.append(j)
            weights.append(w)
        indptr[i + 1] = len(indices)
    return indptr, np.asarray(indices, dtype=np.int32), np.asarray(weights, dtype=np.float32)


def _draw(indptr, indices, weights, node, s, n, weighted, seed=0):
    nodes = np.full(n, node, dtype=np.int64)
    nbr, eid = sample_neighbors(indptr, indices, *weight_tables(indptr, weights), nodes, s, seed, weighted)
    return nbr, eid


def _ordered_probs(w: np.ndarray, k: int) -> dict[tuple[int, ...], float]:
    """Exact probabilities of ordered k-tuples under successive weighted sampling without replacement."""
    out = {}
    for perm in itertools.permutations(range(len(w)), k):
        p, rest = 1.0, w.sum()
        for i in perm:
            p *= w[i] / rest
            rest -= w[i]
        out[perm] = p
    return out


def test_uniform_without_replacement_when_degree_allows():
    row = [(j, 1.0) for j in range(1, 9)]
    ip, ix, w = _csr([[], row] + [[] for _ in range(8)])
    nbr, _ = _draw(ip, ix, w, 1, 5, 20000, weighted=False)
    assert (np.sort(nbr, axis=1)[:, 1:] != np.sort(nbr, axis=1)[:, :-1]).all(), "duplicate neighbour"
    counts = np.bincount(nbr.ravel(), minlength=9)[1:]
    assert stats.chisquare(counts).pvalue > 1e-3  # every neighbour included with probability S/d


def test_uniform_with_replacement_when_degree_small():
    ip, ix, w = _csr([[], [(2, 1.0), (3, 1.0), (4, 1.0)], [], [], []])
    nbr, eid = _draw(ip, ix, w, 1, 10, 5000, weighted=False)
    assert set(np.unique(nbr)) == {2, 3, 4}
    assert (ix[eid] == nbr).all()
    assert stats.chisquare(np.bincount(nbr.ravel())[2:]).pvalue > 1e-3


@pytest.mark.parametrize("weights", [[1.0, 2.0, 3.0, 4.0], [50.0, 1.0, 1.0, 3.0]])
def test_weighted_without_replacement_matches_successive_sampling(weights):
    """Ordered pairs follow P(i, j) = w_i / W * w_j / (W - w_i) (chi-square), also when one edge dominates."""
    w = np.asarray(weights)
    ip, ix, wt = _csr([[], [(j + 2, x) for j, x in enumerate(weights)]] + [[] for _ in range(4)])
    n = 30000
    nbr, _ = _draw(ip, ix, wt, 1, 2, n, weighted=True, seed=7)
    exact = _ordered_probs(w, 2)
    keys = list(exact)
    obs = np.zeros(len(keys))
    index = {k: i for i, k in enumerate(keys)}
    for a, b in nbr - 2:
        obs[index[(int(a), int(b))]] += 1
    expected = np.array([exact[k] for k in keys]) * n
    assert stats.chisquare(obs, expected).pvalue > 1e-3


def test_weighted_without_replacement_heavy_edge_triples():
    """Ordered triples when one edge holds 97% of the mass and one has weight 0: the alias tries keep hitting the
    heavy edge, so most later draws take the exact fallback step; the law must still be successive sampling."""
    weights = [200.0, 1.0, 2.0, 3.0, 0.0]
    w = np.asarray(weights)
    ip, ix, wt = _csr([[], [(j + 2, x) for j, x in enumerate(weights)]] + [[] for _ in range(5)])
    n = 40000
    nbr, _ = _draw(ip, ix, wt, 1, 3, n, weighted=True, seed=11)
    assert (nbr != 6).all(), "a zero-weight edge was drawn"
    exact = {k: v for k, v in _ordered_probs(w, 3).items() if v > 0}
    keys = list(exact)
    index = {k: i for i, k in enumerate(keys)}
    obs = np.zeros(len(keys))
    for row in nbr - 2:
        obs[index[tuple(int(x) for x in row)]] += 1
    assert stats.chisquare(obs, np.array([exact[k] for k in keys]) * n).pvalue > 1e-3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alias_table_encodes_the_edge_probabilities(seed):
    """The probability implied by each packed entry (kept share + shares aliased to it) is w / sum(w)."""
    rng = np.random.default_rng(seed)
    rows = [[(j, float(x)) for j, x in enumerate(rng.choice([0.0, 0.5, 1.0, 7.0, 100.0], size=d), start=1)]
            for d in (1, 2, 5, 17, 64)]
    rows[2][0] = (1, 0.0)
    ip, ix, w = _csr(rows)
    _, table = weight_tables(ip, w)
    for v in range(len(rows)):
        s, e = ip[v], ip[v + 1]
        if w[s:e].sum() == 0:
            continue
        thr = (table[s:e] >> np.uint64(32)).astype(np.float64) / 2**32
        alias = (table[s:e] & np.uint64(0xFFFFFFFF)).astype(np.int64)
        implied = thr.copy()
        np.add.at(implied, alias, 1.0 - thr)
        np.testing.assert_allclose(implied / (e - s), w[s:e] / w[s:e].sum(), atol=1e-8)


def test_weighted_with_replacement_single_draw_chi_square():
    weights = [0.5, 1.0, 2.0, 4.0, 8.0, 0.0]
    ip, ix, wt = _csr([[], [(j + 2, x) for j, x in enumerate(weights)]] + [[] for _ in range(6)])
    nbr, _ = _draw(ip, ix, wt, 1, 8, 5000, weighted=True)  # degree 6 < 8: with replacement
    counts = np.bincount(nbr.ravel() - 2, minlength=6)
    assert counts[5] == 0, "a zero-weight edge was drawn"
    p = np.asarray(weights[:5]) / sum(weights)
    assert stats.chisquare(counts[:5], p * counts.sum()).pvalue > 1e-3


def test_deterministic_and_thread_independent():
    import numba

    rng = np.random.default_rng(0)
    m = sp.random(200, 200, density=0.1, random_state=1, format="csr", dtype=np.float32)
    m.setdiag(0)
    m.eliminate_zeros()
    m.sort_indices()
    tables = weight_tables(m.indptr.astype(np.int64), m.data)
    nodes = rng.integers(0, 200, 500).astype(np.int64)
    args = (m.indptr.astype(np.int64), m.indices.astype(np.int32), *tables, nodes, 7, 42)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = sample_neighbors(*args, True)[0], importance_neighbors(*args[:5], 50, 0.3, 5, 42, True)[0]
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = sample_neighbors(*args, True)[0], importance_neighbors(*args[:5], 50, 0.3, 5, 42, True)[0]
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_isolated_nodes_get_no_samples():
    ip, ix, w = _csr([[], [(2, 1.0)], []])
    nbr, eid = _draw(ip, ix, w, 2, 3, 4, weighted=False)
    assert (nbr == -1).all() and (eid == -1).all()


def test_importance_neighbours_follow_personalised_pagerank():
    """Visit weights converge to PPR restricted to the top-T (networkx as oracle)."""
    g = nx.gnm_random_graph(25, 70, seed=3)
    rng = np.random.default_rng(3)
    for a, b in g.edges:
        g[a][b]["weight"] = float(rng.integers(1, 5))
    a = nx.to_scipy_sparse_array(g, nodelist=range(25), weight="weight", format="csr").astype(np.float32)
    ip, ix, w = a.indptr.astype(np.int64), a.indices.astype(np.int32), a.data.astype(np.float32)
    alpha, top_t = 0.3, 6
    origins = np.array([0, 5, 11], dtype=np.int64)
    nbr, wt = importance_neighbors(ip, ix, *weight_tables(ip, w), origins, 400000, alpha, top_t, 1, True)
    for row, u in enumerate(origins):
        ppr = nx.pagerank(g, alpha=1 - alpha, personalization={int(u): 1.0}, weight="weight", tol=1e-12)
        ranked = sorted((v for v in ppr if v != u), key=lambda v: -ppr[v])[:top_t]
        exact = np.array([ppr[v] for v in nbr[row]])
        np.testing.assert_allclose(wt[row], exact / exact.sum(), atol=0.01)
        assert set(nbr[row][:3].tolist()) <= set(ranked[:4])  # same leaders, ties aside
        assert abs(sum(ppr[v] for v in nbr[row]) - sum(ppr[v] for v in ranked)) < 0.01


def test_importance_skip_gives_middle_band():
    g = nx.gnm_random_graph(40, 200, seed=0)
    a = nx.to_scipy_sparse_array(g, nodelist=range(40), format="csr").astype(np.float32)
    ip, ix, w = a.indptr.astype(np.int64), a.indices.astype(np.int32), a.data
    cw = weight_tables(ip, w)
    full, _ = importance_neighbors(ip, ix, *cw, np.array([0]), 5000, 0.3, 15, 2, False)
    band, bw = importance_neighbors(ip, ix, *cw, np.array([0]), 5000, 0.3, 10, 2, False, 5)
    np.testing.assert_array_equal(band[0], full[0, 5:15])
    assert abs(bw.sum() - 1) < 1e-5


def test_blocks_are_pyg_ready():
    ip, ix, w = _csr([[], [(2, 1.0), (3, 2.0), (4, 1.0)], [(1, 1.0), (5, 1.0)], [(1, 2.0)], [(1, 1.0)], [(2, 1.0)]])
    sub = sample_blocks(ip, ix, w, np.array([1, 5]), (2, 2), seed=0)
    assert sub.n_id[:2].tolist() == [1, 5] and len(set(sub.n_id.tolist())) == len(sub.n_id)
    dst_count = 2
    for block in sub.blocks:
        src, dst = block.edge_index
        assert block.size[1] == dst_count and dst.max() < block.size[1] and src.max() < block.size[0]
        assert (np.diff(dst) >= 0).all(), "edges must be sorted by target (LSTM aggregation)"
        for s, d, e in zip(src, dst, block.e_id, strict=True):
            u, v = sub.n_id[d], sub.n_id[s]
            assert ix[e] == v and ip[u] <= e < ip[u + 1]
        np.testing.assert_array_equal(block.edge_weight, w[block.e_id])
        dst_count = block.size[0]


def test_table_blocks():
    table = np.array([[-1, -1], [2, 3], [1, -1], [2, 1]], dtype=np.int32)
    wts = np.array([[0, 0], [0.75, 0.25], [1, 0], [0.5, 0.5]], dtype=np.float32)
    sub = table_blocks(table, wts, np.array([1]), 2)
    assert sub.n_id.tolist() == [1, 2, 3]
    b0, b1 = sub.blocks
    assert b0.edge_index.tolist() == [[1, 2], [0, 0]] and b0.edge_weight.tolist() == [0.75, 0.25]
    assert b1.size == (3, 3) and b1.edge_index.shape[1] == 5
