"""Training behaviour: overfitting, resume equality, persistence, calibrated quality, bad configs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sasrec_fast import FAST

from graphrec import ItemVocab, Sequences
from graphrec.errors import ConfigError
from graphrec.evaluate import evaluate
from graphrec.model import load_model
from graphrec.split import leave_one_out
from sequential.sasrec import SASRec


def test_overfits_a_tiny_dataset() -> None:
    rng = np.random.default_rng(0)
    lists = [rng.permutation(np.arange(1, 31))[:12].tolist() for _ in range(8)]
    split = leave_one_out(Sequences.from_lists(lists, num_items=30), ItemVocab(np.arange(1, 31)))
    model = SASRec(max_len=12, embedding_dim=32, num_blocks=2, dropout=0.0, lr=5e-3, batch_size=8, epochs=300,
                   patience=300, eval_every=300, progress=False, num_threads=1).fit(split)
    assert model.history_["loss"][-1] < 0.05
    # every training prefix predicts its next item
    train = split.train
    for s in range(len(train)):
        seq = train[s]
        hist = Sequences.from_lists([seq[:p].tolist() for p in range(1, len(seq))], num_items=30)
        assert (model.score(hist)[:, 1:].argmax(1) + 1 == seq[1:]).all()


def test_resume_from_checkpoint_equals_uninterrupted(small_split, tmp_path) -> None:  # noqa: ANN001
    settings = {**FAST, "loss": "sampled_softmax", "num_negatives": 32, "dropout": 0.2}
    settings.pop("epochs")
    straight = SASRec(**settings, epochs=4, checkpoint_dir=str(tmp_path / "a")).fit(small_split)
    SASRec(**settings, epochs=2, checkpoint_dir=str(tmp_path / "b")).fit(small_split)
    resumed = SASRec(**settings, epochs=4, checkpoint_dir=str(tmp_path / "b")).fit(small_split)
    assert resumed.history_["loss"] == straight.history_["loss"]
    for key, value in straight.net_.state_dict().items():
        assert torch.equal(value, resumed.net_.state_dict()[key]), key


def test_save_and_load_roundtrip(small_split, tmp_path) -> None:  # noqa: ANN001
    model = SASRec(**{**FAST, "side_info": True, "epochs": 1}).fit(small_split)
    model.save(tmp_path / "run")
    assert (tmp_path / "run" / "model.pt").exists()
    loaded = load_model(tmp_path / "run")
    h = small_split.test.histories.take(np.arange(16))
    np.testing.assert_array_equal(model.score(h), loaded.score(h))


def test_beats_popularity_and_itemknn_on_synthetic(small_split) -> None:  # noqa: ANN001
    counts = small_split.train.item_counts().astype(np.float32)

    class Popularity:
        def score(self, histories: Sequences) -> np.ndarray:
            return np.tile(counts, (len(histories), 1))

    pop = evaluate(Popularity(), small_split.test, ks=(10,))["NDCG@10"]
    model = SASRec(**{**FAST, "epochs": 30, "embedding_dim": 32, "num_blocks": 2, "dropout": 0.2}).fit(small_split)
    ours = evaluate(model, small_split.test, ks=(10,))["NDCG@10"]
    # measured (seeds 0 / 1): popularity 0.124, ItemKNN 0.431, SASRec 0.470 / 0.490
    assert ours > 2 * pop, (ours, pop)
    try:
        from graphrec.baselines import ItemKNN
    except ImportError:  # the baselines module is optional here
        return
    knn = evaluate(ItemKNN().fit(small_split), small_split.test, ks=(10,))["NDCG@10"]
    assert ours > knn, (ours, knn)


@pytest.mark.parametrize("settings, message", [
    ({"embeding_dim": 32}, "did you mean 'embedding_dim'"),
    ({"loss": "softmax"}, "loss must be one of"),
    ({"max_len": 0}, "max_len must be >= 1"),
    ({"embedding_dim": 30, "num_heads": 4}, "divisible by num_heads"),
    ({"loss": "ce", "hard_negatives": 3}, "hard_negatives applies"),
    ({"loss": "ce", "cross_batch": 2}, "cross_batch applies"),
    ({"dropout": 1.5}, "dropout must be in"),
    ({"lr_schedule": "exp"}, "lr_schedule must be one of"),
])
def test_bad_config_is_an_error(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SASRec(**settings)


def test_score_before_fit_is_an_error() -> None:
    with pytest.raises(ConfigError, match="not fitted"):
        SASRec().score(Sequences.from_lists([[1]], num_items=3))


def test_dropout_follows_the_papers_rule_unless_set(small_split) -> None:  # noqa: ANN001
    from sequential.config import SASRecConfig

    assert SASRecConfig().resolve(6.0).dropout == 0.5  # sparse logs (Beauty, sessions)
    assert SASRecConfig().resolve(94.0).dropout == 0.2  # ML-1M
    assert SASRecConfig(dropout=0.1).resolve(6.0).dropout == 0.1
    model = SASRec(**{**FAST, "dropout": None, "epochs": 1}).fit(small_split)
    lengths = np.minimum(small_split.train.lengths, model.config.max_len + 1)
    assert model.config.dropout == (0.5 if np.median(lengths[lengths >= 2]) < 20 else 0.2)


def test_targets_per_row_counts_every_position_and_step() -> None:
    from sequential.data import TrainData

    seqs = Sequences.from_lists([[1, 2, 3], [4, 5, 6, 7, 8], [9]])  # the 1-item sequence is not a training row
    assert TrainData(seqs, max_len=10).targets_per_row == (2 + 4) / 2
    assert TrainData(seqs, max_len=10, next_n=2).targets_per_row == ((2 + 1) + (4 + 3)) / 2
    assert TrainData(seqs, max_len=3).targets_per_row == (2 + 3) / 2  # read through the last max_len + 1 items


def test_run_with_refit_tests_a_model_trained_on_train_and_validation(monkeypatch: pytest.MonkeyPatch,
                                                                       small_split) -> None:  # noqa: ANN001
    import graphrec.datasets
    from sequential.run import run

    class Loaded:
        def split(self):  # noqa: ANN202
            return small_split

    monkeypatch.setattr(graphrec.datasets, "load", lambda name: Loaded())
    result = run("tiny", overrides={**FAST, "epochs": 3, "patience": 3, "checkpoint_dir": None}, ks=(10,), refit=True)
    best = result["history"]["best_epoch"][0]
    assert result["refit_epochs"] == best
    assert set(result) >= {"valid", "test", "test_no_refit"}
    assert result["test"]["num_cases"] == result["test_no_refit"]["num_cases"] == len(small_split.test)
    assert result["test"]["NDCG@10"] != result["test_no_refit"]["NDCG@10"]


def test_wall_time_budget_never_starts_an_epoch_that_would_end_past_it(small_split, monkeypatch) -> None:  # noqa: ANN001
    import itertools
    import time
    import types

    import sequential.trainer as trainer

    # a clock that advances 1 s per reading: the trainer reads it 3 times an epoch, so epoch k ends at 3k s
    ticks = itertools.count(1)
    fake = types.SimpleNamespace(perf_counter=lambda: float(next(ticks)), process_time=time.process_time)
    monkeypatch.setattr(trainer, "time", fake)
    model = SASRec(**{**FAST, "epochs": 10, "max_minutes": 10 / 60}).fit(small_split)
    # epoch 3 ends at 9 s <= 10 s; a 4th would end at 12 s, so it is not started
    assert model.history_["seconds"] == [3.0, 6.0, 9.0]
    ticks = itertools.count(1)
    assert len(SASRec(**{**FAST, "epochs": 4, "max_minutes": None}).fit(small_split).history_["epoch"]) == 4


def test_lr_factor_of_each_schedule() -> None:
    from sequential.trainer import lr_factor

    assert [lr_factor("linear", s, 4) for s in range(5)] == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert lr_factor("cosine", 0, 8) == 1.0
    assert lr_factor("cosine", 2, 8) == pytest.approx((1 + np.sqrt(0.5)) / 2)
    assert lr_factor("cosine", 4, 8) == pytest.approx(0.5)
    assert lr_factor("constant", 7, 8) == 1.0


def test_linear_schedule_decays_every_step_and_resumes_exactly(small_split, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import sequential.trainer as trainer

    lrs: list[float] = []
    real_step = trainer._step

    def spy(model, net, data, rows, loss_fn, config, opt, *rest):  # noqa: ANN001, ANN002, ANN202
        lrs.append(opt.param_groups[0]["lr"])
        return real_step(model, net, data, rows, loss_fn, config, opt, *rest)

    monkeypatch.setattr(trainer, "_step", spy)
    settings = {**FAST, "epochs": 3, "lr": 4e-3, "lr_schedule": "linear"}
    straight = SASRec(**settings, checkpoint_dir=str(tmp_path / "a")).fit(small_split)
    total = len(lrs)
    assert total % 3 == 0
    np.testing.assert_allclose(lrs, [4e-3 * (1 - g / total) for g in range(total)], rtol=1e-12)

    # interrupted after epoch 2 (the checkpoint is written, then the process dies), then resumed
    real_save = trainer.save_checkpoint

    def dying_save(path, state):  # noqa: ANN001, ANN202
        real_save(path, state)
        if state["epoch"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "save_checkpoint", dying_save)
    with pytest.raises(KeyboardInterrupt):
        SASRec(**settings, checkpoint_dir=str(tmp_path / "b")).fit(small_split)
    lrs.clear()
    resumed = SASRec(**settings, checkpoint_dir=str(tmp_path / "b")).fit(small_split)
    assert len(lrs) == total // 3
    assert resumed.history_["loss"] == straight.history_["loss"]
    for key, value in straight.net_.state_dict().items():
        assert torch.equal(value, resumed.net_.state_dict()[key]), key


def test_init_from_starts_from_the_saved_weights_with_a_fresh_optimiser(small_split, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import sequential.trainer as trainer
    from graphrec.errors import ArtifactError

    first = SASRec(**{**FAST, "epochs": 1, "loss": "sampled_softmax", "num_negatives": 32},
                   checkpoint_dir=str(tmp_path / "ckpt")).fit(small_split)
    first.save(tmp_path / "run")
    seen: list[dict[str, torch.Tensor]] = []
    real_step = trainer._step

    def spy(model, net, data, rows, loss_fn, config, opt, *rest):  # noqa: ANN001, ANN002, ANN202
        if not seen:
            seen.append({k: v.clone() for k, v in net.state_dict().items()})
            assert all(not s for s in opt.state.values())  # a fresh Adam: no moments yet
        return real_step(model, net, data, rows, loss_fn, config, opt, *rest)

    monkeypatch.setattr(trainer, "_step", spy)
    for source in (tmp_path / "run", tmp_path / "ckpt" / "last.pt"):  # a run dir, and a checkpoint's last epoch
        seen.clear()
        second = SASRec(**{**FAST, "epochs": 1, "loss": "ce"}, init_from=str(source)).fit(small_split)
        for key, value in first.net_.state_dict().items():
            assert torch.equal(seen[0][key], value), (source, key)
        assert second.config.loss == "ce"
    fresh = SASRec(**{**FAST, "epochs": 1, "loss": "ce"}).fit(small_split)
    assert second.history_["step_loss"][0] < fresh.history_["step_loss"][0]  # it did start from trained weights

    with pytest.raises(ConfigError, match="do not fit this network"):
        SASRec(**{**FAST, "epochs": 1, "embedding_dim": 8},
               init_from=str(tmp_path / "run")).fit(small_split)
    with pytest.raises(ArtifactError, match="no checkpoint"):
        SASRec(**{**FAST, "epochs": 1}, init_from=str(tmp_path / "nothing.pt")).fit(small_split)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match="without model.pt"):
        SASRec(**{**FAST, "epochs": 1}, init_from=str(tmp_path / "empty")).fit(small_split)


def test_repeat_bonus_adds_to_the_history_items_read_by_the_model(small_split) -> None:  # noqa: ANN001
    from dataclasses import replace

    model = SASRec(**{**FAST, "epochs": 1}).fit(small_split)
    hist = Sequences.from_lists([[3, 5, 3], [7], list(range(1, 26))], num_items=small_split.num_items)
    plain = model.score(hist)
    model.config = replace(model.config, repeat_bonus=2.5)
    boosted = model.score(hist)
    expected = plain.copy()
    expected[0, [3, 5]] += 2.5  # a repeated item gets the bonus once
    expected[1, 7] += 2.5
    expected[2, list(range(6, 26))] += 2.5  # only the last max_len = 20 items are read
    np.testing.assert_allclose(boosted, expected, rtol=1e-6)
    assert np.isneginf(boosted[:, 0]).all()
    with pytest.raises(ConfigError, match="repeat_bonus must be finite"):
        SASRec(repeat_bonus=float("nan"))
