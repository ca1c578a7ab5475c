"""Graph + sequence fusion: every graph source trains, persists and reloads."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FAST

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
