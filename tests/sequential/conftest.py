"""Small fixtures for the sequential tests (seconds to train on 2 CPU cores)."""

from __future__ import annotations

import pytest
import torch

import graphrec.datasets
from graphrec.split import Split

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def small_split() -> Split:
    return graphrec.datasets.load("synthetic", num_users=300, num_items=120, num_categories=6, mean_length=15.0,
                                  seed=3).split()


@pytest.fixture(scope="session")
def timecut_split() -> Split:
    """Time-cut split (the train part keeps skip/dislike events, as leave-one-out now does too)."""
    return graphrec.datasets.load("synthetic", num_users=200, num_items=100, num_categories=5, mean_length=15.0,
                                  seed=4).split("time-cut")
