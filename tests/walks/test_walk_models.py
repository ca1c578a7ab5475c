"""DeepWalk and Node2Vec: the encoder contract, determinism, persistence, and a calibrated quality check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from graphrec import datasets
from graphrec.baselines import Popular
from graphrec.errors import ConfigError
from graphrec.evaluate import evaluate
from graphrec.model import load_model
from graphrec.split import Split
from walks import DeepWalk, Node2Vec

FAST = {"embedding_dim": 16, "num_walks": 5, "walk_length": 20, "epochs": 2, "deterministic": True}


@pytest.fixture(scope="module")
def split() -> Split:
    return datasets.load("synthetic", num_users=400, num_items=200, num_categories=8, seed=1).split()


@pytest.mark.parametrize("cls", [DeepWalk, Node2Vec])
def test_contract_and_persistence(cls: type[DeepWalk], split: Split, tmp_path: Path) -> None:
    model = cls(**FAST).fit(split)
    emb = model.item_embeddings()
    assert emb.vectors.shape == (split.vocab.size + 1, 16) and emb.vectors.dtype == np.float32
    assert not emb.vectors[0].any() and not emb.known[0]
    walked = np.zeros(split.vocab.size + 1, dtype=bool)
    walked[np.unique(split.train.items)] = True
    assert (emb.known <= walked).all()  # never-walked items are not known ...
    assert not emb.vectors[~emb.known].any()  # ... and have zero vectors
    assert model.score(split.test.histories).shape == (len(split.test), split.vocab.size + 1)
    model.save(tmp_path / "run")
    again = load_model(tmp_path / "run")
    assert type(again) is cls and again.config == model.config
    np.testing.assert_array_equal(again.item_embeddings().vectors, emb.vectors)
    np.testing.assert_array_equal(again.score(split.test.histories), model.score(split.test.histories))


def test_deterministic_mode_is_reproducible(split: Split) -> None:
    a = DeepWalk(**FAST, seed=3).fit(split).item_embeddings().vectors
    b = DeepWalk(**FAST, seed=3).fit(split).item_embeddings().vectors
    c = DeepWalk(**FAST, seed=4).fit(split).item_embeddings().vectors
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_deepwalk_beats_popularity(split: Split) -> None:
    """Calibrated on the synthetic data (gensim's model_sanity pattern): a wide, stable margin."""
    pop = evaluate(Popular().fit(split), split.test, (10,))["HR@10"]
    dw = evaluate(DeepWalk(**FAST).fit(split), split.test, (10,))["HR@10"]
    assert dw > 2 * pop + 0.05, (dw, pop)


def test_word2vec_export(split: Split, tmp_path: Path) -> None:
    from gensim.models import KeyedVectors

    emb = DeepWalk(**FAST).fit(split).item_embeddings()
    emb.save_word2vec_format(tmp_path / "v.txt")
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "v.txt"))
    item = split.vocab.ids[int(np.flatnonzero(emb.known)[0]) - 1]
    np.testing.assert_allclose(kv[str(item)], emb.vector(item), atol=1e-5)


def test_config_errors(split: Split) -> None:
    with pytest.raises(ConfigError, match="did you mean 'walk_length'"):
        DeepWalk(walk_lenght=10)
    with pytest.raises(ConfigError, match="walk_length must be >= 2"):
        DeepWalk(walk_length=1).fit(split)
    with pytest.raises(ConfigError, match="p must be > 0"):
        Node2Vec(p=-1.0).fit(split)
    from walks.eges import EGESConfig

    with pytest.raises(ConfigError, match="q must be > 0"):
        EGESConfig(q=0.0).validate()
    with pytest.raises(ConfigError, match="not fitted"):
        DeepWalk().item_embeddings()


def test_graph_pop_exponent_damps_edges_by_degree() -> None:
    from types import SimpleNamespace

    from graphrec.sequences import Sequences
    from graphrec.vocab import ItemVocab
    from walks.models import DeepWalkConfig, train_graph

    train = Sequences.from_lists([[1, 2, 1, 3], [2, 3, 2], [4, 2, 4]], num_items=4)
    sp = SimpleNamespace(train=train, vocab=ItemVocab(np.arange(1, 5)), side_info=None)
    raw = train_graph(sp, DeepWalkConfig(graph_window=1))
    damped = train_graph(sp, DeepWalkConfig(graph_window=1, graph_pop_exponent=0.5))
    # undirected window-1 counts: 1-2: 2, 1-3: 1, 2-3: 2, 2-4: 2 => weighted degrees 1: 3, 2: 6, 3: 3, 4: 2
    w = {(i, int(j)): float(x) for i in range(1, 5) for j, x in zip(*raw.neighbors(i), strict=True)}
    assert w == {(1, 2): 2, (1, 3): 1, (2, 1): 2, (2, 3): 2, (2, 4): 2, (3, 1): 1, (3, 2): 2, (4, 2): 2}
    deg = {1: 3, 2: 6, 3: 3, 4: 2}
    for i in range(1, 5):
        for j, x in zip(*damped.neighbors(i), strict=True):
            assert abs(float(x) - w[(i, int(j))] / np.sqrt(deg[i] * deg[int(j)])) < 1e-6
    with pytest.raises(ConfigError, match="graph_pop_exponent"):
        DeepWalkConfig(graph_pop_exponent=-1.0).validate()


def test_epochs_for_adds_passes_on_dense_graphs() -> None:
    from walks.models import epochs_for

    assert epochs_for(8, 8.0, 1000, 500) == 16  # 8 steps x 1000 edges / 500 steps per pass
    assert epochs_for(8, 8.0, 1001, 500) == 17  # rounds up
    assert epochs_for(1, 2.0, 100, 200) == 1  # exactly enough: no extra pass
    assert epochs_for(8, 8.0, 100, 500) == 8  # sparse graph: the configured passes
    assert epochs_for(3, 0.0, 10**6, 10) == 3  # rule off
    assert epochs_for(3, 8.0, 100, 0) == 3  # nothing walked


@pytest.mark.parametrize("cls", [DeepWalk, Node2Vec])
def test_min_steps_per_edge_sets_the_passes(cls: type[DeepWalk], split: Split) -> None:
    from walks.eges import EGES
    from walks.models import train_graph

    graph = train_graph(split, cls.config_class())
    steps = 5 * 20 * int((graph.degree() > 0).sum())  # FAST walks: 5 x 20 steps per walked node, no dead ends
    want = int(np.ceil(4.0 * graph.num_edges / steps))
    assert want > 2  # the rule must bind on this graph for the test to mean anything
    assert cls(**FAST, min_steps_per_edge=4.0).fit(split).history_["epochs"] == want
    assert cls(**FAST, min_steps_per_edge=0.0).fit(split).history_["epochs"] == 2
    eges = EGES(embedding_dim=8, num_walks=5, walk_length=20, epochs=1, min_steps_per_edge=4.0, deterministic=True)
    assert eges.fit(split).history_["epochs"] == want
    with pytest.raises(ConfigError, match="min_steps_per_edge"):
        cls(min_steps_per_edge=-1.0).fit(split)
