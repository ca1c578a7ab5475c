"""Link prediction protocol of the EGES paper: edge hold-out, non-edge sampling, AUC."""

from __future__ import annotations

import numpy as np
import pytest
from walks_helpers import random_graph

from graphrec import Embeddings, datasets
from graphrec.build import build_item_graph
from graphrec.errors import ConfigError
from walks import DeepWalk
from walks.linkpred import link_prediction_auc, split_edges


def test_split_edges_holds_out_a_third_and_samples_non_edges() -> None:
    g = random_graph(300, 1500, seed=5)
    train, pos, neg = split_edges(g, seed=1)
    full = g.to_scipy()
    m = full.nnz // 2
    assert len(pos) == len(neg) == round(m / 3)
    assert train.num_edges == 2 * (m - len(pos)) and not train.directed
    assert all(full[i, j] > 0 and train.to_scipy()[i, j] == 0 for i, j in pos[:50])
    assert all(full[i, j] == 0 and i != j for i, j in neg)
    assert len({tuple(x) for x in neg.tolist()}) == len(neg)
    with pytest.raises(ConfigError, match="holdout"):
        split_edges(g, holdout=1.5)


def test_auc_hand_computed() -> None:
    g = random_graph(4, 6, seed=0)
    vec = np.array([[0, 0], [1, 0], [1, 0.1], [0, 1], [-1, 0]], dtype=np.float32)
    emb = Embeddings(g.vocab, vec)
    pos = np.array([[1, 2], [1, 3]])  # cosines ~1.0 and 0
    neg = np.array([[1, 4], [2, 3]])  # cosines -1 and ~0.1
    assert link_prediction_auc(emb, pos, neg) == pytest.approx(0.75)


def test_deepwalk_predicts_held_out_links() -> None:
    data = datasets.load("synthetic", num_users=400, num_items=200, num_categories=8, seed=1)
    g = build_item_graph(data.sequences, window=3, directed=False, vocab=data.vocab)
    train, pos, neg = split_edges(g, seed=0)
    emb = DeepWalk(embedding_dim=16, num_walks=5, walk_length=20, epochs=2, deterministic=True).fit_graph(train)
    assert link_prediction_auc(emb.item_embeddings(), pos, neg) > 0.7


def test_cli_names_a_model_that_has_no_graph_fit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from walks.linkpred import main

    with pytest.raises(SystemExit, match="sasrec does not train on an item graph"):
        main(["--dataset", "synthetic", "--models", "sasrec", "--out", str(tmp_path / "lp")])
    assert not list(tmp_path.iterdir())
