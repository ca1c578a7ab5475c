"""The model contract (shared tests every registered foundation model passes), run directories, query pooling."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from graphrec.artifacts import read_json
from graphrec.embeddings import Embeddings
from graphrec.errors import ArtifactError, ConfigError
from graphrec.evaluate import evaluate
from graphrec.model import MODELS, EmbeddingRecommender, Recommender, get_model_class, load_model
from graphrec.sequences import Sequences
from graphrec.split import Split


class RecommenderContract:
    """The `implicit` RecommenderBaseTestMixin pattern: subclass and set ``model_name`` (and ``config``)."""

    model_name: str = ""
    config: dict = {}

    @pytest.fixture
    def fitted(self, synth_split: Split) -> Recommender:
        return get_model_class(self.model_name)(**self.config).fit(synth_split)

    def test_fit_returns_self_and_sets_the_vocab(self, synth_split: Split) -> None:
        m = get_model_class(self.model_name)(**self.config)
        with pytest.raises(ConfigError, match="not fitted"):
            _ = m.num_items
        assert m.fit(synth_split) is m
        assert m.vocab_ == synth_split.vocab and m.num_items == synth_split.num_items

    def test_score_shape_dtype_and_finiteness(self, fitted: Recommender, synth_split: Split) -> None:
        h = synth_split.test.histories.take(np.arange(17))
        s = np.asarray(fitted.score(h))
        assert s.shape == (17, synth_split.num_items + 1) and s.dtype == np.float32
        assert not np.isnan(s[:, 1:]).any()
        empty = np.asarray(fitted.score(Sequences.from_lists([[]], synth_split.num_items)))
        assert empty.shape == (1, synth_split.num_items + 1)

    def test_scores_do_not_depend_on_the_batch(self, fitted: Recommender, synth_split: Split) -> None:
        h = synth_split.test.histories.take(np.arange(12))
        whole = np.asarray(fitted.score(h))
        parts = np.concatenate([np.asarray(fitted.score(h.take(np.arange(a, a + 4)))) for a in (0, 4, 8)])
        np.testing.assert_allclose(whole, parts, rtol=1e-6, atol=1e-7)

    def test_evaluable(self, fitted: Recommender, synth_split: Split) -> None:
        m = evaluate(fitted, synth_split.test, (10,))
        assert 0.0 <= m["NDCG@10"] <= m["HR@10"] <= 1.0

    def test_save_and_load_model(self, fitted: Recommender, synth_split: Split, tmp_path: Path) -> None:
        fitted.save(tmp_path / "run", metrics={"HR@10": 0.5}, seed=7, data_hash="abc")
        names = {p.name for p in (tmp_path / "run").iterdir()}
        assert {"config.json", "vocab.npz", "env.json", "metrics.json"} <= names
        cfg = read_json(tmp_path / "run" / "config.json")
        assert cfg["model"] == self.model_name and cfg["format_version"] == 1
        env = read_json(tmp_path / "run" / "env.json")
        assert env["seed"] == 7 and env["data_hash"] == "abc"
        loaded = load_model(tmp_path / "run")
        assert type(loaded) is type(fitted) and loaded.config == fitted.config and loaded.vocab_ == fitted.vocab_
        if self.model_name != "random":
            h = synth_split.test.histories.take(np.arange(9))
            np.testing.assert_allclose(np.asarray(loaded.score(h)), np.asarray(fitted.score(h)), rtol=1e-6)

    def test_unknown_config_key(self) -> None:
        cls = get_model_class(self.model_name)
        with pytest.raises(ConfigError, match="unknown config key 'no_such_setting'"):
            cls(no_such_setting=1)


class TestPopularContract(RecommenderContract):
    model_name = "popular"


class TestRandomContract(RecommenderContract):
    model_name = "random"

    def test_scores_do_not_depend_on_the_batch(self, fitted: Recommender, synth_split: Split) -> None:
        # random scores are a seeded stream: the same seed replays it, another seed does not
        h = synth_split.test.histories.take(np.arange(12))
        first = fitted.score(h)
        again = get_model_class("random")(seed=0).fit(synth_split).score(h)
        np.testing.assert_array_equal(first, again)
        assert not np.array_equal(first, get_model_class("random")(seed=1).fit(synth_split).score(h))


class TestItemKNNContract(RecommenderContract):
    model_name = "itemknn"
    config = {"window": 2, "normalize": "cosine", "recent": 3}


# ---------------------------------------------------------------------- registry and run directories
def test_unknown_model_name_has_a_hint() -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'itemkn' \(did you mean 'itemknn'\?\)"):
        get_model_class("itemkn")
    assert {"popular", "random", "itemknn"} <= set(MODELS)


def test_unavailable_model_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MODELS, "ghost", "graphrec.no_such_module:Ghost")
    with pytest.raises(ConfigError, match="model 'ghost' is not available"):
        get_model_class("ghost")


def test_config_object_or_kwargs_not_both() -> None:
    from graphrec.baselines import ItemKNN, ItemKNNConfig

    assert ItemKNN(ItemKNNConfig(window=5)).config.window == 5
    assert ItemKNN({"window": "4"}).config.window == 4
    with pytest.raises(ConfigError, match="not both"):
        ItemKNN(ItemKNNConfig(), window=3)


def test_unfitted_model_cannot_be_saved(tmp_path: Path) -> None:
    from graphrec.baselines import Popular

    with pytest.raises(ConfigError, match="not fitted yet: nothing to save"):
        Popular().save(tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_load_model_errors(tmp_path: Path, synth_split: Split) -> None:
    from graphrec.baselines import Popular

    with pytest.raises(ArtifactError, match="no run directory at"):
        load_model(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match="missing file .*config.json"):
        load_model(tmp_path / "empty")
    Popular().fit(synth_split).save(tmp_path / "run")
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    (tmp_path / "run" / "config.json").write_text(json.dumps({**cfg, "format_version": 99}))
    with pytest.raises(ArtifactError, match="run format version 99, expected 1"):
        load_model(tmp_path / "run")
    (tmp_path / "run" / "config.json").write_text(json.dumps({**cfg, "model": "popularr"}))
    with pytest.raises(ConfigError, match="did you mean 'popular'"):
        load_model(tmp_path / "run")


def test_failed_save_keeps_the_previous_run(tmp_path: Path, synth_split: Split,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from graphrec.baselines import Popular

    m = Popular().fit(synth_split)
    m.save(tmp_path / "run", metrics={"HR@10": 0.1})
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()}

    def broken(directory: Path) -> None:
        (directory / "counts.npy").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(m, "_save_state", broken)
    with pytest.raises(OSError, match="disk full"):
        m.save(tmp_path / "run", metrics={"HR@10": 0.9})
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


# ---------------------------------------------------------------------- pooling and embedding models
VECS = np.array([[0, 0], [1, 0], [0, 2], [3, 3]], dtype=np.float32)


@dataclass(frozen=True)
class _VecConfig:
    pooling: str = "last"
    similarity: str = "dot"


class _Fixed(EmbeddingRecommender):
    name = "fixed"
    config_class = _VecConfig

    def fit(self, split: Split) -> _Fixed:
        from graphrec.vocab import ItemVocab

        known = np.array([False, True, True, False])
        self.embeddings_ = Embeddings(ItemVocab(["a", "b", "c"]), VECS, known=known)
        self.vocab_ = self.embeddings_.vocab
        return self


def test_embedding_recommender_scores_by_similarity() -> None:
    m = _Fixed().fit(None)  # type: ignore[arg-type]
    s = m.score(Sequences.from_lists([[2]], 3))
    # dot with item vectors; item 3 has no trained vector (known False) and is never recommended
    np.testing.assert_allclose(s[0, 1:3], [0, 4])
    assert s[0, 3] == -np.inf
    cos = _Fixed(similarity="cosine").fit(None)  # type: ignore[arg-type]
    np.testing.assert_allclose(cos.score(Sequences.from_lists([[1]], 3))[0, 1:3], [1, 0], atol=1e-7)
    assert VECS[3, 0] == 3  # the caller's matrix is not normalised in place


def test_cosine_cache_follows_new_embeddings_and_clear_cache(vector_model) -> None:  # noqa: ANN001
    m = vector_model(similarity="cosine", pooling="last")
    h = Sequences.from_lists([[1]], m.num_items)
    first = m.score(h)
    emb = m.item_embeddings()
    flipped = emb.vectors.copy()
    flipped[2] *= -1.0
    m.embeddings_ = Embeddings(emb.vocab, flipped)  # a new bundle: noticed without clear_cache
    np.testing.assert_allclose(m.score(h)[0, 2], -first[0, 2], rtol=1e-6)
    m.embeddings_.vectors[3] *= -1.0  # changed in place: the cache is stale until clear_cache()
    np.testing.assert_allclose(m.score(h)[0, 3], first[0, 3], rtol=1e-6)
    m.clear_cache()
    np.testing.assert_allclose(m.score(h)[0, 3], -first[0, 3], rtol=1e-6)
