"""GraphSAGE, PinSAGE and EdgeGNN: overfitting a tiny graph, the inductive path, configs, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from gnn.models import EdgeGNN, GraphSAGE, PinSAGE
from graphrec import ConfigError, ItemVocab, Sequences, datasets
from graphrec.evaluate import evaluate
from graphrec.model import get_model_class, load_model
from graphrec.split import leave_one_out

FAST = {"embedding_dim": 16, "batch_size": 256, "num_negatives": 64, "progress": False, "num_threads": 1,
        "eval_cases": 200}


@pytest.fixture(scope="module")
def rings():
    """Two rings of 20 items; every user walks 6 steps around one ring: the next item is always determined."""
    rng = np.random.default_rng(0)
    lists = []
    for _ in range(300):
        ring, start = rng.integers(0, 2), rng.integers(0, 20)
        lists.append([int(ring * 20 + (start + k) % 20 + 1) for k in range(6)])
    seqs = Sequences.from_lists(lists, num_items=40)
    return leave_one_out(seqs, ItemVocab(np.arange(1, 41)), "rings")


@pytest.fixture(scope="module")
def small_synthetic():
    return datasets.load("synthetic", num_users=150, num_items=80, num_categories=4, cold_fraction=0.1).split()


@pytest.mark.parametrize("cls, extra", [
    (GraphSAGE, {"aggregator": "mean"}),
    (GraphSAGE, {"aggregator": "pool", "num_layers": 1, "fanouts": (5,), "inference_fanouts": (5,)}),
    (PinSAGE, {"top_t": 2, "num_layers": 1, "hard_band": (3, 8), "in_batch_negatives": True, "embedding_dim": 32}),
    (EdgeGNN, {"num_channels": 2}),
])
def test_overfits_a_tiny_graph(rings, cls, extra):
    model = cls(**{**FAST, "epochs": 25, "patience": 25, "window": 1, "lr": 0.01, "temperature": 0.1,
                   **extra}).fit(rings)
    hr1 = evaluate(model, rings.valid, ks=(1,))["HR@1"]
    assert hr1 >= 0.7, f"{cls.__name__} reached only HR@1={hr1:.2f} on a deterministic ring"


@pytest.mark.parametrize("cls", [GraphSAGE, PinSAGE, EdgeGNN])
def test_cold_items_with_side_info_get_finite_nonzero_vectors(small_synthetic, cls):
    model = cls(**FAST, epochs=2, id_dropout=0.3).fit(small_synthetic)
    emb = model.item_embeddings()
    cold = small_synthetic.vocab.encode(datasets.load("synthetic", num_users=150, num_items=80, num_categories=4,
                                                      cold_fraction=0.1).cold_items)
    assert len(cold) > 0
    assert (small_synthetic.train.item_counts()[cold] == 0).all()
    v = emb.vectors[cold]
    assert np.isfinite(v).all() and (np.linalg.norm(v, axis=1) > 1e-4).all()
    assert emb.known is not None and emb.known[cold].all() and not emb.known[0]
    assert (emb.vectors[0] == 0).all()


def test_without_side_info_cold_items_stay_unknown(small_synthetic):
    model = GraphSAGE(**FAST, epochs=1, use_side_info=False).fit(small_synthetic)
    counts = small_synthetic.train.item_counts()
    assert not model.item_embeddings().known[counts == 0].any()


@pytest.mark.parametrize("name", ["graphsage", "pinsage", "edge-gnn"])
def test_bad_config_keys_are_errors(name):
    cls = get_model_class(name)
    with pytest.raises(ConfigError, match="did you mean"):
        cls(embeding_dim=8)
    with pytest.raises(ConfigError):
        cls(num_layers=0)


def test_bad_config_values():
    with pytest.raises(ConfigError, match="fanouts"):
        GraphSAGE(num_layers=3, fanouts=(10, 5))
    with pytest.raises(ConfigError, match="aggregator"):
        GraphSAGE(aggregator="median")
    with pytest.raises(ConfigError, match="divisible"):
        get_model_class("edge-gnn")(embedding_dim=30, num_channels=4)
    with pytest.raises(ConfigError, match="hard_band"):
        PinSAGE(hard_band=(50, 10))


def test_checkpoint_resume_matches_uninterrupted_run(small_synthetic, tmp_path):
    cfg = {**FAST, "patience": 10, "seed": 3}
    full = GraphSAGE(**cfg, epochs=3).fit(small_synthetic)
    GraphSAGE(**cfg, epochs=2, checkpoint_dir=str(tmp_path)).fit(small_synthetic)
    resumed = GraphSAGE(**cfg, epochs=3, checkpoint_dir=str(tmp_path)).fit(small_synthetic)
    assert [r["epoch"] for r in resumed.history_["epochs"]] == [0, 1, 2]
    np.testing.assert_allclose(resumed.item_embeddings().vectors, full.item_embeddings().vectors, atol=1e-5)


def test_save_and_load_round_trip(small_synthetic, tmp_path):
    model = EdgeGNN(**FAST, epochs=1).fit(small_synthetic)
    model.save(tmp_path / "run")
    assert (tmp_path / "run" / "model.pt").exists()
    back = load_model(tmp_path / "run")
    cases = small_synthetic.valid
    np.testing.assert_allclose(back.score(cases.histories), model.score(cases.histories), atol=1e-6)


def test_hinge_loss_is_zero_beyond_the_margin_and_counts_hard_negatives():
    import torch

    from gnn.losses import hinge_loss

    q = torch.tensor([[1.0, 0.0]])
    p, far = torch.tensor([[1.0, 0.0]]), torch.tensor([[-1.0, 0.0]])
    assert float(hinge_loss(q, p, far, margin=0.1)) == 0.0
    near = torch.tensor([[[1.0, 0.05]]])
    assert float(hinge_loss(q, p, far, margin=0.1, zh=near)) > 0.0
