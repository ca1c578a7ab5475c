"""Graph + sequence fusion: every graph source trains, persists and reloads."""

from __future__ import annotations

import numpy as np
import pytest
from sasrec_fast import FAST

from graphrec.embeddings import Embeddings
from graphrec.errors import ConfigError
from graphrec.model import load_model
from sequential.fusion import FusedSASRec


@pytest.mark.parametrize("source, fusion", [("builtin", "gate"), ("encoder", "concat"), ("encoder", "gate")])
def test_fusion_trains_and_reloads(small_split, tmp_path, source: str, fusion: str) -> None:  # noqa: ANN001
    model = FusedSASRec(**{**FAST, "graph_source": source, "fusion": fusion, "graph_dim": 16}).fit(small_split)
    assert np.isfinite(model.history_["loss"]).all()
    model.save(tmp_path / "run")
    loaded = load_model(tmp_path / "run")
    h = small_split.test.histories.take(np.arange(10))
    np.testing.assert_allclose(model.score(h), loaded.score(h), rtol=1e-5, atol=1e-5)


def test_precomputed_vectors(small_split, tmp_path) -> None:  # noqa: ANN001
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(small_split.num_items + 1, 12)).astype(np.float32)
    Embeddings(small_split.vocab, vectors).save(tmp_path / "dw")
    model = FusedSASRec(**FAST, graph_source="precomputed", precomputed_path=str(tmp_path / "dw")).fit(small_split)
    model.save(tmp_path / "run")
    h = small_split.test.histories.take(np.arange(5))
    np.testing.assert_allclose(model.score(h), load_model(tmp_path / "run").score(h), rtol=1e-5, atol=1e-5)


def test_precomputed_needs_a_path() -> None:
    with pytest.raises(ConfigError, match="precomputed_path"):
        FusedSASRec(graph_source="precomputed")


def test_graph_every_reuses_the_encoder_output_between_refreshes() -> None:
    import torch
    from torch import nn

    from sequential.fusion import FusedItemEmbedding
    from sequential.network import IdEmbedding

    class Counting(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.randn(9, 4))
            self.calls = 0
            self.dim = 4

        def forward(self) -> torch.Tensor:
            self.calls += 1
            return self.w * 1.0

    enc = Counting()
    fused = FusedItemEmbedding(IdEmbedding(8, 4), enc, 4, 4, graph_every=3).train()
    grads = []
    for _ in range(7):
        enc.w.grad = None
        fused().sum().backward()
        grads.append(enc.w.grad is not None)
    assert enc.calls == 3  # steps 0, 3, 6
    assert grads == [True, False, False, True, False, False, True]
    fused.reset_cache()  # a new epoch starts with a fresh output
    fused()
    assert enc.calls == 4
    fused.eval()
    fused(), fused()
    assert enc.calls == 6  # evaluation never reuses the cache


def test_fusion_with_graph_every_trains(small_split) -> None:  # noqa: ANN001
    model = FusedSASRec(**{**FAST, "graph_source": "encoder", "graph_dim": 16, "graph_every": 4}).fit(small_split)
    assert np.isfinite(model.history_["loss"]).all()
