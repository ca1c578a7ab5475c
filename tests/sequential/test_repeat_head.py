"""The learned repeat bias: exact sparse terms, the same bias in training and in ``score``, and it learns repeats."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import FAST

from graphrec.errors import ConfigError
from graphrec.evaluate import evaluate
from graphrec.sequences import Sequences
from graphrec.split import session_split
from graphrec.vocab import ItemVocab
from sequential.losses import full_softmax_loss, sampled_softmax_loss
from sequential.repeat import MAX_COUNT, RepeatBias, RepeatHead, prefix_stats
from sequential.sasrec import SASRec


def _head(dim: int, max_len: int, seed: int = 0) -> RepeatHead:
    head = RepeatHead(dim, max_len)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in head.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return head


def _reference(head: RepeatHead, row: list[int], t: int, item: int, gate: float) -> float:
    """The bias by its definition: 0 unless ``item`` is in ``row[:t + 1]``."""
    prefix = [x for x in row[: t + 1]]
    if item == 0 or item not in prefix:
        return 0.0
    latest = max(s for s, x in enumerate(prefix) if x == item)
    lag = min(t - latest, len(head.lag_bias) - 1)
    count = min(prefix.count(item), MAX_COUNT)
    return gate + float(head.lag_bias[lag].detach()) + float(head.count_bias[count - 1].detach())


def _rows() -> torch.Tensor:
    # left-padded rows with repeats, a triple occurrence, and a lag beyond the lag table (max_len 4 below)
    return torch.tensor([[0, 0, 3, 5, 3, 7],
                         [2, 2, 2, 2, 9, 2],
                         [0, 0, 0, 0, 0, 4],
                         [6, 1, 8, 1, 1, 1]])


def test_prefix_stats_by_hand() -> None:
    inputs = torch.tensor([[0, 3, 5, 3]])
    cand = torch.tensor([[[3], [3], [3], [5]]])  # item 3 at every query position, item 5 at the last
    lag, count = prefix_stats(inputs, cand)
    assert count[0, :, 0].tolist() == [0, 1, 1, 1]
    assert lag[0, :, 0].tolist() == [0, 0, 1, 1]  # t=3 asks for 5: latest at s=2, lag 1
    lag, count = prefix_stats(inputs, torch.tensor([[[0], [0], [3], [3]]]))
    assert count[0, :, 0].tolist() == [0, 0, 1, 2]
    assert lag[0, :, 0].tolist() == [0, 0, 1, 0]


def test_candidate_bias_equals_its_definition() -> None:
    inputs = _rows()
    head = _head(8, 4)
    gate = torch.randn(inputs.shape, generator=torch.Generator().manual_seed(1))
    valid = inputs > 0
    rows = torch.full(inputs.shape, -1)
    rows[valid] = torch.arange(int(valid.sum()))
    cand = torch.tensor([3, 2, 1, 11, 7, 2, 4])  # a duplicate candidate and one absent from every row
    r, c, b = head.candidate_bias(inputs, cand, gate, rows)
    got = torch.zeros(int(valid.sum()), len(cand))
    got[r, c] = b
    assert len(set(zip(r.tolist(), c.tolist(), strict=True))) == len(r)  # each pair once
    want = torch.zeros_like(got)
    for bi, row in enumerate(inputs.tolist()):
        for t in range(len(row)):
            if row[t] == 0:
                continue
            for k, item in enumerate(cand.tolist()):
                want[rows[bi, t], k] = _reference(head, row, t, item, float(gate[bi, t]))
    torch.testing.assert_close(got.detach(), want, atol=1e-6, rtol=0)
    assert (got != 0).sum() > 10


def test_target_bias_equals_its_definition() -> None:
    inputs = _rows()
    targets = torch.tensor([[0, 0, 5, 3, 7, 3],
                            [2, 2, 2, 9, 2, 2],
                            [0, 0, 0, 0, 0, 4],
                            [1, 8, 1, 1, 1, 6]])[..., None]
    head = _head(8, 4, seed=2)
    gate = torch.randn(inputs.shape, generator=torch.Generator().manual_seed(3))
    got = head.target_bias(inputs, targets, gate)[..., 0]
    for bi, row in enumerate(inputs.tolist()):
        for t in range(len(row)):
            want = _reference(head, row, t, int(targets[bi, t, 0]), float(gate[bi, t])) if row[t] else 0.0
            assert math.isclose(float(got[bi, t]), want, abs_tol=1e-6), (bi, t)


def test_history_bias_is_the_last_positions_bias() -> None:
    inputs = _rows()
    head = _head(8, 4, seed=4)
    gate = torch.randn(inputs.shape[0], generator=torch.Generator().manual_seed(5))
    r, items, b = head.history_bias(inputs, gate)
    got = {(int(x), int(i)): float(v) for x, i, v in zip(r, items, b, strict=True)}
    want = {}
    for bi, row in enumerate(inputs.tolist()):
        for item in set(row) - {0}:
            want[(bi, item)] = _reference(head, row, len(row) - 1, item, float(gate[bi]))
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert math.isclose(got[key], value, abs_tol=1e-6), key


def test_sampled_softmax_with_every_item_equals_full_softmax_with_the_dense_bias() -> None:
    """Training sees exactly the bias ``score`` adds: with all items as candidates and no correction the sampled
    loss is the full softmax over scores + the dense reference bias."""
    inputs = _rows()
    b, l = inputs.shape
    n_items, dim = 12, 8
    g = torch.Generator().manual_seed(6)
    table = torch.randn(n_items + 1, dim, generator=g)
    hidden = torch.randn(b, l, dim, generator=g)
    targets = torch.randint(1, n_items + 1, (b, l, 1), generator=g) * (inputs > 0)[..., None]
    targets[1, 2, 0] = 2
    targets[3, 4, 0] = 1  # repeats among the targets
    head = _head(dim, 4, seed=7)
    gate = head.gates(hidden)
    valid = inputs > 0
    rep = RepeatBias(head, inputs, targets, gate, valid, hidden, table)
    cand = torch.arange(1, n_items + 1)
    loss, n = sampled_softmax_loss(hidden[valid], targets[valid], table, cand, None, rep)
    dense = torch.zeros(b, l, n_items + 1)
    for bi, row in enumerate(inputs.tolist()):
        for t in range(l):
            if row[t]:
                for item in range(1, n_items + 1):
                    dense[bi, t, item] = _reference(head, row, t, item, float(gate[bi, t]))
    logits = (hidden @ table.T + dense)[valid][:, 1:]
    want = torch.nn.functional.cross_entropy(logits, targets[valid][:, 0] - 1, reduction="sum")
    assert n == int(valid.sum())
    torch.testing.assert_close(loss, want, atol=1e-4, rtol=1e-5)
    # sampled candidates stand for 1 / (K q) items each (the log-Q shift); prefix items still enter exactly once,
    # unshifted, with their bias, and the positive is never shifted
    shift = torch.rand(n_items, generator=g) * 3.0
    shifted, _ = sampled_softmax_loss(hidden[valid], targets[valid], table, cand, shift, rep)
    in_prefix = dense[valid][:, 1:] != 0
    tgt = targets[valid][:, 0] - 1
    logits_s = (hidden @ table.T)[valid][:, 1:] - shift
    logits_s = torch.where(in_prefix, logits[:, :], logits_s)
    logits_s[torch.arange(len(tgt)), tgt] = logits[torch.arange(len(tgt)), tgt]
    want_s = torch.nn.functional.cross_entropy(logits_s, tgt, reduction="sum")
    torch.testing.assert_close(shifted, want_s, atol=1e-4, rtol=1e-5)
    plain = full_softmax_loss(hidden[valid], targets[valid], table)[0]
    assert abs(float(plain) - float(want)) > 1.0  # the bias matters in this problem
    loss.backward()
    assert head.lag_bias.grad is not None and float(head.lag_bias.grad.abs().sum()) > 0


def _repeat_sessions(n: int, n_items: int, seed: int) -> list[list[int]]:
    """Markov sessions where, half the time, the next click repeats the item two clicks back."""
    rng = np.random.default_rng(seed)
    nxt = rng.integers(1, n_items + 1, size=(n_items + 1, 3))
    out = []
    for _ in range(n):
        s = [int(rng.integers(1, n_items + 1))]
        for _ in range(int(rng.integers(3, 9))):
            if len(s) >= 2 and rng.random() < 0.5:
                s.append(s[-2])
            else:
                s.append(int(nxt[s[-1], rng.integers(3)]))
        out.append(s)
    return out


def test_the_head_learns_repeats_that_the_plain_model_misses() -> None:
    n_items = 300
    vocab = ItemVocab(np.arange(1, n_items + 1))
    train = Sequences.from_lists(_repeat_sessions(1500, n_items, 0), num_items=n_items)
    test = Sequences.from_lists(_repeat_sessions(300, n_items, 1), num_items=n_items)
    split = session_split(train, test, vocab, name="repeats")
    cfg = {**FAST, "loss": "sampled_softmax", "num_negatives": 64, "epochs": 4, "dropout": 0.0}
    plain = evaluate(SASRec(**cfg).fit(split), split.test, ks=(1,))["HR@1"]
    head = SASRec(**cfg, repeat_head=True).fit(split)
    assert evaluate(head, split.test, ks=(1,))["HR@1"] > plain + 0.1
    assert float(head.net_.repeat.lag_bias[1]) > float(head.net_.repeat.lag_bias[0])  # two back, not the last


def test_repeat_head_saves_loads_and_needs_a_sampled_loss(small_split, tmp_path) -> None:  # noqa: ANN001
    from graphrec.model import load_model

    model = SASRec(**{**FAST, "epochs": 1, "loss": "sampled_softmax", "repeat_head": True}).fit(small_split)
    model.save(tmp_path / "run")
    again = load_model(tmp_path / "run")
    hist = Sequences.from_lists([[3, 5, 3], [7]], num_items=small_split.num_items)
    np.testing.assert_allclose(again.score(hist), model.score(hist), rtol=1e-6)
    for loss in ("ce", "bce", "gbce"):
        with pytest.raises(ConfigError, match="repeat_head is implemented for loss"):
            SASRec(loss=loss, repeat_head=True).config.validate()
