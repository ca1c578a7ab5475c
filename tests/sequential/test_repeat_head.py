"""The repeat-explore mixture: terms by definition, the training loss is its NLL, ``score`` its log-probabilities,
and it learns repeats."""

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
from sequential.losses import sampled_softmax_loss
from sequential.repeat import MAX_COUNT, RepeatBatch, RepeatHead, prefix_stats
from sequential.sasrec import SASRec


def _head(dim: int, max_len: int, seed: int = 0) -> RepeatHead:
    head = RepeatHead(dim, max_len)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in head.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return head


def _bias(head: RepeatHead, row: list[int], t: int, item: int) -> float | None:
    """``b_lag + c_count`` of ``item`` at position ``t`` by definition; None when not in ``row[:t + 1]``."""
    prefix = row[: t + 1]
    if item == 0 or item not in prefix:
        return None
    latest = max(s for s, x in enumerate(prefix) if x == item)
    lag = min(t - latest, len(head.lag_bias) - 1)
    count = min(prefix.count(item), MAX_COUNT)
    return float(head.lag_bias[lag].detach()) + float(head.count_bias[count - 1].detach())


def _mixture(head: RepeatHead, row: list[int], t: int, s: torch.Tensor, gate: float) -> torch.Tensor:
    """log p(i) of RepeatNet's mixture at position ``t`` by definition, over items 1..n (``s`` = their scores)."""
    n = s.shape[0]
    prefix = [i for i in range(1, n + 1) if _bias(head, row, t, i) is not None]
    others = [i for i in range(1, n + 1) if i not in prefix]
    out = torch.empty(n, dtype=torch.float64)
    r = torch.tensor([float(s[i - 1]) + _bias(head, row, t, i) for i in prefix], dtype=torch.float64)
    out[[i - 1 for i in prefix]] = math.log(1 / (1 + math.exp(-gate))) + torch.log_softmax(r, 0)
    e = s[[i - 1 for i in others]].double()
    out[[i - 1 for i in others]] = math.log(1 / (1 + math.exp(gate))) + torch.log_softmax(e, 0)
    return out


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


def test_candidate_hits_are_the_prefix_items() -> None:
    inputs = _rows()
    head = _head(8, 4)
    valid = inputs > 0
    rows = torch.full(inputs.shape, -1)
    rows[valid] = torch.arange(int(valid.sum()))
    cand = torch.tensor([3, 2, 1, 11, 7, 2, 4])  # a duplicate candidate and one absent from every row
    r, c = head.candidate_hits(inputs, cand, rows)
    got = set(zip(r.tolist(), c.tolist(), strict=True))
    assert len(got) == len(r)  # each pair once
    want = {(int(rows[bi, t]), k) for bi, row in enumerate(inputs.tolist()) for t in range(len(row)) if row[t]
            for k, item in enumerate(cand.tolist()) if item in row[: t + 1]}
    assert got == want and len(want) > 10


def test_history_terms_are_the_last_positions_biases() -> None:
    inputs = _rows()
    head = _head(8, 4, seed=4)
    r, items, b = head.history(inputs)
    got = {(int(x), int(i)): float(v) for x, i, v in zip(r, items, b, strict=True)}
    want = {(bi, item): _bias(head, row, len(row) - 1, item) for bi, row in enumerate(inputs.tolist())
            for item in set(row) - {0}}
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert math.isclose(got[key], value, abs_tol=1e-6), key


def _problem(n_items: int = 12, dim: int = 8):  # noqa: ANN202
    inputs = _rows()
    b, l = inputs.shape
    g = torch.Generator().manual_seed(6)
    table = torch.randn(n_items + 1, dim, generator=g)
    hidden = torch.randn(b, l, dim, generator=g)
    targets = torch.randint(1, n_items + 1, (b, l, 1), generator=g) * (inputs > 0)[..., None]
    targets[1, 2, 0] = 2
    targets[3, 4, 0] = 1
    targets[0, 4, 0] = 5  # repeats among the targets
    head = _head(dim, 4, seed=7)
    return inputs, targets, table, hidden, head, g


