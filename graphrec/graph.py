"""The weighted item graph in CSR form.

Node ``i`` is item index ``i`` of the vocabulary (``1..N``); node 0 is the padding row and has no edges, so
every vector matrix derived from the graph lines up with the vocabulary (row ``i`` = item ``i``).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from graphrec.errors import ArtifactError, ConfigError, DataError
from graphrec.sideinfo import SideInfo
from graphrec.vocab import ItemVocab, ids_to_arrays

__all__ = ["ItemGraph"]

_FORMAT_VERSION = 1


@dataclass
class ItemGraph:
    """A weighted, optionally directed item graph stored as CSR arrays.

    Attributes:
        indptr: ``int64[num_nodes + 1]`` row pointers.
        indices: ``int32[num_edges]`` neighbour node ids, sorted within each row.
        weights: ``float32[num_edges]`` finite, non-negative edge weights.
        vocab: The item vocabulary; ``num_nodes == vocab.size + 1`` (node 0 is padding).
        directed: Whether edge ``i -> j`` may lack its reverse. Undirected graphs store both directions.
        edge_attr: Optional ``float32[num_edges, d]`` edge attributes, named by ``edge_attr_names``.
        side_info: Optional per-item side information.

    Example:
        >>> from graphrec import Sequences, build_item_graph
        >>> g = build_item_graph(Sequences.from_lists([[1, 2, 3]]), window=1, directed=True)
        >>> g.neighbors(1)[0].tolist(), g.transition_probs(2)[1].tolist()
        ([2], [1.0])
    """

    indptr: NDArray[np.int64]
    indices: NDArray[np.int32]
    weights: NDArray[np.float32]
    vocab: ItemVocab
    directed: bool = True
    edge_attr: NDArray[np.float32] | None = None
    edge_attr_names: tuple[str, ...] = ()
    side_info: SideInfo | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.indptr = np.ascontiguousarray(self.indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(self.indices, dtype=np.int32)
        self.weights = np.ascontiguousarray(self.weights, dtype=np.float32)
        if self.edge_attr is not None:
            self.edge_attr = np.ascontiguousarray(self.edge_attr, dtype=np.float32)
        self.validate()

    # ------------------------------------------------------------------ shape and degrees
    @property
    def num_nodes(self) -> int:
        return len(self.indptr) - 1

    @property
    def num_items(self) -> int:
        return self.num_nodes - 1

    @property
    def num_edges(self) -> int:
        """Number of stored (directed) edges; an undirected edge counts twice."""
        return len(self.indices)

    def degree(self) -> NDArray[np.int64]:
        """Out-degree of every node."""
        return np.diff(self.indptr)

    def out_weight(self) -> NDArray[np.float64]:
        """Sum of outgoing edge weights of every node."""
        return np.add.reduceat(np.append(self.weights, 0).astype(np.float64), self.indptr[:-1]) * (self.degree() > 0)

    def neighbors(self, node: int) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """Neighbour ids and edge weights of ``node``."""
        s, e = self.indptr[node], self.indptr[node + 1]
        return self.indices[s:e], self.weights[s:e]

    def transition_probs(self, node: int) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
        """``P(j | node) = w_node,j / sum_k w_node,k`` over the neighbours ``j`` of ``node``."""
        nbr, w = self.neighbors(node)
        total = float(w.sum(dtype=np.float64))
        if total <= 0:
            return nbr, np.zeros(len(nbr))
        return nbr, w.astype(np.float64) / total

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Check the CSR invariants; raise :class:`DataError` naming the first violation."""
        ip, ix, w = self.indptr, self.indices, self.weights
        n = len(ip) - 1
        if n < 1 or ip[0] != 0 or ip[-1] != len(ix) or np.any(np.diff(ip) < 0):
            raise DataError(f"indptr must be non-decreasing from 0 to num_edges={len(ix)}")
        if len(w) != len(ix):
            raise DataError(f"weights has {len(w)} entries for {len(ix)} edges")
        if n != self.vocab.size + 1:
            raise DataError(f"graph has {n} nodes but the vocabulary has {self.vocab.size} items (+1 padding)")
        if ix.size:
            if ix.min() < 1 or ix.max() >= n:
                raise DataError(f"neighbour ids must lie in 1..{n - 1} (got {int(ix.min())}..{int(ix.max())})")
            if ip[1] != 0:
                raise DataError("node 0 is padding and must have no edges")
            row_start = np.zeros(len(ix), dtype=bool)
            row_start[ip[:-1][np.diff(ip) > 0]] = True
            unsorted = (np.diff(ix.astype(np.int64)) <= 0) & ~row_start[1:]
            if unsorted.any():
                raise DataError("neighbour ids must be strictly increasing within each row (sorted, no duplicates)")
        if not np.all(np.isfinite(w)):
            raise DataError("edge weights must be finite (found NaN or inf)")
        if w.size and w.min() < 0:
            raise DataError(f"edge weights must be non-negative (min {float(w.min())})")
        if self.edge_attr is not None:
            if self.edge_attr.ndim != 2 or len(self.edge_attr) != len(ix):
                raise DataError(f"edge_attr must be [num_edges={len(ix)}, d] (got {self.edge_attr.shape})")
            if len(self.edge_attr_names) != self.edge_attr.shape[1]:
                raise DataError("edge_attr_names must name every edge attribute column")
        if self.side_info is not None and self.side_info.num_items != self.num_items:
            raise DataError("side info covers a different number of items than the graph")

    # ------------------------------------------------------------------ interop
    def to_scipy(self) -> sp.csr_matrix:
        """The weighted adjacency as ``scipy.sparse.csr_matrix`` of shape ``[num_nodes, num_nodes]``."""
        return sp.csr_matrix((self.weights, self.indices, self.indptr), shape=(self.num_nodes, self.num_nodes))

    @classmethod
    def from_scipy(cls, matrix: sp.spmatrix, vocab: ItemVocab, directed: bool = True, **kwargs: Any) -> ItemGraph:
        """Build from a square sparse matrix over nodes ``0..N`` (row/column 0 must be empty)."""
        m = sp.csr_matrix(matrix, dtype=np.float32)
        m.sum_duplicates()
        m.eliminate_zeros()
        m.sort_indices()
        return cls(m.indptr.astype(np.int64), m.indices.astype(np.int32), m.data.astype(np.float32), vocab,
                   directed, **kwargs)

    def to_networkx(self) -> Any:
        """A ``networkx.DiGraph`` (or ``Graph`` when undirected) keyed by external item ids, ``weight`` on edges."""
        import networkx as nx

        g = nx.DiGraph() if self.directed else nx.Graph()
        ids = self.vocab.ids
        g.add_nodes_from(ids.tolist())
        src = np.repeat(np.arange(self.num_nodes), self.degree())
        g.add_weighted_edges_from(zip(ids[src - 1].tolist(), ids[self.indices - 1].tolist(),
                                      self.weights.tolist(), strict=True))
        return g

    def to_pyg(self) -> Any:
        """A ``torch_geometric.data.Data`` with ``edge_index`` (source row 0, target row 1), ``edge_weight``
        and ``edge_attr``; ``num_nodes`` includes the padding node 0."""
        import torch
        from torch_geometric.data import Data

        src = np.repeat(np.arange(self.num_nodes, dtype=np.int64), self.degree())
        edge_index = torch.from_numpy(np.stack([src, self.indices.astype(np.int64)]))
        data = Data(edge_index=edge_index, edge_weight=torch.from_numpy(self.weights.copy()),
                    num_nodes=self.num_nodes)
        if self.edge_attr is not None:
            data.edge_attr = torch.from_numpy(self.edge_attr.copy())
        return data

    def symmetrize(self, reduce: str = "sum") -> ItemGraph:
        """Undirected copy: ``w'_ij = w_ij + w_ji`` (``reduce='sum'``) or ``max(w_ij, w_ji)``.

        Edge attributes are dropped (they are direction-specific)."""
        if reduce not in ("sum", "max"):
            raise ConfigError(f"reduce must be 'sum' or 'max' (got {reduce!r})")
        a = self.to_scipy()
        s = a + a.T if reduce == "sum" else a.maximum(a.T)
        return ItemGraph.from_scipy(s, self.vocab, directed=False, side_info=self.side_info, meta=dict(self.meta))

    def reverse(self) -> ItemGraph:
        """The graph with every edge reversed (in-neighbours become out-neighbours)."""
        return ItemGraph.from_scipy(self.to_scipy().T, self.vocab, self.directed, side_info=self.side_info)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write ``graph.npz`` (arrays and vocab, no pickle) to ``path`` (a file name ending in .npz)."""
        path = Path(path)
        arrays: dict[str, np.ndarray] = {
            "version": np.array(_FORMAT_VERSION), "indptr": self.indptr, "indices": self.indices,
            "weights": self.weights, "directed": np.array(self.directed),
            "meta": np.array(json.dumps(self.meta, default=str)),
        }
        keys = {"int_ids": "vocab_int", "bigint_ids": "vocab_bigint", "str_ids": "vocab_str"}
        arrays.update({keys[k]: v for k, v in ids_to_arrays(self.vocab.ids).items()})
        if self.edge_attr is not None:
            arrays["edge_attr"] = self.edge_attr
            arrays["edge_attr_names"] = np.asarray(self.edge_attr_names, dtype=np.str_)
        if self.side_info is not None:
            for i, f in enumerate(self.side_info.fields):
                arrays[f"side{i}_name"] = np.array(f.name)
                arrays[f"side{i}_offsets"] = f.offsets
                arrays[f"side{i}_values"] = f.values
                arrays[f"side{i}_names"] = f.names
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        return path

    @classmethod
    def load(cls, path: str | Path) -> ItemGraph:
        """Load a graph written by :meth:`save`; a directory is read as ``DIR/graph.npz``."""
        from graphrec.sideinfo import SideField

        path = Path(path)
        if path.is_dir():
            path = path / "graph.npz"
        if not path.exists():
            raise ArtifactError(f"no graph file at {path}")
        try:
            with np.load(path, allow_pickle=False) as z:
                version = int(z["version"])
                if version != _FORMAT_VERSION:
                    raise ArtifactError(f"{path}: graph format version {version}, expected {_FORMAT_VERSION}")
                if "vocab_int" in z.files:
                    vocab = ItemVocab(z["vocab_int"])
                elif "vocab_bigint" in z.files:
                    vocab = ItemVocab(np.asarray([int(x) for x in z["vocab_bigint"].tolist()], dtype=object))
                else:
                    vocab = ItemVocab(z["vocab_str"].astype(object))
                side = []
                i = 0
                while f"side{i}_name" in z.files:
                    side.append(SideField(str(z[f"side{i}_name"]), z[f"side{i}_offsets"], z[f"side{i}_values"],
                                          z[f"side{i}_names"]))
                    i += 1
                return cls(z["indptr"], z["indices"], z["weights"], vocab, bool(z["directed"]),
                           z["edge_attr"] if "edge_attr" in z.files else None,
                           tuple(z["edge_attr_names"].tolist()) if "edge_attr_names" in z.files else (),
                           SideInfo(side, vocab.size) if side else None, json.loads(str(z["meta"])))
        except ArtifactError:
            raise
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ArtifactError(f"cannot read graph {path}: {type(exc).__name__}: {exc}") from exc

    def summary(self) -> dict[str, Any]:
        """Numbers for `graphrec graph inspect`."""
        deg = self.degree()[1:]
        w = self.weights
        return {
            "nodes": self.num_items, "edges": self.num_edges, "directed": self.directed,
            "isolated_nodes": int((deg == 0).sum()),
            "degree_mean": float(deg.mean()) if deg.size else 0.0,
            "degree_max": int(deg.max()) if deg.size else 0,
            "degree_p50": float(np.percentile(deg, 50)) if deg.size else 0.0,
            "degree_p99": float(np.percentile(deg, 99)) if deg.size else 0.0,
            "weight_min": float(w.min()) if w.size else 0.0, "weight_max": float(w.max()) if w.size else 0.0,
            "weight_mean": float(w.mean()) if w.size else 0.0,
            "edge_attr": list(self.edge_attr_names),
            "side_info": [] if self.side_info is None else self.side_info.field_names,
        }

    def __repr__(self) -> str:
        return (f"ItemGraph(nodes={self.num_items}, edges={self.num_edges}, directed={self.directed}, "
                f"edge_attr={list(self.edge_attr_names)})")
