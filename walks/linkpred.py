"""Link prediction as in the EGES paper: hide a third of the edges, score them against as many non-edges (AUC)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.stats import rankdata

from graphrec.embeddings import Embeddings
from graphrec.errors import ConfigError, DataError
from graphrec.graph import ItemGraph

__all__ = ["split_edges", "link_prediction_auc"]


def split_edges(graph: ItemGraph, holdout: float = 1 / 3, seed: int = 0,
                ) -> tuple[ItemGraph, NDArray[np.int64], NDArray[np.int64]]:
    """Hold out a share of the (undirected) edges and draw as many node pairs that are not edges.

    Args:
        graph: The full item graph (treated as undirected: edge ``{i, j}`` is held out in both directions).
        holdout: Share of the edges to hide. Default 1/3 (as in the EGES paper).
        seed: Random seed. Default 0.

    Returns:
        ``(train_graph, positives, negatives)``: the graph without the held-out edges, and two ``int64[m, 2]``
        arrays of node pairs (held-out edges; non-edges of the full graph, sampled uniformly).

    Raises:
        ConfigError: ``holdout`` outside (0, 1). DataError: a graph without edges.
    """
    if not 0.0 < holdout < 1.0:
        raise ConfigError(f"holdout must be in (0, 1) (got {holdout})")
    rng = np.random.default_rng(seed)
    a = graph.to_scipy()
    upper = sp.triu(a + a.T, k=1).tocoo()
    if upper.nnz == 0:
        raise DataError("the graph has no edge to hold out")
    order = rng.permutation(upper.nnz)
    m = max(1, int(round(holdout * upper.nnz)))
    held, kept = order[:m], order[m:]
    pos = np.stack([upper.row[held], upper.col[held]], axis=1).astype(np.int64)
    rows = np.concatenate([upper.row[kept], upper.col[kept]])
    cols = np.concatenate([upper.col[kept], upper.row[kept]])
    vals = np.concatenate([upper.data[kept], upper.data[kept]]).astype(np.float32)
    train = sp.csr_matrix((vals, (rows, cols)), shape=a.shape)
    train_graph = ItemGraph.from_scipy(train, graph.vocab, directed=False, side_info=graph.side_info)
    n = graph.num_nodes
    existing = set((np.minimum(upper.row, upper.col).astype(np.int64) * n + np.maximum(upper.row, upper.col)).tolist())
    neg: list[tuple[int, int]] = []
    seen: set[int] = set()
    while len(neg) < m:
        i, j = rng.integers(1, n, size=2 * (m - len(neg)) + 16).reshape(-1, 2).T
        for x, y in zip(np.minimum(i, j).tolist(), np.maximum(i, j).tolist(), strict=True):
            key = x * n + y
            if x != y and key not in existing and key not in seen:
                seen.add(key)
                neg.append((x, y))
                if len(neg) == m:
                    break
    return train_graph, pos, np.asarray(neg, dtype=np.int64)


def link_prediction_auc(embeddings: Embeddings, positives: NDArray[np.int64], negatives: NDArray[np.int64],
                        similarity: str = "cosine") -> float:
    """ROC AUC of ``sim(v_i, v_j)`` separating held-out edges from non-edges (ties count one half).

    Nodes without a vector (zero rows) score 0 against everything, as an untrained model would.
    """
    v = embeddings.vectors.astype(np.float64)
    if similarity == "cosine":
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    elif similarity != "dot":
        raise ConfigError(f"similarity must be 'cosine' or 'dot' (got {similarity!r})")
    pairs = np.concatenate([positives, negatives])
    scores = np.einsum("ij,ij->i", v[pairs[:, 0]], v[pairs[:, 1]])
    ranks = rankdata(scores)
    n_pos, n_neg = len(positives), len(negatives)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main(argv: list[str] | None = None) -> None:
    """``python -m walks.linkpred --dataset ml-1m --models deepwalk,node2vec,ges,eges --out PREFIX``."""
    import argparse
    import json
    import logging
    import platform
    import shlex
    import sys
    import time
    from pathlib import Path

    from graphrec import datasets
    from graphrec.build import build_item_graph
    from graphrec.model import get_model_class

    ap = argparse.ArgumentParser(description="Link prediction AUC of the walk models (EGES paper protocol).")
    ap.add_argument("--dataset", default="ml-1m")
    ap.add_argument("--models", default="deepwalk,node2vec,ges,eges")
    ap.add_argument("--window", type=int, default=3, help="co-occurrence window of the full graph")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], help="model=key=value override, e.g. eges=epochs=1")
    ap.add_argument("--out", required=True, help="output prefix: writes PREFIX.json and PREFIX.md")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    data = datasets.load(a.dataset)
    split = data.split()
    graph = build_item_graph(split.train_full, window=a.window, directed=False, vocab=data.vocab,
                             side_info=data.side_info)
    train, pos, neg = split_edges(graph, seed=a.seed)
    overrides: dict[str, dict[str, str]] = {}
    for item in a.set:
        model, key, value = item.split("=", 2)
        overrides.setdefault(model, {})[key] = value
    rows = []
    for name in a.models.split(","):
        cls = get_model_class(name)
        t0 = time.perf_counter()
        fit_graph = getattr(cls(**{"seed": a.seed, **overrides.get(name, {})}), "fit_graph", None)
        if fit_graph is None:
            raise SystemExit(f"{name} does not train on an item graph: link prediction takes graph models "
                             "(deepwalk, node2vec, ges, eges)")
        model = fit_graph(train)
        auc = link_prediction_auc(model.item_embeddings(), pos, neg)
        rows.append({"model": name, "auc": auc, "fit_seconds": time.perf_counter() - t0})
        logging.getLogger(__name__).info("%s: AUC %.4f", name, auc)
    argv_used = sys.argv[1:] if argv is None else argv
    command = "python -m walks.linkpred " + " ".join(shlex.quote(x) for x in argv_used)
    meta = {"command": command, "dataset": a.dataset, "graph": repr(graph),
            "held_out": len(pos), "machine": platform.platform(), "load": list(__import__("os").getloadavg())}
    out = Path(a.out)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    lines = [f"# Link prediction AUC on {a.dataset} (1/3 of the edges held out, as many non-edges)", "",
             f"Command: `{meta['command']}`  ", f"Graph: {meta['graph']}, side info: {data.side_info}  ",
             f"Machine: {meta['machine']}, load average at the end {meta['load']}", "",
             "| model | AUC | fit s |", "|---|---|---|"]
    lines += [f"| {r['model']} | {r['auc']:.4f} | {r['fit_seconds']:.1f} |" for r in rows]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
