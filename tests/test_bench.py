"""The benchmark harness: what each model is fitted on before the test run (train, refit on train + validation,
or ``train_full`` without validation cases)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from numpy.typing import NDArray

from graphrec.baselines import Popular, PopularConfig
from graphrec.bench import FIT_TRAIN_FULL, bench_model, run_bench
from graphrec.errors import ConfigError
from graphrec.model import Recommender, can_train_full, get_model_class
from graphrec.sequences import Sequences
from graphrec.split import Split


class EarlyStopper(Recommender):
    """Popularity that records the splits it is fitted on (a stand-in for a model that early-stops)."""

    name = "early-stopper"
    config_class = PopularConfig
    trains_without_validation: ClassVar[bool] = True
    fits: ClassVar[list[tuple[Sequences, int]]] = []

    def fit(self, split: Split) -> EarlyStopper:
        type(self).fits.append((split.train, len(split.valid)))
        self.vocab_ = split.vocab
        self.counts_ = split.train.item_counts().astype(np.float32)
        return self

    def score(self, histories: Sequences) -> NDArray[np.float32]:
        return np.broadcast_to(self.counts_, (len(histories), len(self.counts_))).copy()


class NeedsValidation(EarlyStopper):
    name = "needs-validation"
    trains_without_validation = False


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    classes: dict[str, Any] = {"early-stopper": EarlyStopper, "needs-validation": NeedsValidation}
    monkeypatch.setattr("graphrec.bench.get_model_class", lambda name: classes.get(name) or get_model_class(name))
    EarlyStopper.fits = []


def test_early_stopping_model_fits_once_on_train(registry: None, synth_split: Split) -> None:  # noqa: ARG001
    row = bench_model("early-stopper", synth_split, ks=(10,))
    [(train, n_valid)] = EarlyStopper.fits
    assert train is synth_split.train and n_valid == len(synth_split.valid) > 0
    assert row["fit_for_test"] == "train" and row["valid"]["num_cases"] == len(synth_split.valid)


def test_train_full_fits_once_on_train_full_without_validation(registry: None, synth_split: Split) -> None:  # noqa: ARG001
    row = bench_model("early-stopper", synth_split, ks=(10,), train_full=True)
    [(train, n_valid)] = EarlyStopper.fits
    assert train is synth_split.train_full and n_valid == 0
    assert row["fit_for_test"] == FIT_TRAIN_FULL and row["valid"] == {}
    assert row["num_cases"] == len(synth_split.test)  # the test cases are those of the split


def test_train_full_refuses_a_model_that_needs_validation(registry: None, synth_split: Split,  # noqa: ARG001
                                                          tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs-validation stops early on validation cases"):
        bench_model("needs-validation", synth_split, train_full=True)
    with pytest.raises(ConfigError, match="needs-validation stops early"):  # before any model is trained
        run_bench(None, ["early-stopper", "needs-validation"], tmp_path, split=synth_split,  # type: ignore[arg-type]
                  train_full=True)
    assert EarlyStopper.fits == [] and not (tmp_path / "early-stopper").exists()


def test_train_full_of_a_refitted_model_equals_its_refit(synth_split: Split) -> None:
    """A model without early stopping is refitted on train + validation anyway: train_full gives the same test
    numbers in one fit instead of two."""
    refit = bench_model("popular", synth_split, ks=(10, 20))
    full = bench_model("popular", synth_split, ks=(10, 20), train_full=True)
    assert refit["fit_for_test"] == "train+valid" and refit["valid"]
    for key in ("HR@10", "NDCG@20", "Novelty@10"):
        assert full[key] == refit[key]


def test_which_models_can_train_without_validation() -> None:
    assert can_train_full(Popular) and can_train_full(EarlyStopper) and not can_train_full(NeedsValidation)
    assert can_train_full(get_model_class("sasrec")) and can_train_full(get_model_class("deepwalk"))
    assert not can_train_full(get_model_class("graphsage"))  # early-stops and needs validation cases


def test_early_stopped_model_is_refitted_for_its_best_epoch_count(monkeypatch: pytest.MonkeyPatch,
                                                                   synth_split: Split) -> None:
    from dataclasses import dataclass

    from graphrec.bench import FIT_REFIT_BEST

    @dataclass(frozen=True)
    class EpochConfig:
        epochs: int = 10
        seed: int = 0

    class Stopper(EarlyStopper):
        name = "stopper"
        config_class = EpochConfig
        runs: ClassVar[list[tuple[Sequences, int, int]]] = []

        def fit(self, split: Split) -> Stopper:
            super().fit(split)
            type(self).runs.append((split.train, len(split.valid), self.config.epochs))
            self.history_ = {"best_epoch": [3], "epoch": [1, 2, 3, 4, 5]} if len(split.valid) else {"epoch": [1, 2, 3]}
            return self

    monkeypatch.setattr("graphrec.bench.get_model_class", lambda name: Stopper)
    row = bench_model("stopper", synth_split, ks=(10,))
    first, second = Stopper.runs
    assert first == (synth_split.train, len(synth_split.valid), 10)
    assert second == (synth_split.train_full, 0, 3)  # train + validation, for the best validation epoch count
    assert row["fit_for_test"] == FIT_REFIT_BEST
    assert row["history"]["best_epoch"] == [3]  # the history validation watched
    assert row["valid"]["num_cases"] == len(synth_split.valid)
    Stopper.runs = []
    assert bench_model("stopper", synth_split, ks=(10,), refit=False)["fit_for_test"] == "train"
    assert len(Stopper.runs) == 1


def test_model_that_needs_validation_is_refitted_with_validation_only_at_the_end(monkeypatch: pytest.MonkeyPatch,
                                                                                 synth_split: Split) -> None:
    from dataclasses import dataclass

    from graphrec.bench import FIT_REFIT_BEST

    @dataclass(frozen=True)
    class GnnLikeConfig:
        epochs: int = 30
        patience: int = 3
        eval_every: int = 1
        seed: int = 0

    class GnnLike(EarlyStopper):
        name = "gnn-like"
        config_class = GnnLikeConfig
        trains_without_validation = False
        runs: ClassVar[list[tuple[Sequences, int, GnnLikeConfig]]] = []

        def fit(self, split: Split) -> GnnLike:
            super().fit(split)
            type(self).runs.append((split.train, len(split.valid), self.config))
            self.history_ = {"best_epoch": 4}  # the gnn trainer's 0-based early-stopping step
            return self

    monkeypatch.setattr("graphrec.bench.get_model_class", lambda name: GnnLike)
    row = bench_model("gnn-like", synth_split, ks=(10,))
    (_, _, first), (train, n_valid, again) = GnnLike.runs
    assert first.epochs == 30
    assert train is synth_split.train_full and n_valid == len(synth_split.valid)
    assert (again.epochs, again.patience, again.eval_every) == (5, 5, 5)
    assert row["fit_for_test"] == FIT_REFIT_BEST
