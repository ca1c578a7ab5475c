"""Thread counts, seeds, early stopping and checkpoints shared by the training loops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import faiss
import numba
import numpy as np
import pytest
import torch

from graphrec.errors import ArtifactError, ConfigError
from graphrec.training import EarlyStopping, load_checkpoint, save_checkpoint, set_seed, set_threads


@pytest.fixture
def restore_threads() -> Iterator[None]:
    before = torch.get_num_threads(), numba.get_num_threads(), faiss.omp_get_max_threads()
    yield
    torch.set_num_threads(before[0])
    numba.set_num_threads(before[1])
    faiss.omp_set_num_threads(before[2])


def test_set_threads_for_all_or_each_library(restore_threads: None) -> None:  # noqa: ARG001
    if numba.config.NUMBA_NUM_THREADS < 2:  # pragma: no cover
        pytest.skip("needs NUMBA_NUM_THREADS >= 2")
    set_threads(2)
    assert (torch.get_num_threads(), numba.get_num_threads(), faiss.omp_get_max_threads()) == (2, 2, 2)
    set_threads(2, numba_threads=1)
    assert (torch.get_num_threads(), numba.get_num_threads()) == (2, 1)
    set_threads(torch_threads=1)  # numba keeps its count
    assert (torch.get_num_threads(), numba.get_num_threads()) == (1, 1)
    set_threads(faiss_threads=2)  # (torch may follow: the two can share one OpenMP runtime)
    assert faiss.omp_get_max_threads() == 2 and numba.get_num_threads() == 1
    set_threads(None)  # the old call: nothing changes
    assert faiss.omp_get_max_threads() == 2 and numba.get_num_threads() == 1
    set_threads(numba_threads=10_000)  # capped at NUMBA_NUM_THREADS
    assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS


@pytest.mark.parametrize(("kwargs", "message"), [({"num_threads": 0}, r"num_threads must be >= 1 \(got 0\)"),
                                                 ({"numba_threads": -1}, r"numba_threads must be >= 1 \(got -1\)")])
def test_set_threads_rejects_counts_below_one(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        set_threads(**kwargs)


def test_set_seed_repeats_draws() -> None:
    set_seed(3)
    a = torch.rand(3), np.random.rand(3)  # noqa: NPY002
    set_seed(3)
    b = torch.rand(3), np.random.rand(3)  # noqa: NPY002
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_early_stopping_counts_evaluations_without_improvement() -> None:
    stop = EarlyStopping(patience=2, min_delta=0.01)
    assert stop.step(0.5, 0) and not stop.step(0.505, 1) and not stop.should_stop
    assert not stop.step(0.4, 2) and stop.should_stop and stop.best_step == 0
    low = EarlyStopping(patience=1, mode="min")
    assert low.step(3.0, 0) and low.step(2.0, 1) and not low.step(2.5, 2) and low.should_stop
    again = EarlyStopping()
    again.load_state_dict(stop.state_dict())
    assert again.state_dict() == stop.state_dict()
    with pytest.raises(ConfigError, match="mode must be 'max' or 'min'"):
        EarlyStopping(mode="best")


def test_checkpoint_round_trip_and_damage(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "c" / "last.pt", {"w": torch.arange(3), "epoch": 4})
    state = load_checkpoint(tmp_path / "c" / "last.pt")
    assert torch.equal(state["w"], torch.arange(3)) and state["epoch"] == 4
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["last.pt"]  # no temporary file left
    with pytest.raises(ArtifactError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ArtifactError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "bad.pt")
