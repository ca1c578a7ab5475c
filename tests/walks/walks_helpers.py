"""Small graphs shared by the walk tests (a plain module: tests/ is not a package)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from graphrec import ItemGraph, ItemVocab


def graph_from_edges(n: int, edges: list[tuple[int, int, float]], directed: bool) -> ItemGraph:
    """A graph over items ``1..n`` from ``(src, dst, weight)`` triples (both directions when undirected)."""
    src = [e[0] for e in edges]
    dst = [e[1] for e in edges]
    w = [e[2] for e in edges]
    if not directed:
        src, dst, w = src + dst, dst + src, w + w
    m = sp.coo_matrix((np.asarray(w, dtype=np.float32), (src, dst)), shape=(n + 1, n + 1)).tocsr()
    return ItemGraph.from_scipy(m, ItemVocab(np.arange(1, n + 1) * 10), directed=directed)


def random_graph(n: int, m: int, seed: int = 0) -> ItemGraph:
    rng = np.random.default_rng(seed)
    src, dst = rng.integers(1, n + 1, m), rng.integers(1, n + 1, m)
    keep = src != dst
    edges = list(zip(src[keep].tolist(), dst[keep].tolist(), (rng.random(int(keep.sum())) + 0.1).tolist(),
                     strict=True))
    return graph_from_edges(n, edges, directed=False)
