"""The session-kNN prior and the recency-shaped repeat bonus: hand-computed values, exact score deltas, saved runs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from sasrec_fast import FAST

from graphrec.errors import ArtifactError, ConfigError
from graphrec.model import load_model
from graphrec.sequences import Sequences
from sequential.priors import knn_bias, repeat_bias, sequence_matrix
from sequential.sasrec import SASRec


def dense(triples: tuple[torch.Tensor, torch.Tensor, torch.Tensor], shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape)
    np.add.at(out, (triples[0].numpy(), triples[1].numpy()), triples[2].numpy())
    return out


def test_sequence_matrix_holds_last_positions_and_drops_negative_feedback() -> None:
    train = Sequences.from_lists([[1, 2, 1], [3], [2, 4]], num_items=5)
    m = sequence_matrix(train)
    # the 1-based position of each item's last click in its sequence
    np.testing.assert_array_equal(m.toarray(), [[0, 3, 2, 0, 0, 0], [0, 0, 0, 1, 0, 0], [0, 0, 1, 0, 2, 0]])
    assert m.has_sorted_indices
    skips = Sequences(train.offsets, train.items, 5, events=np.array([0, 1, 0, 0, 0, 0], np.int8),
                      event_names=("click", "skip"), negative_events=(1,))
    np.testing.assert_array_equal(sequence_matrix(skips).toarray()[0], [0, 2, 0, 0, 0, 0])  # clicks [1, 1]


def test_knn_position_decay_by_hand() -> None:
    # train sequences: A = [1, 2], B = [2, 3], C = [1, 4], D = [5]
    seqs = sequence_matrix(Sequences.from_lists([[1, 2], [2, 3], [1, 4], [5]], num_items=5))
    e = np.exp(-1.0)
    # history [1, 2]: neighbours A (sim 1.5) and B (1); the anchor is item 2, at position 2 of A and 1 of B:
    # s(1) = 1.5 e^-1 (one click from the anchor in A), s(2) = 1.5 + 1, s(3) = e^-1 (one click after it in B)
    got = dense(knn_bias(seqs, torch.tensor([[1, 2]]), weight=2.0, neighbors=2, position_decay=1.0), (1, 6))
    np.testing.assert_allclose(got[0], 2.0 * np.array([0, 1.5 * e, 2.5, e, 0, 0]) / 2.5, rtol=1e-6)
    # history [1, 5]: D (sim 1) and A (1/2; the tie with C goes to A). D's anchor is 5; A does not hold 5, so its
    # anchor is the next most recent item it holds, 1 at position 1: s(5) = 1, s(1) = 1/2, s(2) = e^-1 / 2
    got = dense(knn_bias(seqs, torch.tensor([[1, 5]]), weight=1.0, neighbors=2, position_decay=1.0), (1, 6))
    np.testing.assert_allclose(got[0], np.array([0, 0.5, 0.5 * e, 0, 0, 1.0]), rtol=1e-6)
    # a long decay is V-SKNN again; so is a base saved as plain item sets (every position 1)
    inputs = torch.tensor([[0, 1, 2], [0, 0, 5], [3, 4, 1]])
    plain = dense(knn_bias(seqs, inputs, weight=1.0, neighbors=3), (3, 6))
    np.testing.assert_allclose(dense(knn_bias(seqs, inputs, 1.0, 3, position_decay=1e9), (3, 6)), plain, rtol=1e-6)
    sets = seqs.copy()
    sets.data[:] = 1.0
    np.testing.assert_allclose(dense(knn_bias(sets, inputs, 1.0, 3, position_decay=0.5), (3, 6)), plain, rtol=1e-6)


def test_knn_scores_by_hand() -> None:
    # train sequences: A = {1, 2}, B = {2, 3}, C = {1, 4}, D = {5}
    seqs = sequence_matrix(Sequences.from_lists([[1, 2], [2, 3], [1, 4], [5]], num_items=5))
    # history [1, 2]: weights 1 -> 1/2, 2 -> 1; sim A = 1.5, B = 1, C = 0.5, D = 0
    inputs = torch.tensor([[0, 1, 2], [0, 0, 0], [0, 0, 5]])
    got = dense(knn_bias(seqs, inputs, weight=3.0, neighbors=2), (3, 6))
    # neighbours A (1.5) and B (1): s(1) = 1.5, s(2) = 2.5, s(3) = 1; divided by the peak 2.5
    np.testing.assert_allclose(got[0], 3.0 * np.array([0, 1.5, 2.5, 1, 0, 0]) / 2.5, rtol=1e-6)
    assert not got[1].any()  # an empty history has no neighbour
    np.testing.assert_allclose(got[2], [0, 0, 0, 0, 0, 3.0])  # history [5]: D alone
    every = dense(knn_bias(seqs, inputs, weight=1.0, neighbors=10), (3, 6))
    # all three neighbours: s = (1.5 + 0.5, 2.5, 1, 0.5) for items 1..4
    np.testing.assert_allclose(every[0], np.array([0, 2.0, 2.5, 1, 0.5, 0]) / 2.5, rtol=1e-6)
    # ties in similarity go to the lower sequence index: history [2] matches A and B equally
    tie = dense(knn_bias(seqs, torch.tensor([[2]]), weight=1.0, neighbors=1), (1, 6))
    np.testing.assert_allclose(tie[0], [0, 1, 1, 0, 0, 0])
    # a repeated item's weights add up: history [1, 1, 2] weighs 1 by 1/3 + 2/3 = 1 and 2 by 1, so A (1 and 2)
    # has similarity 2, C (1 and 4) 1 and B (2 and 3) 1: with k = 2 the tie between B and C goes to B
    rep = dense(knn_bias(seqs, torch.tensor([[1, 1, 2]]), weight=1.0, neighbors=2), (1, 6))
    np.testing.assert_allclose(rep[0], np.array([0, 2, 3, 1, 0, 0]) / 3, rtol=1e-6)


def test_knn_recency_and_idf_by_hand() -> None:
    # train sequences in time order: A = [1, 2], B = [2, 3], C = [1, 4], D = [5]
    seqs = sequence_matrix(Sequences.from_lists([[1, 2], [2, 3], [1, 4], [5]], num_items=5))
    # history [2]: A and B tie at similarity 1; the lower index wins without recency, the newer with it
    old = dense(knn_bias(seqs, torch.tensor([[2]]), weight=1.0, neighbors=1), (1, 6))
    new = dense(knn_bias(seqs, torch.tensor([[2]]), weight=1.0, neighbors=1, recency=0.5), (1, 6))
    np.testing.assert_allclose(old[0], [0, 1, 1, 0, 0, 0])
    np.testing.assert_allclose(new[0], [0, 0, 1, 1, 0, 0])
    # both neighbours, recency 0.5 with M = 4: A weighs exp(-3 / 2), B exp(-2 / 2); scores over the peak s(2)
    a, b = np.exp(-1.5), np.exp(-1.0)
    both = dense(knn_bias(seqs, torch.tensor([[2]]), weight=1.0, neighbors=2, recency=0.5), (1, 6))
    np.testing.assert_allclose(both[0], np.array([0, a, a + b, b, 0, 0]) / (a + b), rtol=1e-6)
    # idf: history [1, 2] weighs 1 by 1/2 and 2 by 1, times log(4 / 2) for both (each in two sequences), so the
    # ranking of neighbours is unchanged; history [1, 5] with idf: 5 (in one sequence) outweighs 1 further
    np.testing.assert_allclose(dense(knn_bias(seqs, torch.tensor([[1, 2]]), 1.0, 3, idf=True), (1, 6)),
                               dense(knn_bias(seqs, torch.tensor([[1, 2]]), 1.0, 3), (1, 6)), rtol=1e-6)
    w1, w5 = 0.5 * np.log(2.0), np.log(4.0)  # similarities of A and C (item 1) and of D (item 5)
    got = dense(knn_bias(seqs, torch.tensor([[1, 5]]), weight=1.0, neighbors=3, idf=True), (1, 6))
    np.testing.assert_allclose(got[0], np.array([0, 2 * w1, w1, 0, w1, w5]) / w5, rtol=1e-6)


def test_knn_query_decay_by_hand() -> None:
    seqs = sequence_matrix(Sequences.from_lists([[1, 2], [2, 3], [1, 4], [5]], num_items=5))
    e = np.exp(-1.0)
    # history [1, 2] with query_decay 1: item 2 (age 0) weighs 1, item 1 (age 1) e^-1, so the similarities are
    # A = 1 + e^-1, B = 1, C = e^-1; all three neighbours: s = (A + C, A + B, B, C) for items 1..4
    got = dense(knn_bias(seqs, torch.tensor([[1, 2]]), weight=1.0, neighbors=3, query_decay=1.0), (1, 6))
    s = np.array([0, 1 + 2 * e, 2 + e, 1, e, 0])
    np.testing.assert_allclose(got[0], s / s.max(), rtol=1e-6)


def test_knn_ties_are_exact_for_fractional_position_weights() -> None:
    # history 1..10: item 3 weighs 3/10, items 1 and 2 weigh 1/10 + 2/10, equal in exact arithmetic (0.3 vs
    # 0.30000000000000004 in floats); the rule keeps the lower sequence index, here [3]
    seqs = sequence_matrix(Sequences.from_lists([[3, 11], [1, 2, 12]], num_items=12))
    got = dense(knn_bias(seqs, torch.arange(1, 11)[None, :], weight=1.0, neighbors=1), (1, 13))
    np.testing.assert_allclose(got[0, [3, 11]], [1, 1])
    assert not got[0, 12]


def test_repeat_bias_by_hand() -> None:
    inputs = torch.tensor([[0, 3, 1, 3, 2], [0, 0, 0, 0, 0]])
    got = dense(repeat_bias(inputs, bonus=4.0, recency=8.0, decay=0.5), (2, 5))
    # ages since the last occurrence: 2 -> 0, 3 -> 1, 1 -> 2
    np.testing.assert_allclose(got[0], [0, 4 + 8 * 0.25, 4 + 8, 4 + 8 * 0.5, 0])
    assert not got[1].any()
    flat = dense(repeat_bias(inputs, bonus=5.0, recency=0.0, decay=0.5), (2, 5))
    np.testing.assert_allclose(flat[0], [0, 5, 5, 5, 0])  # the constant bonus, once per distinct item


def test_score_adds_both_priors_and_the_run_keeps_them(small_split, tmp_path) -> None:  # noqa: ANN001
    model = SASRec(**{**FAST, "epochs": 1}, transition_prior=0.0, knn_neighbors=5).fit(small_split)
    assert model.sequences_ is not None
    assert model.sequences_.shape == (len(small_split.train), small_split.num_items + 1)
    hist = Sequences.from_lists([[3, 5], [7], [9, 4, 1]], num_items=small_split.num_items)
    plain = model.score(hist)
    model.config = replace(model.config, knn_prior=2.0, repeat_bonus=1.0, repeat_recency=4.0, repeat_decay=0.5)
    fused = model.score(hist)
    inputs = torch.tensor([[0, 3, 5], [0, 0, 7], [9, 4, 1]])
    want = plain + dense(knn_bias(sequence_matrix(small_split.train), inputs, 2.0, 5), plain.shape)
    want[0, [5, 3]] += [5.0, 3.0]
    want[1, 7] += 5.0
    want[2, [1, 4, 9]] += [5.0, 3.0, 2.0]
    want[:, 0] = -np.inf
    np.testing.assert_allclose(fused, want, rtol=1e-5, atol=1e-5)
    model.save(tmp_path / "run")
    assert (tmp_path / "run" / "sequences.npz").exists()
    np.testing.assert_allclose(load_model(tmp_path / "run").score(hist), fused, rtol=1e-6)
    # a run saved before these settings existed loads with them off and scores as it did
    import json

    path = tmp_path / "run" / "config.json"
    meta = json.loads(path.read_text())
    for key in ("repeat_recency", "repeat_decay", "knn_neighbors", "knn_prior", "repeat_bonus"):
        del meta["config"][key]
    path.write_text(json.dumps(meta))
    old = load_model(tmp_path / "run")
    assert (old.config.knn_prior, old.config.repeat_recency, old.config.repeat_bonus) == (0.0, 0.0, 0.0)
    np.testing.assert_allclose(old.score(hist), plain, rtol=1e-6)
    import scipy.sparse as sp

    sp.save_npz(tmp_path / "run" / "sequences.npz", sp.csr_matrix((3, 4), dtype=np.float32))
    with pytest.raises(ArtifactError, match="sequences.npz holds a"):
        load_model(tmp_path / "run")


def test_knn_prior_errors(small_split) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match="knn_prior needs knn_neighbors"):
        SASRec(knn_prior=1.0).config.validate()
    with pytest.raises(ConfigError, match="knn_neighbors and knn_prior must be"):
        SASRec(knn_neighbors=5, knn_prior=float("nan")).config.validate()
    with pytest.raises(ConfigError, match=r"got 1.0, 1.5\)"):
        SASRec(repeat_recency=1.0, repeat_decay=1.5).config.validate()
    with pytest.raises(ConfigError, match=r"got -1.0, 0.5\)"):
        SASRec(repeat_recency=-1.0).config.validate()
    model = SASRec(**{**FAST, "epochs": 1}, transition_prior=0.0).fit(small_split)
    assert model.sequences_ is None
    model.config = replace(model.config, knn_prior=1.0, knn_neighbors=3)
    with pytest.raises(ConfigError, match="fit with knn_neighbors"):
        model.score(Sequences.from_lists([[1]], num_items=small_split.num_items))


def test_recall_from_the_index_ranks_as_score_with_the_knn_prior(small_split, tmp_path) -> None:  # noqa: ANN001
    from graphrec.recall_cli import _exact_recall, run_recall

    model = SASRec(**{**FAST, "epochs": 1}, knn_neighbors=4, knn_prior=3.0, transition_prior=0.0).fit(small_split)
    model.save(tmp_path / "run")
    model.build_index().save(tmp_path / "run" / "index")
    hist = [str(x) for x in small_split.vocab.decode([3, 5, 9])]
    got = run_recall(tmp_path / "run", [], ",".join(hist), None, k=15)
    seqs = Sequences.from_lists([[3, 5, 9]], num_items=small_split.num_items)
    want = _exact_recall(model, seqs, [",".join(hist)], 15)
    assert got["item"].tolist() == want["item"].tolist()
    np.testing.assert_allclose(got["score"].to_numpy(), want["score"].to_numpy(), rtol=1e-4, atol=1e-4)
    model.config = replace(model.config, knn_prior=0.0)
    assert _exact_recall(model, seqs, [",".join(hist)], 15)["item"].tolist() != got["item"].tolist()
