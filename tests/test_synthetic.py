"""The built-in synthetic data: deterministic per seed, well-formed, and learnable (a calibrated check)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphrec import datasets
from graphrec.baselines import ItemKNN, Popular, RandomRecommender
from graphrec.errors import ConfigError
from graphrec.evaluate import evaluate
from graphrec.synthetic import SyntheticConfig, generate

SMALL = {"num_users": 120, "num_items": 90, "num_categories": 6}


def test_same_seed_same_output() -> None:
    a_log, a_items = generate(**SMALL, seed=3)
    b_log, b_items = generate(**SMALL, seed=3)
    pd.testing.assert_frame_equal(a_log, b_log)
    pd.testing.assert_frame_equal(a_items, b_items)
    c_log, _ = generate(SyntheticConfig(**SMALL, seed=3))
    pd.testing.assert_frame_equal(a_log, c_log)


def test_different_seed_different_output() -> None:
    a_log, a_items = generate(**SMALL, seed=3)
    b_log, b_items = generate(**SMALL, seed=4)
    assert len(a_log) != len(b_log) or not a_log["item"].equals(b_log["item"])
    assert not a_items["category"].equals(b_items["category"]) or not a_items["brand"].equals(b_items["brand"])


def test_log_schema_and_invariants() -> None:
    log, items = generate(**SMALL, seed=1)
    assert list(log.columns) == ["user", "item", "timestamp", "event", "weight", "session"]
    assert list(items.columns) == ["item", "category", "brand", "cold"]
    assert log["user"].str.match(r"^u\d+$").all() and log["user"].nunique() == SMALL["num_users"]
    assert items["item"].tolist() == list(range(10_000, 10_000 + SMALL["num_items"]))
    assert set(log["item"]) <= set(items["item"])
    assert set(log["event"]) <= {"click", "like", "skip", "dislike"}
    assert {"skip", "click"} <= set(log["event"])  # negative feedback exists
    assert (log.groupby("user").size() >= SyntheticConfig().min_length).all()
    # chronological within a user, sessions contiguous and increasing
    for _, g in log.groupby("user", sort=False):
        assert g["timestamp"].is_monotonic_increasing
        assert g["session"].is_monotonic_increasing
    # weights follow the events
    w = dict(zip(log["event"], log["weight"], strict=True))
    assert w["click"] == 1.0 and w.get("like", 2.0) == 2.0 and w["skip"] == 0.0
    # categories and brands: every category has items, brands nest inside categories
    assert items["category"].nunique() == SMALL["num_categories"]
    assert (items.groupby("brand")["category"].nunique() == 1).all()


def test_cold_items_have_side_info_and_no_interaction() -> None:
    log, items = generate(**SMALL, seed=2, cold_fraction=0.2)
    cold = items.loc[items["cold"], "item"]
    assert len(cold) > 0
    assert not set(cold) & set(log["item"])
    ds = datasets.synthetic(**SMALL, seed=2, cold_fraction=0.2)
    assert ds.vocab.size == len(set(log["item"])) + len(cold)  # cold items are in the vocabulary
    codes = ds.vocab.encode(cold.to_numpy())
    assert (ds.sequences.item_counts()[codes] == 0).all()
    assert ds.side_info is not None and ds.side_info.items_with_info()[codes].all()


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match=r"num_users must be >= 1 \(got 0\)"):
        generate(num_users=0)
    with pytest.raises(ConfigError, match=r"markov_prob must be in \[0, 1\) \(got 1.5\)"):
        generate(markov_prob=1.5)
    with pytest.raises(ConfigError, match=r"unknown config key 'num_user' \(did you mean 'num_users'\?\)"):
        generate(num_user=10)
    with pytest.raises(ConfigError, match="num_items must be >= 2 \\* num_categories"):
        generate(num_items=10, num_categories=8)


def test_structure_is_learnable(synth_split) -> None:  # noqa: ANN001
    """Calibrated: on 300 users x 200 items, item-KNN reaches NDCG@10 ~0.45-0.50 and popularity ~0.10 over
    seeds 0-3 (random ~0.02). The margins below leave room for generator changes, never for a broken one."""
    ndcg = {}
    for cls in (Popular, ItemKNN, RandomRecommender):
        ndcg[cls.name] = evaluate(cls().fit(synth_split), synth_split.test, (10,))["NDCG@10"]
    assert ndcg["itemknn"] > ndcg["popular"] + 0.15
    assert ndcg["popular"] > ndcg["random"] + 0.02


def test_order_matters() -> None:
    """The Markov structure: transitions carry signal that shuffling each history destroys."""
    ds = datasets.synthetic(num_users=300, num_items=200, num_categories=8, seed=5)
    sp = ds.split()
    model = ItemKNN(window=1, directed=True, recent=1, normalize="none").fit(sp)
    ordered = evaluate(model, sp.test, (10,))["NDCG@10"]
    rng = np.random.default_rng(0)
    h = sp.test.histories
    perm = np.concatenate([rng.permutation(np.arange(h.offsets[r], h.offsets[r + 1])) for r in range(len(h))])
    shuffled = type(sp.test)(type(h)(h.offsets, h.items[perm], h.num_items, h.owners), sp.test.targets)
    assert ordered > evaluate(model, shuffled, (10,))["NDCG@10"] + 0.1


def test_same_output_with_one_and_two_threads() -> None:
    import numba
    import torch

    from graphrec.training import set_threads

    saved = (numba.get_num_threads(), torch.get_num_threads())
    try:
        logs = []
        for n in (1, 2):
            set_threads(min(n, numba.config.NUMBA_NUM_THREADS))
            logs.append(generate(**SMALL, seed=9)[0])
    finally:
        numba.set_num_threads(saved[0])
        torch.set_num_threads(saved[1])
    pd.testing.assert_frame_equal(logs[0], logs[1])
