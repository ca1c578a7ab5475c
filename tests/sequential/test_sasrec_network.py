"""Causality, padding invariance, and the user/item vector contract."""

from __future__ import annotations

import numpy as np
import torch
from conftest import FAST

from graphrec import Sequences
from sequential.network import IdEmbedding, SASRecNet
from sequential.sasrec import SASRec


def _net(max_len: int = 12) -> SASRecNet:
    torch.manual_seed(0)
    net = SASRecNet(IdEmbedding(30, 16), 30, 16, max_len, num_blocks=2, num_heads=2, dropout=0.3)
    return net.eval()


def test_future_positions_never_change_earlier_outputs() -> None:
    net = _net()
    ids = torch.tensor([[0, 0, 3, 5, 7, 9, 11, 2, 4, 6, 8, 10]])
    changed = ids.clone()
    changed[0, 8:] = torch.tensor([29, 28, 27, 26])
    with torch.no_grad():
        a, b = net(ids), net(changed)
    torch.testing.assert_close(a[0, :8], b[0, :8], rtol=0, atol=1e-6)
    assert not torch.allclose(a[0, 8:], b[0, 8:])


def test_left_padding_does_not_change_outputs() -> None:
    net = _net()
    short = torch.tensor([[3, 5, 7, 9]])
    padded = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 7, 9]])
    with torch.no_grad():
        a, b = net(short), net(padded)
    torch.testing.assert_close(a[0], b[0, -4:], rtol=1e-5, atol=1e-5)


def test_scores_of_a_history_do_not_depend_on_its_batch(small_split) -> None:  # noqa: ANN001
    model = SASRec(**{**FAST, "epochs": 1}).fit(small_split)
    h = small_split.test.histories.take(np.arange(8))
    together = model.score(h)
    alone = np.concatenate([model.score(h.take([i])) for i in range(8)])
    np.testing.assert_allclose(together[:, 1:], alone[:, 1:], rtol=1e-4, atol=1e-4)
    # the user vector dotted with the item table is the score
    users, items = model.user_embeddings(h), model.item_embeddings()
    np.testing.assert_allclose(users @ items.vectors[1:].T, together[:, 1:], rtol=1e-4, atol=1e-4)
    assert items.vectors.shape == (small_split.num_items + 1, FAST["embedding_dim"])
    assert np.all(items.vectors[0] == 0)


def test_empty_history_gets_finite_scores(small_split) -> None:  # noqa: ANN001
    model = SASRec(**{**FAST, "epochs": 1}).fit(small_split)
    s = model.score(Sequences.from_lists([[], [1, 2]], num_items=small_split.num_items))
    assert np.isfinite(s[:, 1:]).all()
