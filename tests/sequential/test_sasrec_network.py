"""Causality, padding invariance, and the user/item vector contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sasrec_fast import FAST

from graphrec import Sequences
from graphrec.errors import ConfigError
from sequential.network import IdEmbedding, SASRecNet
from sequential.sasrec import SASRec

READOUTS = ["hidden", "items", "both"]


def _net(max_len: int = 12, readout: str = "hidden") -> SASRecNet:
    torch.manual_seed(0)
    net = SASRecNet(IdEmbedding(30, 16), 30, 16, max_len, num_blocks=2, num_heads=2, dropout=0.3,
                    cosine_scale=8.0 if readout != "hidden" else 0.0, readout=readout)
    return net.eval()


@pytest.mark.parametrize("readout", READOUTS)
def test_future_positions_never_change_earlier_outputs(readout: str) -> None:
    net = _net(readout=readout)
    ids = torch.tensor([[0, 0, 3, 5, 7, 9, 11, 2, 4, 6, 8, 10]])
    changed = ids.clone()
    changed[0, 8:] = torch.tensor([29, 28, 27, 26])
    with torch.no_grad():
        a, b = net(ids), net(changed)
    torch.testing.assert_close(a[0, :8], b[0, :8], rtol=0, atol=1e-6)
    assert not torch.allclose(a[0, 8:], b[0, 8:])


@pytest.mark.parametrize("readout", READOUTS)
def test_left_padding_does_not_change_outputs(readout: str) -> None:
    net = _net(readout=readout)
    short = torch.tensor([[3, 5, 7, 9]])
    padded = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 7, 9]])
    with torch.no_grad():
        a, b = net(short), net(padded)
    torch.testing.assert_close(a[0], b[0, -4:], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("readout", READOUTS)
def test_last_hidden_matches_the_full_forward_for_mixed_lengths_and_both_position_layouts(readout: str) -> None:
    # last_hidden sorts rows by length, trims each chunk and runs only the newest query in the last block
    rng = np.random.default_rng(0)
    rows = [rng.integers(1, 30, size=n).tolist() for n in (12, 1, 7, 3, 12, 5, 9, 2, 11, 4)] + [[]]
    ids = torch.from_numpy(Sequences.from_lists(rows, num_items=29).to_padded(12))
    for positions in ("from_start", "from_end"):
        torch.manual_seed(0)
        net = SASRecNet(IdEmbedding(30, 16), 30, 16, 12, num_blocks=2, num_heads=2, dropout=0.3,
                        positions=positions, cosine_scale=8.0 if readout != "hidden" else 0.0,
                        readout=readout).eval()
        with torch.no_grad():
            full = net(ids)[:, -1]
            for chunk in (1, 3, 128):
                torch.testing.assert_close(net.last_hidden(ids, chunk=chunk), full, rtol=1e-5, atol=1e-5)
            assert net.forward(ids, last_only=True).shape == (len(rows), 1, 16)


@pytest.mark.parametrize("cosine_scale", [0.0, 8.0])
def test_scores_of_a_history_do_not_depend_on_its_batch(small_split, cosine_scale: float) -> None:  # noqa: ANN001
    model = SASRec(**{**FAST, "epochs": 1, "cosine_scale": cosine_scale}).fit(small_split)
    h = small_split.test.histories.take(np.arange(8))
    together = model.score(h)
    alone = np.concatenate([model.score(h.take([i])) for i in range(8)])
    np.testing.assert_allclose(together[:, 1:], alone[:, 1:], rtol=1e-4, atol=1e-4)
    # the user vector dotted with the item table is the score, up to the sparse extras (the transition prior)
    users, items = model.user_embeddings(h), model.item_embeddings()
    rows, cols, values = model.score_extras(h)
    assert len(rows) > 0
    dense = np.zeros_like(together)
    np.add.at(dense, (rows, cols), values)
    np.testing.assert_allclose(users @ items.vectors[1:].T + dense[:, 1:], together[:, 1:], rtol=1e-4, atol=1e-4)
    assert items.vectors.shape == (small_split.num_items + 1, FAST["embedding_dim"])
    assert np.all(items.vectors[0] == 0)
    if cosine_scale:  # scores are the scaled cosine of the last hidden state and the item embedding
        norms = np.linalg.norm(items.vectors[1:], axis=1)
        np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(users, axis=1), cosine_scale, rtol=1e-5)
        assert (together - dense)[:, 1:].max() <= cosine_scale + 1e-4  # the dot-product part


def test_empty_history_gets_finite_scores(small_split) -> None:  # noqa: ANN001
    model = SASRec(**{**FAST, "epochs": 1}).fit(small_split)
    s = model.score(Sequences.from_lists([[], [1, 2]], num_items=small_split.num_items))
    assert np.isfinite(s[:, 1:]).all()


def test_fast_dropout_keeps_the_expected_share_and_the_mean() -> None:
    from sequential.network import fast_dropout

    x = torch.ones(400_000)
    torch.manual_seed(0)
    y = fast_dropout(x, 0.3)
    kept = float((y > 0).float().mean())
    # binomial standard error at n = 4e5 is 7e-4: a 5-sigma band
    assert abs(kept - 0.7) < 4e-3
    assert abs(float(y.mean()) - 1.0) < 6e-3
    assert torch.equal(y.unique(), torch.tensor([0.0, 65536 / (65536 - round(0.3 * 65536))]))
    torch.manual_seed(0)
    assert torch.equal(fast_dropout(x, 0.3), y)  # reproducible under torch.manual_seed
    assert fast_dropout(x, 0.3, training=False) is x
    assert float(fast_dropout(x, 1.0).abs().sum()) == 0.0
    # the masks of neighbouring elements are independent: pairs (2i, 2i+1) are both kept ~0.49 of the time
    both = float(((y[0::2] > 0) & (y[1::2] > 0)).float().mean())
    assert abs(both - 0.49) < 6e-3


def test_length_bucketed_batches_cover_every_row_once_with_less_padding() -> None:
    from sequential.trainer import epoch_batches

    lengths = np.random.default_rng(0).integers(2, 200, size=1000)
    plain = epoch_batches(lengths, 16, 1, seed=5)
    bucketed = epoch_batches(lengths, 16, 8, seed=5)
    for batches in (plain, bucketed):
        rows = np.concatenate(batches)
        assert np.array_equal(np.sort(rows), np.arange(1000))
    assert [b.tolist() for b in epoch_batches(lengths, 16, 8, seed=5)] == [b.tolist() for b in bucketed]
    assert [b.tolist() for b in epoch_batches(lengths, 16, 8, seed=6)] != [b.tolist() for b in bucketed]

    def padded(batches: list) -> int:
        return sum(len(b) * int(lengths[b].max()) for b in batches)

    assert padded(bucketed) < 0.75 * padded(plain)


def test_items_readout_is_a_convex_mix_of_the_history_item_vectors() -> None:
    net = _net(readout="items")
    with torch.no_grad():
        table = net.table()
        out = net(torch.tensor([[0, 0, 7, 3]]))[0]
    torch.testing.assert_close(out[2], table[7])  # one item so far: its own vector
    basis = torch.stack([table[7], table[3]], dim=1)  # [d, 2]
    coef = torch.linalg.lstsq(basis, out[3:4].T).solution[:, 0]
    torch.testing.assert_close(basis @ coef, out[3], rtol=1e-5, atol=1e-6)
    assert torch.all(coef > 0) and float(coef.sum()) == pytest.approx(1.0, abs=1e-5)
    assert torch.all(out[:2] == 0)  # padding positions
    with pytest.raises(ConfigError, match="readout='items' needs cosine_scale > 0"):
        SASRec(readout="items")
