"""pool_histories by hand, and the one implementation shared by embedding models and recall_users."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec import model as model_module
from graphrec import recall as recall_module
from graphrec.errors import ConfigError
from graphrec.index import FaissIndex
from graphrec.pooling import pool_histories
from graphrec.sequences import Sequences

VECS = np.array([[0, 0], [1, 0], [0, 2], [3, 3]], dtype=np.float32)
H = Sequences.from_lists([[1, 2, 3], [], [2]], 3)


def test_last_mean_and_mean_recent_by_hand() -> None:
    np.testing.assert_allclose(pool_histories(H, VECS, "last"), [[3, 3], [0, 0], [0, 2]])
    np.testing.assert_allclose(pool_histories(H, VECS, "mean"), [[4 / 3, 5 / 3], [0, 0], [0, 2]])
    np.testing.assert_allclose(pool_histories(H, VECS), pool_histories(H, VECS, "mean"))  # the default
    np.testing.assert_allclose(pool_histories(H, VECS, "mean_recent", recent=2), [[1.5, 2.5], [0, 0], [0, 2]])


def test_decay_weights_recent_items_more() -> None:
    # decay 0.5: weights 0.25, 0.5, 1 for ages 2, 1, 0
    expect = (0.25 * VECS[1] + 0.5 * VECS[2] + 1.0 * VECS[3]) / 1.75
    np.testing.assert_allclose(pool_histories(H, VECS, "mean", decay=0.5)[0], expect, rtol=1e-6)
    recent = (0.5 * VECS[2] + VECS[3]) / 1.5
    np.testing.assert_allclose(pool_histories(H, VECS, "mean_recent", recent=2, decay=0.5)[0], recent, rtol=1e-6)
    np.testing.assert_allclose(pool_histories(H, VECS, "last", decay=0.5), pool_histories(H, VECS, "last"))


def test_normalize_pools_unit_vectors_and_keeps_zero_vectors_zero() -> None:
    unit = 1 / np.sqrt(2)
    h = Sequences.from_lists([[1, 2, 3], [], [2]], 3)
    np.testing.assert_allclose(pool_histories(h, VECS, "mean", normalize=True),
                               [[(1 + unit) / 3, (1 + unit) / 3], [0, 0], [0, 1]], rtol=1e-6)
    np.testing.assert_allclose(pool_histories(h, VECS, "last", normalize=True), [[unit, unit], [0, 0], [0, 1]],
                               rtol=1e-6)
    zero = np.vstack([VECS, np.zeros((1, 2), np.float32)])  # item 4 has a zero vector: it counts, adds nothing
    np.testing.assert_allclose(pool_histories(Sequences.from_lists([[1, 4]], 4), zero, normalize=True), [[0.5, 0]])
    assert VECS[3, 0] == 3  # the caller's matrix is not normalised in place


def test_bad_parameters_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"pooling must be one of .* \(got 'max'\)"):
        pool_histories(H, VECS, "max")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"recent must be an integer >= 1 \(got 0\)"):
        pool_histories(H, VECS, "mean_recent", recent=0)
    with pytest.raises(ConfigError, match=r"decay must be > 0 \(got 0.0\)"):
        pool_histories(H, VECS, decay=0.0)
    assert isinstance(ConfigError("x"), ValueError)  # callers that caught ValueError still do


def test_one_implementation_everywhere() -> None:
    assert model_module.pool_histories is pool_histories and recall_module.pool_histories is pool_histories


def test_recall_users_ranks_as_the_model_scores(vector_model) -> None:  # noqa: ANN001
    """recall_users pools histories like the model's user_embeddings, so the index answers what score() ranks."""
    model = vector_model(pooling="mean_recent", recent=2, decay=0.5)
    histories = [["m1", "m5", "m7"], ["m3"], ["m2", "m9", "m4", "m8"]]
    seqs = Sequences.from_lists([model.vocab_.encode(h).tolist() for h in histories], model.num_items)
    index = FaissIndex(metric="cosine", index_type="flat").fit(model.item_embeddings())
    q = model.config
    frame = recall_module.recall_users(index, histories=histories, pooling=q.pooling, num_recent=q.recent,
                                       decay=q.decay, k=5)
    scores = model.score(seqs)
    scores[:, 0] = -np.inf
    for row, h in enumerate(histories):
        scores[row, model.vocab_.encode(h)] = -np.inf
        expect = model.vocab_.decode(np.argsort(-scores[row], kind="stable")[:5]).tolist()
        got = frame[frame["query"] == row]
        assert got["item"].tolist() == expect
        ratio = got["score"].to_numpy() / np.sort(scores[row])[::-1][:5]  # the index scores the unit query
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)
