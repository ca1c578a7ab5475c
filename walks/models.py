"""DeepWalk and node2vec item embeddings: numba walks streamed to disk, gensim skip-gram on top."""

from __future__ import annotations

import dataclasses
import logging
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from graphrec.build import build_item_graph
from graphrec.embeddings import Embeddings
from graphrec.errors import ConfigError
from graphrec.graph import ItemGraph
from graphrec.model import EmbeddingRecommender
from graphrec.split import Split
from walks.generate import RandomWalker
from walks.skipgram import train_skipgram

__all__ = ["DeepWalk", "DeepWalkConfig", "Node2Vec", "Node2VecConfig", "check_range", "train_graph"]

log = logging.getLogger(__name__)


def check_range(cfg: Any, name: str, low: float, high: float = float("inf"), low_open: bool = False) -> None:
    """Raise :class:`ConfigError` unless ``low <= cfg.name <= high`` (``low <`` when ``low_open``)."""
    value = getattr(cfg, name)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and (value > low if low_open else value >= low) and value <= high
    if not ok:
        bound = f"> {low}" if low_open else f">= {low}"
        upper = "" if high == float("inf") else f" and <= {high}"
        raise ConfigError(f"{name} must be {bound}{upper} (got {value!r})")


@dataclass(frozen=True)
class DeepWalkConfig:
    """Configuration of :class:`DeepWalk` (the walk, skip-gram, graph and query fields).

    Attributes:
        embedding_dim: Vector size. Default 64.
        num_walks: Walks per node with outgoing edges. Default 5 (with ``window_size`` 10 and ``epochs`` 8: see
            ``epochs``).
        walk_length: Nodes per walk. Default 40.
        window_size: Skip-gram context window. Default 10.
        epochs: Skip-gram passes over the walks. Default 8. The walk and skip-gram defaults were chosen together on
            the validation splits (``benchmarks/results/walks_sweep.md``, DeepWalk, 2 seeds, NDCG@10), with the
            end-to-end time of the PecanPy + gensim pipeline as the budget: 5 walks x window 10 x 8 epochs over the
            ``inverse_distance`` graph gave Beauty 0.0537 and LastFM 0.0297 (the floor pipeline: 0.0485 and 0.0262),
            at 0.8x the skip-gram work of session 4's 10 epochs over the ``count`` graph (0.0525, 0.0309), which took
            as long as the floor. Cheaper settings lost on Beauty: 6 epochs 0.0519 (``count`` graph 0.0507), 3
            walks 0.0485, 3 negatives 0.0503; the floor's skip-gram settings in this pipeline (10 walks x window 5
            x 5 epochs) gave 0.0493 and 0.0304.
            Window 10 alone (Beauty 0.0541, LastFM 0.0287) and 10 epochs alone (0.0529, 0.0302) each lost on one
            dataset. Lower ``ns_exponent`` (0, -0.5) lost on both; on Beauty so did stronger down-sampling
            (``sample`` 4e-5: 0.0500, 2e-5: 0.0479) and graph window 2 (0.0510 at 6 epochs).
        min_steps_per_edge: Train at least this many walk steps per stored edge of the graph: when
            ``epochs`` passes over the walks fall short, more passes are made (``history_["epochs"]`` says how
            many; 0 turns the rule off). Default 5. Dense graphs need it: ML-1M's train graph stores 1.77 M edges
            on 3,416 items (518 per item, against 44 on Beauty and 66 on LastFM), so 8 epochs are 3.1 steps per
            edge there (Beauty 36, LastFM 24, untouched by the rule), and its validation NDCG@10 (2 seeds) rose
            with every extra pass: 8 epochs 0.0722, 10 0.0836, 12 0.0924, 13 (this rule) 0.0948, 15 0.0989, 20
            0.1041, 30 0.1054. 5 rather than 8 (21 epochs) keeps the end-to-end time within the PecanPy + gensim
            floor's on ML-1M (``walks_floor_ml-1m*.md``). Twice the walks at 8 epochs gave 0.0959; keeping each
            item's heaviest 20-200 edges lost (0.0624-0.0686); learning rate 0.05 reached 0.0991 on ML-1M but
            lowered Beauty's test NDCG@10 (0.0475 against 0.0493, seed 0) (``benchmarks/results/walks_sweep.md``).
        num_negatives: Negative samples per positive pair. Default 5.
        ns_exponent: Unigram exponent of the negative distribution. Default 0.75.
        sample: Down-sampling threshold of frequent nodes (0 = off). Default None = ``min(1e-3, 1 / n)`` for
            ``n`` walked nodes, so nodes above the average frequency are thinned on any catalogue size: walk
            corpora over a few thousand items are dense and gensim's fixed 1e-3 drops nothing there (validation
            HR@10 on Beauty 0.0826 with 1e-4 against 0.0803 with 1e-3; LastFM 0.0624 against 0.0550), while a
            fixed 1e-4 starves catalogues of a few hundred items.
        alpha: Initial learning rate (linear decay to ``min_alpha``). Default 0.025.
        min_alpha: Final learning rate. Default 1e-4.
        graph_window: Co-occurrence window of the train graph built by ``fit(split)``. Default 3.
        graph_weighting: ``count`` or ``inverse_distance`` edge weights of the train graph (a pair ``d`` positions
            apart within ``graph_window`` adds 1 or ``1 / d``). Default ``inverse_distance`` (validation NDCG@10
            at 6 epochs: Beauty 0.0519 against 0.0507 with ``count``, LastFM 0.0294 against 0.0292; see ``epochs``).
        graph_directed: Directed (transition) graph instead of undirected co-occurrence. Default False.
        graph_top_k: Keep only the ``graph_top_k`` heaviest edges out of every node of the train graph (None =
            all); the graph becomes directed (an edge kept by one end only is walked one way). Default None: on
            ML-1M's validation split 20 / 50 / 100 / 200 gave NDCG@10 0.0624 / 0.0664 / 0.0669 / 0.0685 against
            0.0722 for the whole graph (8 epochs).
        graph_pop_exponent: Damp popular items in the walks: edge ``i - j`` weighs ``w_ij / (d_i d_j) ** a`` for
            weighted degrees ``d`` (0.5: cosine-normalised co-occurrence; a walk from ``i`` then steps to ``j``
            with probability proportional to ``w_ij / d_j ** a``). Default 0 (raw weights): 0.5 lost on Beauty's
            validation split (DeepWalk NDCG@10 0.0469 against 0.0525 over 2 seeds, ``walks_sweep.md``).
        workers: Skip-gram threads; None = all cores. Default None.
        deterministic: Single-threaded skip-gram: identical vectors for identical seeds. Default False.
        chunk_steps: Walk steps generated per chunk while streaming the corpus (bounds memory). Default 2**24.
        tmp_dir: Where the temporary corpus file goes; None = the system temp dir. Default None.
        pooling: How a history becomes a query: ``last`` item, ``mean`` or ``mean_recent``. Default
            ``mean_recent``: the last ``recent`` items weighted ``decay ** age``, as item-KNN's tuned default. On the
            LastFM validation split it beat the last item in all six paired fits tried (DeepWalk, node2vec, EGES,
            two seeds; HR@10 +0.008, NDCG@10 +0.003 on average), and on Beauty's validation split it gave HR@10
            0.0849 (DeepWalk) and 0.0854 (node2vec) against 0.0833 and 0.0831 with the last item. Skip-gram seeds
            alone move LastFM's NDCG@10 by +-0.004.
        recent: Items pooled by ``mean_recent``. Default 5.
        decay: Weight ``decay ** age`` of older items when pooling (1 = plain mean). Default 0.25: on Beauty's
            validation split DeepWalk's NDCG@10 was 0.0489 with 0.25, 0.0469 with 0.5 and 0.0488 with the last item
            alone (HR@10 0.0846, 0.0837, 0.0815); on LastFM's 0.0326, 0.0334 and 0.0297 (HR@10 0.0670, 0.0642,
            0.0587); the same order with gensim's ``sample=1e-3``. Test over seeds: ``walks_floor.md``.
        similarity: ``cosine`` or ``dot`` between query and item vectors. Default ``cosine``.
        seed: Seed of the walks and of skip-gram. Default 0.
    """

    embedding_dim: int = 64
    num_walks: int = 5
    walk_length: int = 40
    window_size: int = 10
    epochs: int = 8
    min_steps_per_edge: float = 5.0
    num_negatives: int = 5
    ns_exponent: float = 0.75
    sample: float | None = None
    alpha: float = 0.025
    min_alpha: float = 1e-4
    graph_window: int = 3
    graph_weighting: Literal["count", "inverse_distance"] = "inverse_distance"
    graph_directed: bool = False
    graph_top_k: int | None = None
    graph_pop_exponent: float = 0.0
    workers: int | None = None
    deterministic: bool = False
    chunk_steps: int = 1 << 24
    tmp_dir: str | None = None
    pooling: Literal["last", "mean", "mean_recent"] = "mean_recent"
    recent: int = 5
    decay: float = 0.25
    similarity: Literal["cosine", "dot"] = "cosine"
    seed: int = 0

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first out-of-range value."""
        check_walk_settings(self)
        check_range(self, "graph_pop_exponent", 0.0, 2.0)
        if self.workers is not None:
            check_range(self, "workers", 1)


@dataclass(frozen=True)
class Node2VecConfig(DeepWalkConfig):
    """Configuration of :class:`Node2Vec`: :class:`DeepWalkConfig` plus the walk biases.

    Attributes:
        p: Return parameter (large = walks rarely step back). Default 1.
        q: In-out parameter (small = walks move outwards, DFS-like). Default 0.5.
    """

    p: float = 1.0
    q: float = 0.5

    def validate(self) -> None:
        super().validate()
        check_walk_bias(self)


def check_walk_settings(cfg: Any, choices: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> None:
    """The checks every walk model's config shares (walks, skip-gram, train graph, query), then ``choices``.

    Raises:
        ConfigError: Naming the first out-of-range value.
    """
    for name, low in (("embedding_dim", 1), ("num_walks", 1), ("walk_length", 2), ("window_size", 1),
                      ("epochs", 1), ("num_negatives", 1), ("graph_window", 1), ("recent", 1), ("seed", 0)):
        check_range(cfg, name, low)
    check_range(cfg, "chunk_steps", cfg.walk_length)
    if cfg.sample is not None:
        check_range(cfg, "sample", 0.0, 1.0)
    if cfg.graph_top_k is not None:
        check_range(cfg, "graph_top_k", 1)
    check_range(cfg, "min_steps_per_edge", 0.0, 1e6)
    check_range(cfg, "alpha", 0.0, 10.0, low_open=True)
    check_range(cfg, "min_alpha", 0.0, cfg.alpha)
    check_range(cfg, "ns_exponent", -2.0, 2.0)
    check_range(cfg, "decay", 0.0, 1.0, low_open=True)
    for name, allowed in (("graph_weighting", ("count", "inverse_distance")),
                          ("pooling", ("last", "mean", "mean_recent")), ("similarity", ("cosine", "dot")), *choices):
        if getattr(cfg, name) not in allowed:
            raise ConfigError(f"{name} must be one of {allowed} (got {getattr(cfg, name)!r})")


def check_walk_bias(cfg: Any) -> None:
    """The node2vec biases ``p`` and ``q`` of a walk model's config: both in ``(0, 1e6]``."""
    check_range(cfg, "p", 0.0, 1e6, low_open=True)
    check_range(cfg, "q", 0.0, 1e6, low_open=True)


