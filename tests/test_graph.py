"""ItemGraph: CSR invariants, degrees and transition probabilities, persistence, and scipy/networkx/PyG interop."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from graphrec.errors import ArtifactError, DataError
from graphrec.graph import ItemGraph
from graphrec.sideinfo import SideInfo
from graphrec.vocab import ItemVocab

# 4 items, directed: 1->2 (2), 1->3 (1), 2->3 (4), 3->1 (0.5), 4 isolated
EDGES = [(1, 2, 2.0), (1, 3, 1.0), (2, 3, 4.0), (3, 1, 0.5)]


@pytest.fixture
def g(edges_graph) -> ItemGraph:  # noqa: ANN001
    return edges_graph(4, EDGES, directed=True)


def test_csr_layout_degrees_and_weights(g: ItemGraph) -> None:
    assert g.num_nodes == 5 and g.num_items == 4 and g.num_edges == 4
    assert g.indptr.dtype == np.int64 and g.indices.dtype == np.int32 and g.weights.dtype == np.float32
    assert g.indptr.tolist() == [0, 0, 2, 3, 4, 4]
    assert g.indices.tolist() == [2, 3, 3, 1]
    assert g.degree().tolist() == [0, 2, 1, 1, 0]
    assert g.out_weight().tolist() == [0.0, 3.0, 4.0, 0.5, 0.0]
    nbr, w = g.neighbors(1)
    assert nbr.tolist() == [2, 3] and w.tolist() == [2.0, 1.0]


def test_transition_probabilities(g: ItemGraph) -> None:
    nbr, p = g.transition_probs(1)
    assert nbr.tolist() == [2, 3]
    np.testing.assert_allclose(p, [2 / 3, 1 / 3])
    assert g.transition_probs(2)[1].tolist() == [1.0]
    nbr, p = g.transition_probs(4)  # isolated: no neighbours, no probabilities
    assert nbr.size == 0 and p.size == 0


def _raw(g: ItemGraph, **changes):  # noqa: ANN003, ANN202
    kw = {"indptr": g.indptr.copy(), "indices": g.indices.copy(), "weights": g.weights.copy(), "vocab": g.vocab}
    kw.update(changes)
    return ItemGraph(**kw)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"indices": np.array([3, 2, 3, 1])}, "strictly increasing"),
        ({"indices": np.array([2, 2, 3, 1]), "indptr": np.array([0, 0, 2, 3, 4, 4])}, "strictly increasing"),
        ({"indices": np.array([2, 5, 3, 1])}, r"neighbour ids must lie in 1..4 \(got 1..5\)"),
        ({"indices": np.array([0, 3, 3, 1])}, r"must lie in 1..4 \(got 0..3\)"),
        ({"weights": np.array([2.0, np.nan, 4.0, 0.5])}, "finite"),
        ({"weights": np.array([2.0, np.inf, 4.0, 0.5])}, "finite"),
        ({"weights": np.array([2.0, -1.0, 4.0, 0.5])}, r"non-negative \(min -1.0\)"),
        ({"weights": np.array([2.0, 1.0, 4.0])}, "weights has 3 entries for 4 edges"),
        ({"indptr": np.array([0, 0, 2, 1, 4, 4])}, "non-decreasing"),
        ({"indptr": np.array([0, 0, 2, 3, 4, 5])}, "non-decreasing from 0 to num_edges=4"),
        ({"indptr": np.array([0, 1, 2, 3, 4, 4])}, "node 0 is padding"),
        ({"vocab": ItemVocab([1, 2, 3])}, "graph has 5 nodes but the vocabulary has 3 items"),
    ],
)
def test_validate_rejects_broken_csr(g: ItemGraph, change: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        _raw(g, **change)


def test_validate_accepts_unsorted_only_across_rows(g: ItemGraph) -> None:
    # 3 then 1 at a row boundary (row 2 ends with 3, row 3 starts with 1) is fine
    _raw(g).validate()


def test_edge_attr_shape_is_checked(g: ItemGraph) -> None:
    with pytest.raises(DataError, match="edge_attr must be"):
        _raw(g, edge_attr=np.zeros((3, 2)), edge_attr_names=("a", "b"))
    with pytest.raises(DataError, match="edge_attr_names"):
        _raw(g, edge_attr=np.zeros((4, 2)), edge_attr_names=("a",))


def test_from_scipy_sums_duplicates_drops_zeros_and_sorts() -> None:
    m = sp.coo_matrix(([1.0, 2.0, 0.0, 5.0], ([1, 1, 2, 2], [3, 3, 1, 2])), shape=(4, 4))
    g = ItemGraph.from_scipy(m, ItemVocab(["a", "b", "c"]))
    assert g.indices.tolist() == [3, 2]
    assert g.weights.tolist() == [3.0, 5.0]


def test_save_load_round_trip(tmp_path, g: ItemGraph) -> None:
    g.edge_attr = np.arange(8, dtype=np.float32).reshape(4, 2)
    g.edge_attr_names = ("a", "b")
    side = SideInfo.from_frame(
        __import__("pandas").DataFrame({"item": [1, 2, 3, 4], "genre": ["x|y", "y", "", "z"]}), g.vocab, sep="|"
    )
    g.side_info = side
    g.meta = {"window": 3, "note": "é"}
    path = g.save(tmp_path / "graph.npz")
    h = ItemGraph.load(path)
    for name in ("indptr", "indices", "weights", "edge_attr"):
        np.testing.assert_array_equal(getattr(h, name), getattr(g, name))
        assert getattr(h, name).dtype == getattr(g, name).dtype
    assert h.vocab == g.vocab and h.directed == g.directed and h.edge_attr_names == ("a", "b")
    assert h.meta == g.meta
    assert h.side_info is not None and h.side_info.field_names == ["genre"]
    np.testing.assert_array_equal(h.side_info["genre"].offsets, side["genre"].offsets)
    assert h.side_info["genre"].names.tolist() == ["x", "y", "z"]
    # a directory is read as DIR/graph.npz
    assert ItemGraph.load(tmp_path).num_edges == g.num_edges
    with np.load(path, allow_pickle=False) as z:  # nothing pickled
        assert all(z[k].dtype != object for k in z.files)


@pytest.mark.parametrize(
    "ids",
    [["a", "b", "c", "d"], [2**63 - 1, -(2**63), 5, 6], np.array([2**64 - 1, 2**63, 1, 2], dtype=np.uint64)],
    ids=["str", "int64", "uint64"],
)
def test_save_load_keeps_vocab_ids(tmp_path, ids) -> None:  # noqa: ANN001
    m = sp.coo_matrix(([1.0, 2.0], ([1, 2], [2, 4])), shape=(5, 5))
    g = ItemGraph.from_scipy(m, ItemVocab(ids), directed=True)
    h = ItemGraph.load(g.save(tmp_path / "g.npz"))
    assert h.vocab == g.vocab and h.vocab.ids.dtype == g.vocab.ids.dtype
    assert [type(x) for x in h.vocab.ids.tolist()] == [type(x) for x in g.vocab.ids.tolist()]
    assert h.vocab.encode([ids[1]]).tolist() == [2]


def test_truncated_and_missing_files_raise_artifact_error(tmp_path, g: ItemGraph) -> None:
    data = g.save(tmp_path / "graph.npz").read_bytes()
    for n, cut in enumerate((len(data) // 2, 40, len(data) - 10)):
        (tmp_path / f"cut{n}.npz").write_bytes(data[:cut])
        with pytest.raises(ArtifactError, match=f"cut{n}.npz"):
            ItemGraph.load(tmp_path / f"cut{n}.npz")
    with pytest.raises(ArtifactError, match="no graph file"):
        ItemGraph.load(tmp_path / "absent.npz")
    np.savez(tmp_path / "other.npz", x=np.arange(3))
    with pytest.raises(ArtifactError, match="other.npz"):
        ItemGraph.load(tmp_path / "other.npz")


def test_load_rejects_other_format_versions(tmp_path, g: ItemGraph) -> None:
    path = g.save(tmp_path / "graph.npz")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["version"] = np.array(99)
    np.savez(tmp_path / "v99.npz", **arrays)
    with pytest.raises(ArtifactError, match="version 99"):
        ItemGraph.load(tmp_path / "v99.npz")


def test_load_revalidates_tampered_arrays(tmp_path, g: ItemGraph) -> None:
    path = g.save(tmp_path / "graph.npz")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["weights"] = np.array([1.0, -2.0, 1.0, 1.0], dtype=np.float32)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ArtifactError, match="bad.npz.*non-negative"):
        ItemGraph.load(tmp_path / "bad.npz")


def test_interop_scipy_networkx_pyg_agree(edges_graph) -> None:  # noqa: ANN001
    rng = np.random.default_rng(3)
    edges = [(int(a), int(b), float(w)) for a, b, w in zip(rng.integers(1, 30, 120), rng.integers(1, 30, 120),
                                                            rng.uniform(0.1, 3, 120), strict=True) if a != b]
    for directed in (True, False):
        g = edges_graph(30, edges, directed=directed)
        a = g.to_scipy()
        assert a.shape == (31, 31)
        nxg = g.to_networkx()
        assert isinstance(nxg, nx.DiGraph if directed else nx.Graph) and nxg.is_directed() == directed
        assert nxg.number_of_nodes() == 30  # padding node 0 is not an item
        data = g.to_pyg()
        assert data.num_nodes == 31
        ei = data.edge_index.numpy()
        ew = data.edge_weight.numpy()
        assert ei.shape == (2, g.num_edges)
        pyg = sp.csr_matrix((ew, (ei[0], ei[1])), shape=(31, 31))
        assert (abs(pyg - a) > 1e-6).nnz == 0
        dense = a.toarray()
        for u, v, w in nxg.edges(data="weight"):
            assert dense[u, v] == pytest.approx(w)
            if not directed:
                assert dense[v, u] == pytest.approx(w)
        assert nxg.number_of_edges() == (g.num_edges if directed else g.num_edges // 2)
        deg = dict(nxg.out_degree() if directed else nxg.degree())
        assert [deg[i] for i in range(1, 31)] == g.degree()[1:].tolist()


def test_to_networkx_uses_external_ids() -> None:
    g = ItemGraph.from_scipy(sp.coo_matrix(([1.5], ([1], [2])), shape=(3, 3)), ItemVocab(["x", "y"]))
    assert list(g.to_networkx().edges(data="weight")) == [("x", "y", 1.5)]


def test_to_pyg_carries_edge_attr(g: ItemGraph) -> None:
    g.edge_attr = np.arange(8, dtype=np.float32).reshape(4, 2)
    g.edge_attr_names = ("a", "b")
    data = g.to_pyg()
    np.testing.assert_array_equal(data.edge_attr.numpy(), g.edge_attr)
    assert data.edge_index[:, 3].tolist() == [3, 1]


def test_symmetrize_and_reverse(g: ItemGraph) -> None:
    s = g.symmetrize()
    assert not s.directed
    d = s.to_scipy().toarray()
    np.testing.assert_array_equal(d, d.T)
    assert d[1, 3] == 1.5 and d[1, 2] == 2.0 and d[2, 3] == 4.0
    m = g.symmetrize("max").to_scipy().toarray()
    assert m[1, 3] == 1.0 and m[3, 1] == 1.0
    r = g.reverse()
    np.testing.assert_array_equal(r.to_scipy().toarray(), g.to_scipy().toarray().T)


def test_summary(g: ItemGraph) -> None:
    s = g.summary()
    assert s["nodes"] == 4 and s["edges"] == 4 and s["isolated_nodes"] == 1
    assert s["degree_max"] == 2 and s["degree_mean"] == 1.0
    assert s["weight_min"] == 0.5 and s["weight_max"] == 4.0
