"""The fused sampled-softmax loss against the plain masked cross-entropy it replaces."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gnn.losses import sampled_softmax_loss


def _reference(zq, zp, zn, p_ids, n_ids, temperature):
    zq, zp, zn = F.normalize(zq, dim=1), F.normalize(zp, dim=1), F.normalize(zn, dim=1)
    pos = (zq * zp).sum(dim=1, keepdim=True) / temperature
    neg = (zq @ zn.T / temperature).masked_fill(n_ids.unsqueeze(0) == p_ids.unsqueeze(1), float("-inf"))
    return F.cross_entropy(torch.cat([pos, neg], dim=1), torch.zeros(len(zq), dtype=torch.long))


@pytest.mark.parametrize("temperature", [0.05, 0.1, 1.0])
def test_fused_loss_and_gradients_match_the_masked_cross_entropy(temperature):
    g = torch.Generator().manual_seed(0)
    b, m, d = 37, 50, 8
    p_ids = torch.randint(1, 30, (b,), generator=g)
    n_ids = torch.randint(1, 30, (m,), generator=g)  # many accidental hits, duplicated negatives
    assert (n_ids.unsqueeze(0) == p_ids.unsqueeze(1)).sum() > b
    tensors = [torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True) for n in (b, b, m)]
    fused = sampled_softmax_loss(*tensors, p_ids, n_ids, temperature, in_batch=False)
    grads = torch.autograd.grad(fused, tensors)
    ref = _reference(*tensors, p_ids, n_ids, temperature)
    ref_grads = torch.autograd.grad(ref, tensors)
    torch.testing.assert_close(fused, ref)
    for a, r in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(a, r)


def test_every_negative_a_hit_leaves_only_the_positive():
    zq, zp, zn = torch.randn(4, 3), torch.randn(4, 3), torch.randn(5, 3)
    loss = sampled_softmax_loss(zq, zp, zn, torch.full((4,), 7), torch.full((5,), 7), 0.1, in_batch=False)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
