"""Protocol recipes: SASRec and fusion start from the session recipe on session data, the user's settings win key
by key, and ``graph_source="deepwalk"`` fuses the vectors DeepWalk itself would give."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from sasrec_fast import FAST

import graphrec.datasets
from graphrec.bench import bench_model
from graphrec.cli import main
from graphrec.config import from_dict
from graphrec.errors import ConfigError
from graphrec.model import get_model_class, load_model
from graphrec.split import Split, session_split
from sequential.config import FUSION_SESSION_RECIPE, SESSION_RECIPE, FusionConfig, SASRecConfig
from sequential.fusion import FusedSASRec
from sequential.sasrec import SASRec
from walks import DeepWalk

#: What the tests override of the recipe to train in seconds (the recipe's other keys stay in force).
TINY = {**FAST, "epochs": 1, "num_negatives": 64, "knn_neighbors": 5}


@pytest.fixture(scope="module")
def session_data() -> Split:
    ds = graphrec.datasets.load("synthetic", num_users=240, num_items=80, num_categories=4, mean_length=8.0, seed=5)
    seqs = ds.sequences
    return session_split(seqs.take(np.arange(200)), seqs.take(np.arange(200, 240)), ds.vocab, "sessions")


def test_recipes_are_valid_configs_for_the_session_protocol_only() -> None:
    plain = from_dict(SASRecConfig, SESSION_RECIPE)
    assert (plain.loss, plain.readout, plain.epochs) == ("sampled_softmax", "items", 12)
    fused = from_dict(FusionConfig, FUSION_SESSION_RECIPE)
    assert (fused.graph_source, fused.readout, fused.epochs) == ("deepwalk", "items", 6)
    assert SASRec.recipe("session") == SESSION_RECIPE and FusedSASRec.recipe("session") == FUSION_SESSION_RECIPE
    for protocol in ("leave-one-out", "time-cut"):
        assert SASRec.recipe(protocol) == {} and FusedSASRec.recipe(protocol) == {}
    assert get_model_class("itemknn").recipe("session") == {}
    SASRec.recipe("session")["epochs"] = 99  # a copy: the module's recipe is not changed through it
    assert SESSION_RECIPE["epochs"] == 12


def test_user_settings_win_over_the_recipe_key_by_key() -> None:
    cfg = SASRec.with_recipe("session", {"epochs": 1, "readout": "hidden"})
    assert cfg["epochs"] == 1 and cfg["readout"] == "hidden"
    assert cfg["max_len"] == 50 and cfg["knn_prior"] == 18.0
    assert SASRec.with_recipe("leave-one-out", {"epochs": 1}) == {"epochs": 1}


def test_bench_applies_the_recipe_on_session_data(session_data: Split) -> None:
    row = bench_model("sasrec", session_data, config=TINY, train_full=True)
    assert row["recipe"] == "session"
    assert row["config"]["loss"] == "sampled_softmax" and row["config"]["repeat_bonus"] == 9.0
    assert row["config"]["max_len"] == FAST["max_len"] and row["config"]["epochs"] == 1  # the user's values
    plain = bench_model("sasrec", session_data, config=TINY, train_full=True, recipe=False)
    assert plain["recipe"] is None
    assert plain["config"]["loss"] == "ce" and plain["config"]["repeat_bonus"] == 0.0


def test_a_users_loss_voids_the_recipes_negatives_and_bad_mixes_are_named() -> None:
    cfg = SASRec.with_recipe("session", {"loss": "bce"})
    assert cfg["loss"] == "bce" and "num_negatives" not in cfg  # bce's own default (1), not the recipe's 4096
    assert from_dict(SASRecConfig, cfg).negatives() == 1
    with pytest.raises(ConfigError, match="graph_source=precomputed"):
        FusedSASRec(**FusedSASRec.with_recipe("session", {"precomputed_path": "dw"}))


def test_deepwalk_graph_source_fuses_deepwalk_vectors(small_split: Split, tmp_path) -> None:  # noqa: ANN001
    model = FusedSASRec(**FAST, graph_source="deepwalk", seed=4).fit(small_split)
    expected = DeepWalk(workers=1, seed=4).fit(small_split).item_embeddings().vectors
    vectors = model._net().item_encoder.graph.vectors.numpy()
    np.testing.assert_array_equal(vectors, expected)
    model.save(tmp_path / "run")
    h = small_split.test.histories.take(np.arange(5))
    np.testing.assert_allclose(model.score(h), load_model(tmp_path / "run").score(h), rtol=1e-5, atol=1e-5)


def test_cli_recipe_flag(tmp_path) -> None:  # noqa: ANN001
    rows = [" ".join(str(1 + (3 * s + i) % 12) for i in range(2 + s % 4)) for s in range(60)]
    (tmp_path / "train.txt").write_text("\n".join(rows[:50]) + "\n", encoding="utf-8")
    sets = [a for k, v in {"epochs": 1, "max_len": 8, "embedding_dim": 8, "num_heads": 1, "num_negatives": 8,
                          "knn_neighbors": 3, "progress": False}.items() for a in ("--set", f"sasrec.{k}={v}")]
    data = ["--data", str(tmp_path / "train.txt"), "--format", "sessions", "--protocol", "session"]
    for flag, loss in (("--recipe", "sampled_softmax"), ("--no-recipe", "ce")):
        out = tmp_path / flag
        result = CliRunner().invoke(main, ["bench", *data, "--model", "sasrec", "--train-full", flag,
                                           "--out", str(out), *sets])
        assert result.exit_code == 0, result.output
        metrics = json.loads((out / "sasrec" / "metrics.json").read_text())
        assert metrics["config"]["loss"] == loss
        assert metrics["recipe"] == ("session" if flag == "--recipe" else None)
        run = tmp_path / f"train{flag}"
        result = CliRunner().invoke(main, ["train", "sasrec", *data, "--train-full", flag, "--no-index",
                                           "--out", str(run), *[a.replace("sasrec.", "") for a in sets]])
        assert result.exit_code == 0, result.output
        assert json.loads((run / "config.json").read_text())["config"]["loss"] == loss
        assert json.loads((run / "metrics.json").read_text())["recipe"] == ("session" if flag == "--recipe" else None)
