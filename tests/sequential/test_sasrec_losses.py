"""The objectives: sampled softmax with log-Q tends to the full softmax; every option trains."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sasrec_fast import FAST

from graphrec.evaluate import evaluate
from sequential.losses import full_softmax_loss, sampled_softmax_loss
from sequential.samplers import NegativeSampler
from sequential.sasrec import SASRec


def _problem(num_items: int = 60, rows: int = 40, dim: int = 8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    table = torch.randn(num_items + 1, dim, generator=g)
    h = torch.randn(rows, dim, generator=g)
    targets = torch.randint(1, num_items + 1, (rows, 1), generator=g)
    return h, targets, table


@pytest.mark.parametrize("kind", ["uniform", "popularity", "log_uniform"])
def test_sampled_softmax_with_logq_approaches_full_softmax(kind: str) -> None:
    h, targets, table = _problem()
    counts = np.concatenate([[0], np.arange(60, 0, -1)])  # skewed popularity
    sampler = NegativeSampler(60, kind, counts)
    full = full_softmax_loss(h, targets, table)[0].item()
    gaps = []
    for k in (50, 200_000):
        cand = sampler.sample(k, torch.Generator().manual_seed(1))
        sampled = sampled_softmax_loss(h, targets, table, cand, sampler.log_q[cand] + math.log(k))[0].item()
        gaps.append(abs(sampled - full) / full)
    assert gaps[1] < 0.005, gaps
    assert gaps[1] < gaps[0]


def test_without_correction_a_skewed_sampler_is_biased() -> None:
    h, targets, table = _problem()
    counts = np.concatenate([[0], np.arange(60, 0, -1) ** 2])
    sampler = NegativeSampler(60, "popularity", counts)
    cand = sampler.sample(200_000, torch.Generator().manual_seed(1))
    full = full_softmax_loss(h, targets, table)[0].item()
    corrected = sampled_softmax_loss(h, targets, table, cand, sampler.log_q[cand] + math.log(len(cand)))[0].item()
    plain = sampled_softmax_loss(h, targets, table, cand, None)[0].item()
    assert abs(corrected - full) < 0.1 * abs(plain - full)


def test_samplers_draw_their_distribution() -> None:
    counts = np.array([0, 50, 30, 15, 5])
    for kind in ("uniform", "popularity", "log_uniform"):
        s = NegativeSampler(4, kind, counts)
        draws = s.sample(200_000, torch.Generator().manual_seed(0))
        freq = np.bincount(draws.numpy(), minlength=5)[1:] / 200_000
        np.testing.assert_allclose(freq, s.q[1:].numpy(), atol=0.005)
        assert abs(float(s.q.sum()) - 1.0) < 1e-5


@pytest.mark.parametrize("settings", [
    {"loss": "bce"},
    {"loss": "bce", "hard_negatives": 4, "hard_pool": 32},
    {"loss": "gbce", "num_negatives": 32},
    {"loss": "sampled_softmax", "num_negatives": 64, "sampler": "log_uniform"},
    {"loss": "sampled_softmax", "num_negatives": 64, "sampler": "popularity", "logq_correction": False},
    {"loss": "in_batch", "cross_batch": 2},
    {"loss": "ce", "next_n": 3},
    {"loss": "sampled_softmax", "next_n": 2},
    {"loss": "ce", "side_info": True},
])
def test_every_option_trains(small_split, settings: dict) -> None:  # noqa: ANN001
    model = SASRec(**{**FAST, "epochs": 4, **settings}).fit(small_split)
    losses = model.history_["loss"]
    assert all(np.isfinite(losses))
    if not settings.get("hard_negatives"):  # mined negatives get harder as the model learns
        assert losses[-1] < losses[0]
    assert np.isfinite(evaluate(model, small_split.valid, ks=(10,))["NDCG@10"])


def test_negative_feedback_auxiliary_task(timecut_split) -> None:  # noqa: ANN001
    from sequential.data import TrainData

    data = TrainData(timecut_split.train, 20)
    assert data.has_negative_feedback
    # every recorded (row, column) is a real input position whose hidden state precedes the skipped item
    assert (data.padded[data.neg_row, data.neg_col] > 0).all()
    model = SASRec(**{**FAST, "negative_weight": 0.5}).fit(timecut_split)
    assert np.isfinite(model.history_["loss"]).all()


@pytest.mark.parametrize("next_n", [1, 3])
def test_chunked_softmax_ce_equals_materialised_cross_entropy(next_n: int) -> None:
    """Value and both gradients against log_softmax on the full logits, chunks not dividing the rows, repeated and
    missing targets included (float64, so the comparison is tight)."""
    g = torch.Generator().manual_seed(3)
    h = torch.randn(53, 8, dtype=torch.float64, generator=g, requires_grad=True)
    table = torch.randn(21, 8, dtype=torch.float64, generator=g, requires_grad=True)
    targets = torch.randint(0, 21, (53, next_n), generator=g)
    targets[:4] = 0  # rows without any target
    targets[5, :] = 7  # the same target twice in one row
    loss, count = full_softmax_loss(h, targets, table, chunk=5)
    grads = torch.autograd.grad(loss, (h, table))
    logp = torch.log_softmax(h @ table[1:].T, dim=1)
    valid = targets > 0
    ref = -(logp.gather(1, (targets - 1).clamp_min(0)) * valid).sum()
    ref_grads = torch.autograd.grad(ref, (h, table))
    assert count == int(valid.sum())
    assert torch.allclose(loss, ref, rtol=1e-12)
    for got, want in zip(grads, ref_grads, strict=True):
        assert torch.allclose(got, want, atol=1e-12)
    assert float(grads[1][0].abs().sum()) == 0.0  # padding row never gets a gradient


def test_chunked_softmax_ce_under_bf16_autocast_is_close() -> None:
    g = torch.Generator().manual_seed(4)
    h = torch.randn(64, 16, generator=g, requires_grad=True)
    table = torch.randn(101, 16, generator=g, requires_grad=True)
    targets = torch.randint(1, 101, (64, 1), generator=g)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, _ = full_softmax_loss(h, targets, table)
    ref = torch.nn.functional.cross_entropy(h @ table[1:].T, targets[:, 0] - 1, reduction="sum")
    assert loss.dtype == torch.float32
    assert abs(float(loss) - float(ref)) / float(ref) < 2e-2
