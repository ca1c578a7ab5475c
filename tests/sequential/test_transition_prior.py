"""The score-level transition prior: hand-computed probabilities, exact score deltas, saved with the model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sasrec_fast import FAST

from graphrec.errors import ConfigError
from graphrec.model import load_model
from graphrec.sequences import Sequences
from sequential.priors import EPS, transition_bias, transition_matrix
from sequential.sasrec import SASRec


def test_transition_probabilities_by_hand() -> None:
    train = Sequences.from_lists([[1, 2, 3], [1, 3], [2, 1]], num_items=4)
    m = transition_matrix(train, window=2).toarray()
    assert m.shape == (5, 5)
    # from 1: 1->2 (distance 1), 1->3 (distance 2: 1/2), 1->3 (distance 1) => weights 2: 1, 3: 1.5
    np.testing.assert_allclose(m[1], [0, 0, 1 / 2.5, 1.5 / 2.5, 0], rtol=1e-6)
    np.testing.assert_allclose(m[2], [0, 1 / 2, 0, 1 / 2, 0], rtol=1e-6)  # 2->3 once, 2->1 once
    assert m[3].sum() == 0 and m[4].sum() == 0 and m[0].sum() == 0


def test_history_mixes_recent_rows_by_hand() -> None:
    import torch

    train = Sequences.from_lists([[1, 2, 3], [1, 3], [2, 1]], num_items=4)
    m = transition_matrix(train, window=2)
    p = m.toarray()
    inputs = torch.tensor([[0, 1, 2], [0, 0, 2], [0, 0, 0], [3, 4, 1]])
    rows, items, bias = transition_bias(m, inputs, weight=2.0, history=2, decay=0.5)
    got = np.zeros((4, 5))
    np.add.at(got, (rows.numpy(), items.numpy()), bias.numpy())
    mix = [(p[2] + 0.5 * p[1]) / 1.5,  # last 2, then 1 with weight 0.5
           p[2],  # the padding before 2 takes no weight
           np.zeros(5),  # an empty history has no prior
           (p[1] + 0.5 * p[4]) / 1.5]  # item 4 has no successors but keeps its weight: P is diluted
    np.testing.assert_allclose(got, 2.0 * np.log1p(np.array(mix) / EPS), rtol=1e-5)
    one = transition_bias(m, inputs, weight=2.0, history=1)
    got1 = np.zeros((4, 5))
    np.add.at(got1, (one[0].numpy(), one[1].numpy()), one[2].numpy())
    np.testing.assert_allclose(got1, 2.0 * np.log1p(p[[2, 2, 0, 1]] / EPS), rtol=1e-5)
    # a history longer than the input keeps every real item; decay 1 is their plain mean, repeats counted twice
    wide = transition_bias(m, torch.tensor([[1, 2, 1]]), weight=1.0, history=50, decay=1.0)
    got2 = np.zeros((1, 5))
    np.add.at(got2, (wide[0].numpy(), wide[1].numpy()), wide[2].numpy())
    np.testing.assert_allclose(got2[0], np.log1p((2 * p[1] + p[2]) / 3 / EPS), rtol=1e-5)
    with pytest.raises(ConfigError, match="transition_history must be >= 1"):
        SASRec(transition_history=0).config.validate()
    with pytest.raises(ConfigError, match="transition_decay in"):
        SASRec(transition_decay=0.0).config.validate()


def test_score_adds_the_prior_to_the_last_items_successors(small_split, tmp_path) -> None:  # noqa: ANN001
    model = SASRec(**{**FAST, "epochs": 1}, transition_window=2, transition_prior=0.0).fit(small_split)
    hist = Sequences.from_lists([[3, 5], [7], [9, 4, 1]], num_items=small_split.num_items)
    plain = model.score(hist)
    model.config = replace(model.config, transition_prior=0.7, transition_history=1)
    fused = model.score(hist)
    p = transition_matrix(small_split.train, 2).toarray()
    want = plain + 0.7 * np.log1p(p[[5, 7, 1]] / EPS)
    want[:, 0] = -np.inf
    np.testing.assert_allclose(fused, want, rtol=1e-5, atol=1e-5)
    model.config = replace(model.config, transition_history=2, transition_decay=0.5)
    mixed = np.array([(p[5] + 0.5 * p[3]) / 1.5, p[7], (p[1] + 0.5 * p[4]) / 1.5])
    want2 = plain + 0.7 * np.log1p(mixed / EPS)
    want2[:, 0] = -np.inf
    np.testing.assert_allclose(model.score(hist), want2, rtol=1e-5, atol=1e-5)
    model.config = replace(model.config, transition_history=1)
    assert (fused != plain).sum() > 3
    model.save(tmp_path / "run")
    np.testing.assert_allclose(load_model(tmp_path / "run").score(hist), fused, rtol=1e-6)


def test_prior_without_its_graph_is_an_error(small_split) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match="transition_prior needs transition_window"):
        SASRec(transition_prior=1.0, transition_window=0).config.validate()
    with pytest.raises(ConfigError, match="must be finite and >= 0"):
        SASRec(transition_prior=-0.5).config.validate()
    model = SASRec(**{**FAST, "epochs": 1}, transition_window=0, transition_prior=0.0).fit(small_split)
    assert model.transitions_ is None
    model.config = replace(model.config, transition_prior=1.0, transition_window=1)
    with pytest.raises(ConfigError, match="fit with transition_window"):
        model.score(Sequences.from_lists([[1]], num_items=small_split.num_items))


@pytest.mark.parametrize("prior", [0.0, 0.7])
def test_recall_from_the_index_ranks_as_score(small_split, tmp_path, prior) -> None:  # noqa: ANN001
    from graphrec.recall_cli import _exact_recall, run_recall

    model = SASRec(**{**FAST, "epochs": 1}, transition_window=2, transition_prior=prior).fit(small_split)
    model.save(tmp_path / "run")
    model.build_index().save(tmp_path / "run" / "index")
    vocab = small_split.vocab
    hist = [str(x) for x in vocab.decode([3, 5, 9])]
    got = run_recall(tmp_path / "run", [], ",".join(hist), None, k=15)
    seqs = Sequences.from_lists([[3, 5, 9]], num_items=small_split.num_items)
    want = _exact_recall(model, seqs, [",".join(hist)], 15)
    assert got["item"].tolist() == want["item"].tolist()
    np.testing.assert_allclose(got["score"].to_numpy(), want["score"].to_numpy(), rtol=1e-4, atol=1e-4)
    assert not set(got["item"]) & set(hist)
    if prior:  # the transition graph changes the answer: the dot product alone ranks otherwise
        model.config = replace(model.config, transition_prior=0.0)
        dot = _exact_recall(model, seqs, [",".join(hist)], 15)
        assert dot["item"].tolist() != got["item"].tolist()


def test_runs_saved_before_the_history_prior_load_as_they_were(small_split, tmp_path) -> None:  # noqa: ANN001
    import json

    model = SASRec(**{**FAST, "epochs": 1}, transition_window=2, transition_prior=0.5,
                   transition_history=1).fit(small_split)
    model.save(tmp_path / "run")
    hist = Sequences.from_lists([[3, 5, 9], [7]], num_items=small_split.num_items)
    want = model.score(hist)
    path = tmp_path / "run" / "config.json"
    meta = json.loads(path.read_text())
    for key in ("transition_history", "transition_decay"):  # a session-6 run: the prior read the last item
        del meta["config"][key]
    path.write_text(json.dumps(meta))
    old = load_model(tmp_path / "run")
    assert (old.config.transition_history, old.config.transition_prior) == (1, 0.5)
    np.testing.assert_allclose(old.score(hist), want, rtol=1e-6)
    for key in ("transition_window", "transition_prior"):  # older still: no prior, no graph
        del meta["config"][key]
    path.write_text(json.dumps(meta))
    (tmp_path / "run" / "transitions.npz").unlink()
    older = load_model(tmp_path / "run")
    assert (older.config.transition_window, older.config.transition_prior) == (0, 0.0)
    assert np.isfinite(older.score(hist)[:, 1:]).all()


def test_batch_recall_ranks_each_history_as_score(small_split, tmp_path) -> None:  # noqa: ANN001
    from graphrec.recall_cli import _exact_recall, run_recall

    model = SASRec(**{**FAST, "epochs": 1}, transition_window=2, transition_prior=1.0).fit(small_split)
    model.save(tmp_path / "run")
    model.build_index().save(tmp_path / "run" / "index")
    lists = [[3, 5, 9, 11, 2], [7], [4, 4, 8]]
    lines = [",".join(str(x) for x in small_split.vocab.decode(h)) for h in lists]
    batch = tmp_path / "histories.txt"
    batch.write_text("\n".join(lines) + "\n")
    got = run_recall(tmp_path / "run", [], None, batch, k=10)
    want = _exact_recall(model, Sequences.from_lists(lists, num_items=small_split.num_items), lines, 10)
    assert got["item"].tolist() == want["item"].tolist()
    np.testing.assert_allclose(got["score"].to_numpy(), want["score"].to_numpy(), rtol=1e-4, atol=1e-4)


def test_a_damaged_transition_graph_is_an_artifact_error(small_split, tmp_path) -> None:  # noqa: ANN001
    from graphrec.errors import ArtifactError

    model = SASRec(**{**FAST, "epochs": 1}).fit(small_split)
    model.save(tmp_path / "run")
    (tmp_path / "run" / "transitions.npz").write_bytes(b"not an npz")
    with pytest.raises(ArtifactError, match="transitions.npz"):
        load_model(tmp_path / "run")


def test_transition_recency_weighs_recent_sequences_more() -> None:
    train = Sequences.from_lists([[1, 2], [1, 3]], num_items=3)
    np.testing.assert_allclose(transition_matrix(train, 1).toarray()[1], [0, 0, 0.5, 0.5])
    # M = 2, recency 1: the older sequence weighs exp(-1 / 2), the newer 1
    old = np.exp(-0.5)
    got = transition_matrix(train, 1, recency=1.0).toarray()[1]
    np.testing.assert_allclose(got, [0, 0, old / (1 + old), 1 / (1 + old)], rtol=1e-6)