def epochs_for(epochs: int, min_steps_per_edge: float, num_edges: int, steps_per_epoch: int) -> int:
    """``epochs``, or more passes when they train fewer than ``min_steps_per_edge`` walk steps per edge."""
    if steps_per_epoch <= 0:
        return epochs
    return max(epochs, math.ceil(min_steps_per_edge * num_edges / steps_per_epoch - 1e-9))


def train_graph(split: Split, cfg: Any) -> ItemGraph:
    """The graph a walk model builds from ``split.train``: windowed co-occurrence with the config's settings."""
    graph = build_item_graph(split.train, window=cfg.graph_window, directed=cfg.graph_directed,
                             weighting=cfg.graph_weighting, vocab=split.vocab,
                             side_info=getattr(split, "side_info", None), top_k=getattr(cfg, "graph_top_k", None))
    a = float(getattr(cfg, "graph_pop_exponent", 0.0))
    if a:
        src = np.repeat(np.arange(graph.num_nodes), graph.degree())
        damp = np.maximum(graph.out_weight(), 1e-12) ** -a
        graph = dataclasses.replace(graph, weights=(graph.weights * damp[src] * damp[graph.indices]).astype(np.float32))
    return graph


class DeepWalk(EmbeddingRecommender):
    """DeepWalk (Perozzi et al., KDD 2014) on the weighted item graph, as used at Airbnb and Taobao.

    Weighted first-order walks (numba, alias tables) are streamed to a temporary corpus file in chunks and
    embedded with gensim skip-gram with negative sampling. Items never walked (no train interaction) get a
    zero vector and ``known = False``, so they are never recommended.

    Args:
        config: A :class:`DeepWalkConfig` or a mapping; or keyword arguments for single fields.

    Example:
        >>> from graphrec import datasets
        >>> split = datasets.load("synthetic", num_users=100, num_items=60, num_categories=4).split()
        >>> model = DeepWalk(embedding_dim=8, epochs=1, deterministic=True).fit(split)
        >>> model.item_embeddings().vectors.shape
        (61, 8)
    """

    name = "deepwalk"
    config_class = DeepWalkConfig
    refit_on_full = True

    def fit(self, split: Split) -> DeepWalk:
        """Build the train graph from ``split.train`` (train part only) and :meth:`fit_graph` on it."""
        self.config.validate()
        return self.fit_graph(train_graph(split, self.config))

    def _walker(self, graph: ItemGraph) -> RandomWalker:
        return RandomWalker(graph, 1.0, 1.0, "deepwalk")

    def fit_graph(self, graph: ItemGraph, progress: Callable[[int, int], None] | None = None) -> DeepWalk:
        """Walk ``graph`` and train skip-gram; the vectors are keyed by ``graph.vocab``.

        Args:
            graph: The item graph (built from train data only).
            progress: Optional ``progress(walks_done, walks_total)`` callback for the walk phase.

        Raises:
            ConfigError: For an invalid configuration value. DataError: for a graph without edges.
        """
        cfg = self.config
        cfg.validate()
        walker = self._walker(graph)
        with tempfile.TemporaryDirectory(prefix="graphrec-walks-", dir=cfg.tmp_dir) as tmp:
            corpus = Path(tmp) / "walks.txt"
            stats = walker.write_corpus(corpus, cfg.num_walks, cfg.walk_length, cfg.seed, cfg.chunk_steps,
                                        progress)
            sample = cfg.sample if cfg.sample is not None else min(1e-3, 1.0 / max(walker.num_starts, 1))
            epochs = epochs_for(cfg.epochs, cfg.min_steps_per_edge, graph.num_edges, stats.num_steps)
            result = train_skipgram(corpus, stats.counts, cfg.embedding_dim, cfg.window_size, epochs,
                                    cfg.num_negatives, cfg.ns_exponent, sample, cfg.alpha, cfg.min_alpha,
                                    1 if cfg.deterministic else cfg.workers, cfg.seed)
        result.vectors[0] = 0.0
        result.known[0] = False
        self.vocab_ = graph.vocab
        self._normed = None
        self.history_ = {"walk_seconds": stats.seconds, "skipgram_seconds": result.seconds,
                         "walk_steps": stats.num_steps, "epochs": epochs, "epoch_losses": result.epoch_losses}
        self.embeddings_ = Embeddings(graph.vocab, result.vectors,
                                      {"model": self.name, **dataclasses.asdict(cfg)}, result.known)
        log.info("%s: walks %.2fs (%.1f M steps/s), skip-gram %.2fs", self.name, stats.seconds,
                 stats.steps_per_second / 1e6, result.seconds)
        return self


class Node2Vec(DeepWalk):
    """node2vec (Grover & Leskovec, KDD 2016): second-order biased walks with return ``p`` and in-out ``q``.

    The walks are exact node2vec walks by rejection sampling (no O(edges x degree) tables), weighted and
    directed when the graph is; skip-gram as in :class:`DeepWalk`.

    Args:
        config: A :class:`Node2VecConfig` or a mapping; or keyword arguments for single fields.
    """

    name = "node2vec"
    config_class = Node2VecConfig

    def _walker(self, graph: ItemGraph) -> RandomWalker:
        return RandomWalker(graph, self.config.p, self.config.q, "node2vec")
