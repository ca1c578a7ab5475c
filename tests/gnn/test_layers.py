"""Permutation equivariance of the layers and the edge encoder; the inductive feature path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gnn.encoders import GlobalGraphEncoder, edge_features
from gnn.features import ItemFeatures
from gnn.layers import AGGREGATORS, DisentangledEdgeConv, PinSAGEConv, sage_conv
from graphrec import ItemVocab
from graphrec.graph import ItemGraph
from graphrec.sideinfo import SideInfo


def _random_edges(n: int, m: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    src, dst = torch.randint(0, n, (m,), generator=g), torch.randint(0, n, (m,), generator=g)
    order = torch.argsort(dst * n + src)  # sorted by target for the LSTM aggregator
    return torch.stack([src[order], dst[order]])


def _permute(edge_index: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    inv = torch.argsort(perm)  # new id of old node i is inv[i]
    e = inv[edge_index]
    order = torch.argsort(e[1] * (len(perm) + 1) + e[0])
    return e[:, order], order


@pytest.mark.parametrize("aggregator", [a for a in AGGREGATORS if a != "lstm"])
def test_sage_layers_are_permutation_equivariant(aggregator):
    torch.manual_seed(0)
    n, d = 30, 8
    x, ei = torch.randn(n, d), _random_edges(n, 120)
    conv = sage_conv(d, 6, aggregator)
    if aggregator == "gcn":
        ei = torch.cat([ei, torch.arange(n).repeat(2, 1)], dim=1)
    perm = torch.randperm(n)
    out = conv(x, ei)
    pei, _ = _permute(ei, perm)
    torch.testing.assert_close(conv(x[perm], pei), out[perm], rtol=1e-5, atol=1e-5)


def test_lstm_aggregator_runs_on_target_sorted_blocks():
    conv = sage_conv(8, 8, "lstm")
    out = conv(torch.randn(30, 8), _random_edges(30, 100))
    assert out.shape == (30, 8) and torch.isfinite(out).all()


def test_pinsage_and_disentangled_layers_are_permutation_equivariant():
    torch.manual_seed(1)
    n, d = 25, 16
    x, ei = torch.randn(n, d), _random_edges(n, 90)
    w, a = torch.rand(ei.shape[1]), torch.randn(ei.shape[1], 3)
    perm = torch.randperm(n)
    pei, order = _permute(ei, perm)
    pin = PinSAGEConv(d, 12)
    torch.testing.assert_close(pin((x[perm], x[perm]), pei, w[order]), pin((x, x), ei, w)[perm], rtol=1e-5,
                               atol=1e-5)
    dis = DisentangledEdgeConv(d, 4, 3, routing_iters=2)
    torch.testing.assert_close(dis(x[perm], pei, a[order]), dis(x, ei, a)[perm], rtol=1e-5, atol=1e-5)


def _tiny_graph() -> ItemGraph:
    import pandas as pd

    vocab = ItemVocab(np.arange(1, 7))
    rows = {1: [2, 3], 2: [1, 3], 3: [1, 2, 4], 4: [3, 5], 5: [4]}
    indptr, indices = [0, 0], []
    for v in range(1, 7):
        indices += rows.get(v, [])
        indptr.append(len(indices))
    m = len(indices)
    side = SideInfo.from_frame(pd.DataFrame({"item": [1, 2, 3, 4, 5, 6], "cat": list("aabbba")}), vocab)
    rng = np.random.default_rng(0)
    return ItemGraph(np.array(indptr), np.array(indices), rng.uniform(1, 5, m).astype(np.float32), vocab, False,
                     rng.normal(size=(m, 2)).astype(np.float32), ("a", "b"), side)


def test_encoder_uses_edge_attributes_and_keeps_padding_zero():
    g = _tiny_graph()
    torch.manual_seed(0)
    enc = GlobalGraphEncoder(g, dim=8, num_channels=2)
    out = enc()
    assert out.shape == (7, 8) and (out[0] == 0).all() and torch.isfinite(out).all()
    enc.edge_attr.zero_()  # same weights, attributes zeroed: the vectors must change
    assert not torch.allclose(enc(), out)
    feats, names = edge_features(g)
    assert names == ("log_weight", "a", "b") and np.allclose(feats.mean(axis=0), 0, atol=1e-6)


@pytest.mark.parametrize("variant", ["disentangled", "transformer"])
def test_every_edge_attribute_reaches_its_message(variant):
    """d(output) / d(edge_attr) is non-zero for every edge, and perturbing the attributes of one edge ``j -> i``
    of a one-layer encoder moves the vector of ``i`` and of no other item."""
    g = _tiny_graph()
    torch.manual_seed(1)
    enc = GlobalGraphEncoder(g, dim=8, num_layers=1, num_channels=2, variant=variant)
    enc.edge_attr.requires_grad_(True)
    enc().pow(2).sum().backward()
    assert (enc.edge_attr.grad.abs().sum(dim=1) > 0).all(), "some edge's attributes do not reach the output"
    with torch.no_grad():
        enc.edge_attr.requires_grad_(False)
        base = enc()
        for e in range(len(g.indices)):
            target = int(enc.edge_index[1, e])
            enc.edge_attr[e] += 1.0
            moved = (enc() - base).abs().sum(dim=1) > 1e-6
            enc.edge_attr[e] -= 1.0
            assert moved.nonzero().ravel().tolist() == [target], f"edge {e}: moved {moved.nonzero().ravel()}"


@pytest.mark.parametrize("variant", ["disentangled", "transformer"])
def test_encoder_gradients_flow(variant):
    enc = GlobalGraphEncoder(_tiny_graph(), dim=8, num_channels=2, variant=variant)
    enc().pow(2).sum().backward()
    assert all(p.grad is not None for p in enc.parameters() if p.requires_grad)


def test_unknown_item_with_side_info_gets_a_vector():
    g = _tiny_graph()
    known = np.array([False, True, True, True, True, True, False])  # item 6: cold, no edges, has side info
    feats = ItemFeatures(g.num_nodes, 8, g.side_info, known)
    x = feats()
    assert torch.isfinite(x).all() and x[6].abs().sum() > 0 and (x[0] == 0).all()
    torch.testing.assert_close(x[6], feats.bags[0](torch.tensor([1]), torch.tensor([0]))[0])  # side info only
    enc = GlobalGraphEncoder(g, dim=8, num_channels=2, known=known)
    v = enc()[6]
    assert torch.isfinite(v).all() and v.abs().sum() > 0