def test_loss_adds_the_mixture_nll_and_trains_the_head_alone() -> None:
    inputs, targets, table, hidden, head, g = _problem()
    n_items = table.shape[0] - 1
    hidden.requires_grad_(True)
    gate = head.gates(hidden.detach())
    valid = inputs > 0
    batch = RepeatBatch(head, inputs, targets, gate, valid, hidden, table)
    assert int(batch.target_in_prefix.sum()) >= 3
    cand = torch.arange(1, n_items + 1)
    plain, n = sampled_softmax_loss(hidden[valid], targets[valid], table, cand, None)
    loss, n2 = sampled_softmax_loss(hidden[valid], targets[valid], table, cand, None, batch)
    nll = torch.zeros((), dtype=torch.float64)
    for bi, row in enumerate(inputs.tolist()):
        for t in range(len(row)):
            if row[t]:
                logp = _mixture(head, row, t, (hidden[bi, t] @ table[1:].T).detach(), float(gate[bi, t]))
                nll -= logp[int(targets[bi, t, 0]) - 1]
    assert n == n2 == int(valid.sum())
    assert math.isclose(float(loss - plain), float(nll), rel_tol=1e-5)
    # the network's gradient is the plain loss's; the head gets its own
    (grad_plain,) = torch.autograd.grad(plain, hidden)
    (grad_with,) = torch.autograd.grad(loss, hidden, retain_graph=True)
    torch.testing.assert_close(grad_with, grad_plain)
    loss.backward()
    for p in (head.lag_bias, head.count_bias, head.gate.weight):
        assert p.grad is not None and float(p.grad.abs().sum()) > 0
    # sampled candidates stand for 1 / (K q) items each (the log-Q shift); the prefix items leave the explore
    # softmax whatever their shift, the positive is never shifted
    shift = torch.rand(n_items, generator=g) * 3.0
    plain_s, _ = sampled_softmax_loss(hidden[valid], targets[valid], table, cand, shift)
    shifted, _ = sampled_softmax_loss(hidden[valid], targets[valid], table, cand, shift, batch)
    want_s = torch.zeros((), dtype=torch.float64)
    for bi, row in enumerate(inputs.tolist()):
        for t in range(len(row)):
            if row[t]:
                s = (hidden[bi, t] @ table[1:].T).detach().double()
                tgt = int(targets[bi, t, 0])
                if tgt in row[: t + 1]:
                    want_s -= _mixture(head, row, t, s, float(gate[bi, t]))[tgt - 1]
                    continue
                e = [i for i in range(1, n_items + 1) if i not in row[: t + 1]]
                logits = torch.tensor([float(s[i - 1] - (0 if i == tgt else shift[i - 1])) for i in e])
                want_s -= math.log(1 / (1 + math.exp(float(gate[bi, t])))) + torch.log_softmax(logits, 0)[
                    e.index(tgt)]
    assert math.isclose(float(shifted - plain_s), float(want_s), rel_tol=1e-5)


def test_log_probs_are_the_mixture_and_sum_to_one() -> None:
    inputs, _, table, hidden, head, _ = _problem()
    q = hidden[:, -1]
    scores = q @ table.T
    scores[:, 0] = -math.inf
    gate = head.gates(q)
    out = head.log_probs(inputs, scores.detach(), gate.detach())
    np.testing.assert_allclose(out[:, 1:].exp().sum(1).detach().numpy(), 1.0, rtol=1e-5)
    for bi, row in enumerate(inputs.tolist()):
        want = _mixture(head, row, len(row) - 1, scores[bi, 1:].detach(), float(gate[bi]))
        np.testing.assert_allclose(out[bi, 1:].detach().numpy(), want.numpy(), rtol=1e-4, atol=1e-5)
    assert out[:, 0].isneginf().all()


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
