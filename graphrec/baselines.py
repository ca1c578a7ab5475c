"""Baselines every model must clear: most-popular, random, and item-KNN over the item graph."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from graphrec.build import build_item_graph
from graphrec.config import to_dict
from graphrec.errors import ConfigError
from graphrec.graph import ItemGraph
from graphrec.model import Recommender
from graphrec.sequences import Sequences
from graphrec.split import Split

__all__ = ["Popular", "RandomRecommender", "ItemKNN", "PopularConfig", "RandomConfig", "ItemKNNConfig"]


@dataclass(frozen=True)
class PopularConfig:
    """Most-popular: items ranked by their number of (positive) training events."""


class Popular(Recommender):
    """Rank items by training popularity (the same list for everyone, minus what the user has seen)."""

    name = "popular"
    refit_on_full = True
    config_class = PopularConfig

    def fit(self, split: Split) -> Popular:
        self.vocab_ = split.vocab
        self.counts_ = split.train.item_counts().astype(np.float32)
        return self

    def score(self, histories: Sequences) -> NDArray[np.float32]:
        return np.broadcast_to(self.counts_, (len(histories), len(self.counts_))).copy()

    def _save_state(self, directory: Path) -> None:
        np.save(directory / "counts.npy", self.counts_)

    def _load_state(self, directory: Path) -> None:
        self.counts_ = np.load(directory / "counts.npy", allow_pickle=False)


@dataclass(frozen=True)
class RandomConfig:
    """Uniformly random scores (seeded)."""

    seed: int = 0


class RandomRecommender(Recommender):
    """Uniformly random ranking: the floor of every metric (HR@K ~ K / num_items)."""

    name = "random"
    config_class = RandomConfig

    def fit(self, split: Split) -> RandomRecommender:
        self.vocab_ = split.vocab
        self._rng = np.random.default_rng(self.config.seed)
        return self

    def score(self, histories: Sequences) -> NDArray[np.float32]:
        if not hasattr(self, "_rng"):
            self._rng = np.random.default_rng(self.config.seed)
        return self._rng.random((len(histories), self.num_items + 1), dtype=np.float32)


@dataclass(frozen=True)
class ItemKNNConfig:
    """Item-KNN over the co-occurrence graph of the train sequences.

    The defaults were chosen on the validation split of Beauty and LastFM (grid over normalize, recent,
    window and decay; see ``benchmarks/results/itemknn_grid.md``).

    Attributes:
        window: Co-occurrence window of the graph. Default 5.
        directed: Only forward co-occurrences (``i`` before ``j``). Default False.
        weighting: ``count`` or ``inverse_distance``. Default ``count``.
        normalize: ``none`` (raw weights), ``row`` (``P(j | i)``, default) or ``cosine`` (``w_ij / sqrt(d_i d_j)``).
        recent: Number of most recent history items that vote. Default 5.
        decay: Vote weight ``decay ** age`` of older items. Default 0.5.
        top_k: Neighbours kept per item (None: all).
        popularity_tiebreak: Break score ties (and rank items with no vote) by popularity. Default True.
    """

    window: int = 5
    directed: bool = False
    weighting: Literal["count", "inverse_distance"] = "count"
    normalize: Literal["none", "row", "cosine"] = "row"
    recent: int = 5
    decay: float = 0.5
    top_k: int | None = None
    popularity_tiebreak: bool = True

    def validate(self) -> None:
        if self.recent < 1:
            raise ConfigError(f"recent must be >= 1 (got {self.recent})")
        if not 0.0 < self.decay <= 1.0:
            raise ConfigError(f"decay must be in (0, 1] (got {self.decay})")
        if self.normalize not in ("none", "row", "cosine"):
            raise ConfigError(f"normalize must be 'none', 'row' or 'cosine' (got {self.normalize!r})")


class ItemKNN(Recommender):
    """Graph without learning: score ``j`` by ``sum_i decay^age(i) * w_ij`` over the user's recent items ``i``.

    Example:
        >>> from graphrec import datasets
        >>> split = datasets.load("synthetic", num_users=100, num_items=60, num_categories=4).split()
        >>> ItemKNN().fit(split).score(split.test.histories).shape == (100, 61)
        True
    """

    name = "itemknn"
    refit_on_full = True
    config_class = ItemKNNConfig

    def fit(self, split: Split) -> ItemKNN:
        c = self.config
        graph = build_item_graph(split.train, window=c.window, directed=c.directed, weighting=c.weighting,
                                 top_k=c.top_k, vocab=split.vocab)
        return self.fit_graph(graph, split.train.item_counts())

    def fit_graph(self, graph: ItemGraph, item_counts: NDArray[np.integer] | None = None) -> ItemKNN:
        """Use a prebuilt graph (e.g. one loaded with ``graphrec graph build``)."""
        self.vocab_ = graph.vocab
        a = graph.to_scipy().astype(np.float32)
        if self.config.normalize == "row":
            out = np.asarray(a.sum(axis=1)).ravel()
            a = sp.diags(1.0 / np.maximum(out, 1e-12)) @ a
        elif self.config.normalize == "cosine":
            d = np.sqrt(np.maximum(np.asarray(a.sum(axis=1)).ravel(), 1e-12))
            a = sp.diags(1.0 / d) @ a @ sp.diags(1.0 / d)
        self.adj_ = sp.csr_matrix(a, dtype=np.float32)
        counts = np.zeros(graph.num_nodes) if item_counts is None else np.asarray(item_counts, dtype=np.float64)
        self.prior_ = (counts / max(counts.max(), 1.0) * 1e-6).astype(np.float32)
        return self

    def score(self, histories: Sequences) -> NDArray[np.float32]:
        c = self.config
        h = histories.last(c.recent)
        age = np.repeat(h.lengths, h.lengths) - 1 - h.positions()
        q = sp.csr_matrix(((c.decay ** age).astype(np.float32), (h.row_ids(), h.items)),
                          shape=(len(h), self.adj_.shape[0]))
        scores = np.asarray((q @ self.adj_).todense(), dtype=np.float32)
        if c.popularity_tiebreak:
            scores += self.prior_[None, :]
        return scores

    def _save_state(self, directory: Path) -> None:
        sp.save_npz(directory / "adjacency.npz", self.adj_)
        np.save(directory / "prior.npy", self.prior_)

    def _load_state(self, directory: Path) -> None:
        self.adj_ = sp.load_npz(directory / "adjacency.npz").tocsr()
        self.prior_ = np.load(directory / "prior.npy", allow_pickle=False)

    def describe(self) -> dict[str, object]:
        return to_dict(self.config)
