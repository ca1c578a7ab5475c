"""Shared fixtures of the foundation suite: small synthetic data, public datasets (skipped when absent), helpers.

Public datasets are looked up where the library looks ($GRAPHREC_DATA, else ../shared/datasets); a test that needs
one asks for it through the ``public`` fixture (``public("lastfm")``) or the ``lastfm``/``ml100k`` fixtures and is
skipped cleanly when the files are not there. Helpers are handed out as fixtures (``edges_graph``) rather than
imported, because ``tests/walks`` has a conftest module of its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from graphrec import datasets
from graphrec.embeddings import Embeddings
from graphrec.graph import ItemGraph
from graphrec.model import EmbeddingRecommender
from graphrec.split import Split
from graphrec.vocab import ItemVocab

#: Small enough to keep the suite fast, large enough for calibrated quality checks.
SYNTH = {"num_users": 300, "num_items": 200, "num_categories": 8}


def dataset_available(name: str) -> bool:
    root = datasets.data_dir()
    return all((root / rel).exists() for rel in datasets.DATASETS[name]["files"])


@functools.cache
def _load_cached(name: str) -> datasets.Dataset:
    return datasets.load(name)


def load_public(name: str) -> datasets.Dataset:
    """The public dataset ``name`` (cached per session), or skip the calling test when its files are absent."""
    if not dataset_available(name):
        pytest.skip(f"dataset {name!r} not found under {datasets.data_dir()} (set GRAPHREC_DATA)")
    return _load_cached(name)


def public_file(rel: str) -> Path:
    """A file of the shared dataset directory, or skip."""
    path = datasets.data_dir() / rel
    if not path.exists():
        pytest.skip(f"{rel} not found under {datasets.data_dir()}")
    return path


@pytest.fixture(scope="session")
def synth() -> datasets.Dataset:
    return datasets.synthetic(**SYNTH)


@pytest.fixture(scope="session")
def synth_split(synth: datasets.Dataset):  # noqa: ANN201
    return synth.split()


@pytest.fixture(scope="session")
def synth_log_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The synthetic log and its item table written as csv (what `graphrec data synth` writes)."""
    from graphrec.synthetic import generate

    d = tmp_path_factory.mktemp("synth")
    log, items = generate(**SYNTH)
    log.to_csv(d / "log.csv", index=False)
    items.to_csv(d / "log_items.csv", index=False)
    return d / "log.csv", d / "log_items.csv"


@pytest.fixture
def lastfm() -> datasets.Dataset:
    return load_public("lastfm")


@pytest.fixture
def ml100k() -> datasets.Dataset:
    return load_public("ml-100k")


@pytest.fixture(scope="session")
def public():  # noqa: ANN201
    """``public(name)`` loads a public dataset or skips the test."""
    return load_public


@pytest.fixture(scope="session")
def public_path():  # noqa: ANN201
    """``public_path("lastfm/LastFM.txt")`` is a shared dataset file or skips the test."""
    return public_file


@pytest.fixture(scope="session")
def edges_graph():  # noqa: ANN201
    """``edges_graph(num_items, [(src, dst, w), ...], directed)`` builds an ItemGraph."""
    return graph_from_edges


def graph_from_edges(num_items: int, edges: list[tuple[int, int, float]], directed: bool = True) -> ItemGraph:
    """An ItemGraph over items 1..num_items from ``(src, dst, weight)`` triples (undirected: both directions)."""
    import scipy.sparse as sp

    src = [e[0] for e in edges]
    dst = [e[1] for e in edges]
    w = [e[2] for e in edges]
    if not directed:
        src, dst, w = src + dst, dst + src, w + w
    m = sp.coo_matrix((w, (src, dst)), shape=(num_items + 1, num_items + 1))
    return ItemGraph.from_scipy(m, ItemVocab(np.arange(1, num_items + 1)), directed=directed)


@dataclass(frozen=True)
class _QueryConfig:
    pooling: str = "mean"
    recent: int = 5
    decay: float = 1.0
    similarity: str = "cosine"


class _RandomVectors(EmbeddingRecommender):
    """An item-vector model over seeded Gaussian vectors of items ``m0 .. m{n-1}``."""

    name = "random-vectors"
    config_class = _QueryConfig
    shape = (200, 8)

    def fit(self, split: Split | None = None, seed: int = 5) -> _RandomVectors:
        n, dim = self.shape
        vectors = np.random.default_rng(seed).standard_normal((n + 1, dim)).astype(np.float32)
        self.embeddings_ = Embeddings(ItemVocab([f"m{j}" for j in range(n)]), vectors)
        self.vocab_ = self.embeddings_.vocab
        return self


@pytest.fixture
def vector_model() -> Callable[..., EmbeddingRecommender]:
    """``vector_model(**query)``: a fitted item-vector model (200 items, 8 dimensions) with the given pooling,
    recent, decay and similarity."""
    return lambda **query: _RandomVectors(**query).fit()
