"""EGES: enhanced graph embedding with side information (Wang et al., KDD 2018), and its GES ablation."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import numba
import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from graphrec.embeddings import Embeddings
from graphrec.errors import ConfigError, DataError
from graphrec.graph import ItemGraph
from graphrec.model import EmbeddingRecommender
from graphrec.sideinfo import SideField, SideInfo
from graphrec.split import Split
from walks import kernels
from walks.eges_kernel import keep_probabilities, subsample_walks, train_walks
from walks.generate import RandomWalker
from walks.models import check_range, check_walk_bias, check_walk_settings, epochs_for, train_graph

__all__ = ["EGES", "EGESConfig", "GES", "GESConfig", "EGESNet", "common_values", "row_weights", "side_matrices",
           "value_weights"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EGESConfig:
    """Configuration of :class:`EGES`.

    Attributes:
        embedding_dim: Dimension of every item and side-information embedding. Default 64.
        num_walks: Walks per node with outgoing edges, per epoch (fresh walks every epoch). Default 10.
        walk_length: Nodes per walk. Default 40.
        window_size: Skip-gram window over the walks (shrunk at random per centre, as word2vec). Default 10:
            validation NDCG@10 (2 seeds) Beauty 0.0488 and LastFM 0.0350 against 0.0454 and 0.0337 with 5
            (``benchmarks/results/walks_sweep.md``), for ~1.3x the fit time.
        epochs: Passes; each walks the graph anew. Default 5.
        min_steps_per_edge: More passes when ``epochs`` train fewer walk steps than this per stored edge, as
            :class:`~walks.DeepWalkConfig` (``history_["epochs"]`` says how many). Default 5.
        num_negatives: Negative contexts per positive pair, drawn from the unigram distribution. Default 5.
        ns_exponent: Exponent of the unigram distribution. Default 0.75.
        sample: Down-sampling threshold of frequent nodes (0 = off); None = ``min(1e-3, 1 / n)`` for ``n``
            walked nodes, as :class:`~walks.DeepWalkConfig`. Default None.
        alpha: Initial SGD learning rate, decayed linearly to ``min_alpha`` (word2vec). Default 0.025: on the
            test cases (train + validation fits, 1 thread, seeds 0 and 1) 0.05 moved Beauty's NDCG@10 to 0.0476
            from 0.0470 but LastFM's to 0.0306 from 0.0387, and 0.075 diverges (Beauty 0.0131): the shared
            attention logits take a whole walk's summed step at once
            (``benchmarks/results/walks_runs/s11_eges_ablation.jsonl``, tags ``eges_alpha*``).
        min_alpha: Final learning rate. Default 1e-4.
        shared_attention: Learn an attention logit per source shared by all items (``b_j``, added to each item's
            ``a_vj``). Per-item logits get few updates per item in a short training; the shared one moves with
            every centre, so the weight of side information versus the item's own vector is learned per dataset.
            Default True: validation NDCG@10 (2 seeds) Beauty 0.0494 and LastFM 0.0371 against 0.0488 and 0.0350
            without it (``benchmarks/results/walks_sweep.md``); test against the floor: ``walks_floor_eges_s10.md``.
        item_attention: Initial attention logit of the item's own embedding (the side fields start at 0), so
            ``exp(item_attention)`` is its initial weight relative to one field. Default 0.
        max_side_values: Values kept per item and field (multi-valued fields are averaged). Default 32.
        max_value_share: Side values held by more than this share of the items that have the field (a broad
            category on a third of the catalogue) are left out of the mean of every item that has a rarer value,
            as a vectoriser's ``max_df``; 1 keeps all. Default 1: shares 0.05 / 0.1 / 0.2 moved validation
            NDCG@10 (2 seeds) by +0.0008 / +0.0011 / +0.0006 on Beauty and -0.0015 / -0.0022 / -0.0007 on LastFM
            (``benchmarks/results/walks_runs/s11_eges_ablation.jsonl``, run before the keep-the-only-value rule).
        side_weighting: How an item's values in a multi-valued field are averaged: ``mean`` (equal weights, as
            the paper) or ``idf`` (each value weighted by its smoothed inverse document frequency over the items,
            so broad categories shared by much of the catalogue count less than a brand). Default ``mean``: ``idf``
            lifted Beauty's validation NDCG@10 (2 seeds) to 0.0512 from 0.0497 but not its test cases (0.0460
            against 0.0470, ``walks_floor_eges_s11.md``), and lowered LastFM's validation to 0.0389 from 0.0403.
        p: Return parameter of the walks (1 with ``q = 1`` = first-order walks). Default 1.
        q: In-out parameter of the walks. Default 1.
        graph_window: Co-occurrence window of the train graph built by ``fit(split)``. Default 3.
        graph_weighting: ``count`` or ``inverse_distance``. Default ``count``: ``inverse_distance`` (DeepWalk's
            default) lowered LastFM's validation NDCG@10 (2 seeds) to 0.0320 from 0.0336
            (``walks_sweep.md``) and moved Beauty's test cases (1 thread, seeds 0 and 1) only to 0.0474 from 0.0470
            (tag ``eges_invdist_1thread``).
        graph_directed: Directed (transition) graph instead of co-occurrence. Default False.
        graph_top_k: Keep only the ``graph_top_k`` heaviest edges out of every node (None = all), as
            :class:`~walks.DeepWalkConfig`. Default None.
        chunk_steps: Walk steps per chunk (walks are generated and trained chunk by chunk: bounded memory).
            Default 2**22.
        pooling: ``last``, ``mean`` or ``mean_recent`` history pooling. Default ``mean_recent`` (the last
            ``recent`` items weighted ``decay ** age``, as DeepWalk's default): validation NDCG@10 (2 seeds) LastFM
            0.0403 against 0.0371 with the last item alone, Beauty 0.0497 against 0.0494; and on the test cases
            (train + validation fits) LastFM 0.0387 against 0.0374, Beauty 0.0470 against 0.0466
            (``benchmarks/results/walks_eges_pooling.md``); ``decay`` 0.5 lost on both.
        recent: Items pooled by ``mean_recent``. Default 5.
        decay: Weight ``decay ** age`` of older items when pooling. Default 0.25.
        similarity: ``cosine`` or ``dot``. Default ``cosine``.
        trainer: ``numba`` (default): the SGD kernel of :mod:`walks.eges_kernel`, one step per centre, Hogwild over
            threads. ``torch``: PyTorch minibatches of ``batch_size`` (centre, context) pairs through
            :class:`EGESNet` (sparse gradients, ``SparseAdam`` on the embedding tables, ``Adam`` on the shared
            attention logits, the rate decayed linearly), on ``device``: for a GPU, or to change the model in
            PyTorch. Both train on the same walks, down-sampling and negative distribution, with pairs from the
            same distribution; on a CPU the kernel is the faster and the better of the two
            (``benchmarks/results/walks_eges_torch.md``).
        batch_size: Pairs per minibatch (``trainer="torch"``). Default 4096.
        torch_lr: Initial Adam learning rate (``trainer="torch"``). Default 0.01.
        device: Torch device of ``trainer="torch"`` (``cpu``, ``cuda``, ``cuda:1`` ...). Default ``cpu``.
        num_threads: numba threads while training (Hogwild: several threads are not bit-identical), and torch's
            with ``trainer="torch"``; None keeps the current settings. Default None.
        deterministic: Train on one thread: identical vectors for identical seeds. Default False.
        seed: Seed of walks, pairs, negatives and initialisation. Default 0.
    """

    embedding_dim: int = 64
    num_walks: int = 10
    walk_length: int = 40
    window_size: int = 10
    epochs: int = 5
    min_steps_per_edge: float = 5.0
    num_negatives: int = 5
    ns_exponent: float = 0.75
    sample: float | None = None
    alpha: float = 0.025
    min_alpha: float = 1e-4
    shared_attention: bool = True
    item_attention: float = 0.0
    max_side_values: int = 32
    max_value_share: float = 1.0
    side_weighting: Literal["mean", "idf"] = "mean"
    p: float = 1.0
    q: float = 1.0
    graph_window: int = 3
    graph_weighting: Literal["count", "inverse_distance"] = "count"
    graph_directed: bool = False
    graph_top_k: int | None = None
    chunk_steps: int = 1 << 22
    pooling: Literal["last", "mean", "mean_recent"] = "mean_recent"
    recent: int = 5
    decay: float = 0.25
    similarity: Literal["cosine", "dot"] = "cosine"
    trainer: Literal["numba", "torch"] = "numba"
    batch_size: int = 4096
    torch_lr: float = 0.01
    device: str = "cpu"
    num_threads: int | None = None
    deterministic: bool = False
    seed: int = 0

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first out-of-range value."""
        if self.num_threads is not None:
            check_range(self, "num_threads", 1)
        check_range(self, "max_side_values", 1)
        check_walk_settings(self, (("side_weighting", ("mean", "idf")), ("trainer", ("numba", "torch"))))
        check_range(self, "batch_size", 1)
        check_range(self, "torch_lr", 0.0, 10.0, low_open=True)
        try:
            torch.device(self.device)
        except (RuntimeError, TypeError) as err:
            raise ConfigError(f"device must name a torch device such as 'cpu' or 'cuda' (got {self.device!r})") from err
        check_range(self, "item_attention", -20.0, 20.0)
        check_range(self, "max_value_share", 0.0, 1.0, low_open=True)
        check_walk_bias(self)


@dataclass(frozen=True)
class GESConfig(EGESConfig):
    """Configuration of :class:`GES` (same fields as :class:`EGESConfig`)."""


def _document_frequency(f: SideField) -> tuple[NDArray[np.int64], int]:
    """How many items hold each value code ``0..num_values`` of ``f`` (repeats counted once), and how many items
    have the field at all."""
    counts = np.diff(f.offsets)
    rows = np.repeat(np.arange(len(counts)), counts)
    pairs = np.unique(rows.astype(np.int64) * (f.num_values + 1) + f.values[: len(rows)])
    return np.bincount(pairs % (f.num_values + 1), minlength=f.num_values + 1), max(int((counts > 0).sum()), 1)


def common_values(side_info: SideInfo | None, max_share: float) -> list[NDArray[np.bool_]]:
    """Per field, ``bool[num_values + 1]`` marking the value codes held by more than ``max_share`` of the items
    that have the field (``max_share`` 1 marks none)."""
    out = []
    for f in side_info.fields if side_info is not None else []:
        held, n = _document_frequency(f)
        out.append(held > max_share * n)
    return out


def value_weights(side_info: SideInfo | None, kind: str) -> list[NDArray[np.float32]] | None:
    """Per field, ``float32[num_values + 1]``: each value's weight in its item's mean. ``mean``: None (all
    equal); ``idf``: the smoothed inverse document frequency ``1 + ln((1 + n) / (1 + df))`` over the ``n`` items
    that have the field (on Beauty's 12,101 items a value held by a third of them weighs 2.1, one held by a single
    item 9.7)."""
    if kind == "mean" or side_info is None:
        return None
    out = []
    for f in side_info.fields:
        held, n = _document_frequency(f)
        out.append((1.0 + np.log((1.0 + n) / (1.0 + held))).astype(np.float32))
    return out


def row_weights(mats: list[NDArray[np.int64]],
                weights: list[NDArray[np.float32]] | None) -> list[NDArray[np.float32]]:
    """Per field, ``float32[N + 1, k]``: the weight of each entry of ``mats`` in its item's mean (rows sum to 1
    over the values an item has, 0 on padding); ``weights`` None gives the plain mean.

    Raises:
        DataError: For a value code the weights do not cover (side info coded unlike the training data).
    """
    out = []
    for i, m in enumerate(mats):
        if weights is None:
            w = (m > 0).astype(np.float32)
        else:
            if m.max(initial=0) >= len(weights[i]):
                raise DataError(f"side field {i}: value code {int(m.max())} was not in the training side info "
                                f"({len(weights[i]) - 1} values)")
            w = np.where(m > 0, weights[i][m], 0.0).astype(np.float32)
        total = w.sum(axis=1, keepdims=True)
        out.append(np.divide(w, total, out=np.zeros_like(w), where=total > 0))
    return out


def side_matrices(side_info: SideInfo | None, num_items: int, max_values: int,
                  common: list[NDArray[np.bool_]] | None = None) -> tuple[list[NDArray[np.int64]], list[int]]:
    """One ``int64[num_items + 1, k]`` matrix per field: the item's value codes, 0-padded (``k <= max_values``).

    ``common`` (per field, a mask over value codes; see :func:`common_values`) leaves those values out of every
    item that has a value outside them; an item whose values are all common keeps them.

    Returns:
        The matrices and the number of values of every field.
    """
    if side_info is None:
        return [], []
    if side_info.num_items != num_items:
        raise DataError(f"side info covers {side_info.num_items} items but the graph has {num_items}")
    mats, sizes = [], []
    for i, f in enumerate(side_info.fields):
        counts = np.diff(f.offsets)[: num_items + 1]
        rows = np.repeat(np.arange(num_items + 1), counts)
        vals = f.values[: len(rows)]
        if common is not None:
            mask = np.zeros(f.num_values + 1, dtype=bool)
            mask[: min(len(mask), len(common[i]))] = common[i][: len(mask)]
            is_common = mask[vals]
            has_rare = np.bincount(rows[~is_common], minlength=num_items + 1) > 0
            keep = ~is_common | ~has_rare[rows]
            rows, vals = rows[keep], vals[keep]
            counts = np.bincount(rows, minlength=num_items + 1)
        k = int(min(max(int(counts.max(initial=0)), 1), max_values))
        if counts.max(initial=0) > max_values:
            log.warning("side field %r: %d items have more than %d values; extra values are dropped", f.name,
                        int((counts > max_values).sum()), max_values)
        col = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
        keep = col < k
        mat = np.zeros((num_items + 1, k), dtype=np.int64)
        mat[rows[keep], col[keep]] = vals[keep]
        mats.append(mat)
        sizes.append(f.num_values)
    return mats, sizes


def _side_rows(mats: list[NDArray[np.int64]], table_sizes: list[int],
               num_nodes: int) -> tuple[NDArray[np.int32], NDArray[np.int64]]:
    """Side values as rows of the concatenated side tables: ``int32[num_nodes, sum k_f]`` (-1 = none) and the
    column offsets ``int64[F + 1]`` of every field."""
    if not mats:
        return np.full((num_nodes, 1), -1, dtype=np.int32), np.zeros(1, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(table_sizes)[:-1]])
    side = np.concatenate([np.where(m > 0, m + off, -1) for m, off in zip(mats, offsets, strict=True)], axis=1)
    field_cols = np.concatenate([[0], np.cumsum([m.shape[1] for m in mats])]).astype(np.int64)
    return np.ascontiguousarray(side, dtype=np.int32), field_cols


def _load_arrays(path: Path) -> list[NDArray[Any]] | None:
    """The arrays of an ``np.savez`` file in order, or None when it does not exist."""
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as z:
        return [z[f"arr_{i}"] for i in range(len(z.files))]


class EGESNet(nn.Module):
    """Item, side-information and context embeddings with per-item attention over the ``F + 1`` sources.

    .. math::
        H_v = \\frac{\\sum_{j=0}^{F} e^{a_v^j + b^j} W_v^j}{\\sum_{j=0}^{F} e^{a_v^j + b^j}}

    where ``W^0`` is the item's own embedding and ``W^j`` the (weighted) mean embedding of its values in field
    ``j``; sources an item lacks are left out; ``b`` (``attn_bias``) is shared by all items. ``attention=False``
    gives GES (plain average).

    Args:
        num_items: Number of items ``N`` (rows ``0..N``; 0 is padding).
        side: Per field an ``int64[N + 1, k]`` matrix of 0-padded value codes (see :func:`side_matrices`).
        side_sizes: Number of values of every field.
        embedding_dim: Embedding dimension.
        attention: Learn ``a_v^j`` (EGES) or average uniformly (GES).
        side_weights: Per field the weight of each entry of ``side`` in its item's mean (see :func:`row_weights`);
            None = the plain mean.
    """

    present: torch.Tensor  # registered buffers, declared for the type checker

    def __init__(self, num_items: int, side: list[NDArray[np.int64]], side_sizes: list[int], embedding_dim: int,
                 attention: bool = True, side_weights: list[NDArray[np.float32]] | None = None) -> None:
        super().__init__()
        self.attention = attention
        self.item = nn.Embedding(num_items + 1, embedding_dim, sparse=True)
        self.fields = nn.ModuleList(nn.EmbeddingBag(n + 1, embedding_dim, mode="sum", sparse=True, padding_idx=0)
                                    for n in side_sizes)
        self.attn = nn.Embedding(num_items + 1, len(side) + 1, sparse=True)
        self.attn_bias = nn.Parameter(torch.zeros(len(side) + 1))  # shared by all items (``shared_attention``)
        self.context = nn.Embedding(num_items + 1, embedding_dim, sparse=True)
        bound = 0.5 / embedding_dim
        for emb in [self.item, *self.fields]:
            nn.init.uniform_(emb.weight, -bound, bound)
        nn.init.zeros_(self.attn.weight)
        nn.init.zeros_(self.context.weight)
        weights = row_weights(side, None) if side_weights is None else side_weights
        for i, (mat, wts) in enumerate(zip(side, weights, strict=True)):
            self.register_buffer(f"side{i}", torch.from_numpy(np.ascontiguousarray(mat)))
            self.register_buffer(f"sidew{i}", torch.from_numpy(np.ascontiguousarray(wts, dtype=np.float32)))
        present = np.ones((num_items + 1, len(side) + 1), dtype=bool)
        for i, mat in enumerate(side):
            present[:, i + 1] = (mat > 0).any(axis=1)
        self.register_buffer("present", torch.from_numpy(present))

    def sources(self, items: torch.Tensor) -> torch.Tensor:
        """``[B, F + 1, d]``: the item embedding and the (weighted) mean embedding of each field's values."""
        parts = [self.item(items)]
        for i, bag in enumerate(self.fields):
            parts.append(bag(getattr(self, f"side{i}")[items], per_sample_weights=getattr(self, f"sidew{i}")[items]))
        return torch.stack(parts, dim=1)

    def bags(self) -> list[nn.EmbeddingBag]:
        """The side-information tables, one ``EmbeddingBag`` per field."""
        return [cast(nn.EmbeddingBag, bag) for bag in self.fields]

    def weights(self, items: torch.Tensor, use_item: bool = True) -> torch.Tensor:
        """``[B, F + 1]`` attention weights ``softmax(a_v)`` over the sources each item has."""
        present = self.present[items].clone()
        if not use_item:
            present[:, 0] = False
        logits = self.attn(items) + self.attn_bias if self.attention else torch.zeros(present.shape,
                                                                                      device=present.device)
        logits = logits.masked_fill(~present, float("-inf"))
        w = torch.softmax(logits, dim=1)
        return torch.nan_to_num(w, nan=0.0)  # an item with no source at all gets a zero vector

    def forward(self, items: torch.Tensor, use_item: bool = True) -> torch.Tensor:
        """Aggregated embeddings ``H`` of ``items``; ``use_item=False`` uses side information alone."""
        return (self.weights(items, use_item).unsqueeze(-1) * self.sources(items)).sum(dim=1)

    def loss(self, centers: torch.Tensor, contexts: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        """Skip-gram negative-sampling loss of ``H_center`` against context vectors ``Z``, per pair (a negative
        equal to its pair's context is left out, as word2vec and the numba kernel do)."""
        h = self(centers)
        pos = (h * self.context(contexts)).sum(-1)
        neg = (self.context(negatives) * h.unsqueeze(1)).sum(-1)
        real = (negatives != contexts.unsqueeze(1)).to(neg.dtype)
        return -(nn.functional.logsigmoid(pos).mean() + (nn.functional.logsigmoid(-neg) * real).sum(-1).mean())


class EGES(EmbeddingRecommender):
    """EGES (Wang et al., KDD 2018, "Billion-scale commodity embedding for e-commerce recommendation").

    Walks on the item graph (numba) are trained chunk by chunk by a numba SGD kernel with hand-derived
    gradients (:mod:`walks.eges_kernel`): an embedding per item and per side-information value, mixed per item
    by learned attention, with skip-gram negative sampling, Hogwild over threads (``deterministic=True`` for
    one thread and reproducible vectors). :class:`EGESNet` holds the weights and is the PyTorch reference
    implementation of the forward pass and loss (the tests check the kernel's gradients against autograd);
    ``trainer="torch"`` trains it in PyTorch instead, on minibatches with sparse gradients, on any torch device.
    Items with side information but no interaction (cold start) get the average
    of their side embeddings, as in the paper, and are recommendable (``known`` true).

    Args:
        config: An :class:`EGESConfig` or a mapping; or keyword arguments for single fields.

    Example:
        >>> from graphrec import datasets
        >>> split = datasets.load("synthetic", num_users=100, num_items=60, num_categories=4).split()
        >>> EGES(embedding_dim=8, epochs=1).fit(split).item_embeddings().vectors.shape
        (61, 8)
    """

    name = "eges"
    config_class = EGESConfig
    refit_on_full = True
    attention = True
    common_: list[NDArray[np.bool_]] | None = None  # per field, the value codes left out (``max_value_share``)
    value_weights_: list[NDArray[np.float32]] | None = None  # per field, each value's weight (``side_weighting``)

    def fit(self, split: Split) -> EGES:
        """Build the train graph from ``split.train`` (with ``split.side_info``) and :meth:`fit_graph`."""
        self.config.validate()
        return self.fit_graph(train_graph(split, self.config))

    def fit_graph(self, graph: ItemGraph, side_info: SideInfo | None = None) -> EGES:
        """Train on walks over ``graph``; side information from ``side_info`` or ``graph.side_info``.

        Raises:
            ConfigError: For an invalid configuration value. DataError: for a graph without edges.
        """
        cfg = self.config
        cfg.validate()
        side_info = side_info if side_info is not None else graph.side_info
        if side_info is None:
            log.warning("%s: no side information; this is DeepWalk with the EGES skip-gram kernel", self.name)
        torch.manual_seed(cfg.seed)
        self.common_ = common_values(side_info, cfg.max_value_share) if cfg.max_value_share < 1.0 else None
        if self.common_:
            log.info("%s: side values held by more than %g of the items, left out where an item has a rarer one: %s",
                     self.name, cfg.max_value_share, [int(m.sum()) for m in self.common_])
        mats, sizes = side_matrices(side_info, graph.num_items, cfg.max_side_values, self.common_)
        self.value_weights_ = value_weights(side_info, cfg.side_weighting)
        self.net_ = EGESNet(graph.num_items, mats, sizes, cfg.embedding_dim, attention=self.attention,
                            side_weights=row_weights(mats, self.value_weights_))
        if self.attention:
            with torch.no_grad():
                self.net_.attn.weight[:, 0] = cfg.item_attention
        self.field_names_ = [] if side_info is None else side_info.field_names
        walker = RandomWalker(graph, cfg.p, cfg.q)
        t0 = time.perf_counter()
        threads, torch_threads = numba.get_num_threads(), torch.get_num_threads()
        try:
            if cfg.deterministic or cfg.num_threads is not None:
                wanted = 1 if cfg.deterministic else int(cfg.num_threads or 1)
                numba.set_num_threads(min(wanted, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
                torch.set_num_threads(wanted)
            if cfg.trainer == "torch":
                losses, pairs = self._train_torch(walker)
            else:
                losses, pairs = self._train(walker, mats)
        finally:
            numba.set_num_threads(threads)
            torch.set_num_threads(torch_threads)
        self.vocab_ = graph.vocab
        self.walked_ = np.zeros(graph.num_nodes, dtype=bool)
        self.walked_[walker.starts] = True
        seconds = time.perf_counter() - t0
        self.history_ = {"epochs": len(losses), "epoch_losses": losses, "train_seconds": seconds, "pairs": pairs,
                         "pairs_per_second": pairs / seconds if seconds > 0 else None}
        self._set_embeddings()
        return self

    def _train(self, walker: RandomWalker, mats: list[NDArray[np.int64]]) -> tuple[list[float], int]:
        """Walk, down-sample and train chunk by chunk with the numba kernel, in place on the net's weights."""
        cfg = self.config
        net = self.net_
        d = cfg.embedding_dim
        item_emb, context = net.item.weight.detach().numpy(), net.context.weight.detach().numpy()
        attn = net.attn.weight.detach().numpy()
        bias = net.attn_bias.detach().numpy()
        tables: list[NDArray[np.float32]] = [bag.weight.detach().numpy() for bag in net.bags()]
        side_emb = np.ascontiguousarray(np.concatenate(tables) if tables else np.zeros((1, d), np.float32))
        side, field_cols = _side_rows(mats, [len(t) for t in tables], walker.graph.num_nodes)
        side_w = np.ascontiguousarray(
            np.concatenate([getattr(net, f"sidew{i}").numpy() for i in range(len(mats))], axis=1) if mats
            else np.zeros(side.shape, np.float32))
        present = net.present.numpy()
        keep, neg_prob, neg_alias, total, epochs = self._corpus(walker)

        def train_chunk(first: int, walks: NDArray[np.int32], lengths: NDArray[np.int32]) -> tuple[float, int]:
            return train_walks(walks, lengths, first, epochs * total, cfg.window_size, cfg.num_negatives, cfg.alpha,
                               cfg.min_alpha, keep, neg_prob, neg_alias, item_emb, side_emb, side, side_w,
                               field_cols, present, attn, bias, self.attention and cfg.shared_attention, context,
                               self.attention, cfg.seed)

        losses, num_pairs = self._epochs(walker, epochs, total, max(1, cfg.chunk_steps // cfg.walk_length),
                                         train_chunk, "numba")
        start = 0
        for table in tables:  # write the trained side tables back into the net
            table[:] = side_emb[start:start + len(table)]
            start += len(table)
        return losses, num_pairs

    def _epochs(self, walker: RandomWalker, epochs: int, total: int, per_chunk: int,
                train_chunk: Callable[[int, NDArray[np.int32], NDArray[np.int32]], tuple[float, int]],
                label: str) -> tuple[list[float], int]:
        """Walk ``epochs`` x ``total`` walks in chunks of ``per_chunk`` (walk indices ``first ..``) and train each
        chunk with ``train_chunk(first, walks, lengths) -> (summed loss, pairs)``; logs every epoch and returns
        the loss per pair of each epoch and the number of pairs."""
        cfg = self.config
        losses, num_pairs = [], 0
        for epoch in range(epochs):
            t0, run, pairs = time.perf_counter(), 0.0, 0
            for first in range(epoch * total, (epoch + 1) * total, per_chunk):
                count = min(per_chunk, (epoch + 1) * total - first)
                walks, lengths = walker.walk_range(first, count, cfg.walk_length, cfg.seed)
                loss, n = train_chunk(first, walks, lengths)
                run += loss
                pairs += n
            losses.append(run / max(pairs, 1))
            num_pairs += pairs
            seconds = time.perf_counter() - t0
            log.info("%s epoch %d/%d (%s): loss %.4f per pair (%d pairs, %.1fs, %.2f M pairs/s)", self.name,
                     epoch + 1, epochs, label, losses[-1], pairs, seconds, pairs / max(seconds, 1e-9) / 1e6)
        return losses, num_pairs

    def _corpus(self, walker: RandomWalker) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.int32],
                                                     int, int]:
        """Down-sampling keep probabilities, the alias table of the negative distribution, the walks per epoch
        and the number of epochs; one round of walks estimates the node frequencies."""
        cfg = self.config
        walks, lengths = walker.walk_range(0, walker.num_starts, cfg.walk_length, cfg.seed)
        counts = kernels.token_counts(walks, lengths, walker.graph.num_nodes)
        sample = cfg.sample if cfg.sample is not None else min(1e-3, 1.0 / max(walker.num_starts, 1))
        keep = keep_probabilities(counts, sample)
        noise = (counts.astype(np.float64) ** cfg.ns_exponent * (counts > 0)).astype(np.float32)
        neg_prob, neg_alias = kernels.build_alias(np.array([0, len(noise)], dtype=np.int64), noise)
        total = cfg.num_walks * walker.num_starts
        epochs = epochs_for(cfg.epochs, cfg.min_steps_per_edge, walker.graph.num_edges,
                            int(lengths.sum()) * cfg.num_walks)
        return keep, neg_prob, neg_alias, total, epochs

    def _train_torch(self, walker: RandomWalker) -> tuple[list[float], int]:
        """Minibatch training of :class:`EGESNet` in PyTorch (``trainer="torch"``) on ``device``.

        The walks, down-sampling (:func:`~walks.eges_kernel.subsample_walks`: the same kept tokens) and the
        negative distribution are the numba trainer's, and the pairs come from the same distribution
        (:func:`~walks.kernels.skipgram_pairs`, windows shrunk at random, from another random stream); pairs are
        shuffled within a chunk of about ``chunk_steps`` pairs and cut into minibatches; ``SparseAdam`` steps the
        rows a batch touches, ``Adam`` the shared attention logits; the rate decays linearly over the walks to
        1e-4 of ``torch_lr``. On a CPU, deterministic for a fixed seed and thread count. The net is back on the
        CPU afterwards, also when training fails.
        """
        cfg = self.config
        device = torch.device(cfg.device)
        net = self.net_
        learn_bias = self.attention and cfg.shared_attention
        try:
            net = net.to(device)
            net.attn_bias.requires_grad_(learn_bias)
            sparse = [net.item.weight, net.context.weight, *(bag.weight for bag in net.bags())]
            if self.attention:
                sparse.append(net.attn.weight)
            optimizers: list[torch.optim.Optimizer] = [torch.optim.SparseAdam(sparse, lr=cfg.torch_lr)]
            if learn_bias:
                optimizers.append(torch.optim.Adam([net.attn_bias], lr=cfg.torch_lr))
            keep, neg_prob, neg_alias, total, epochs = self._corpus(walker)
            prob_t = torch.from_numpy(neg_prob).to(device)
            alias_t = torch.from_numpy(neg_alias.astype(np.int64)).to(device)
            gen = torch.Generator().manual_seed(cfg.seed)
            k = cfg.num_negatives
            # a chunk yields about walk_length x window pairs per walk: keep it near chunk_steps pairs
            per_chunk = max(1, cfg.chunk_steps // (cfg.walk_length * cfg.window_size))

            def train_chunk(first: int, walks: NDArray[np.int32], lengths: NDArray[np.int32]) -> tuple[float, int]:
                count = len(lengths)
                walks, lengths = subsample_walks(walks, lengths, keep, cfg.seed, first)
                centers, contexts = kernels.skipgram_pairs(walks, lengths, cfg.window_size, True, cfg.seed, first)
                n, run = len(centers), 0.0
                order = torch.randperm(n, generator=gen)
                c_all = torch.from_numpy(centers).to(torch.int64)[order]
                x_all = torch.from_numpy(contexts).to(torch.int64)[order]
                for s in range(0, n, cfg.batch_size):
                    done = (first + count * s / max(n, 1)) / (epochs * total)
                    for opt in optimizers:
                        for group in opt.param_groups:
                            group["lr"] = cfg.torch_lr * max(1.0 - done, 1e-4)
                    c = c_all[s:s + cfg.batch_size].to(device)
                    x = x_all[s:s + cfg.batch_size].to(device)
                    draw = torch.randint(len(neg_prob), (len(c) * k,), generator=gen).to(device)
                    u = torch.rand(len(c) * k, generator=gen).to(device)
                    neg = torch.where(u < prob_t[draw], draw, alias_t[draw]).view(len(c), k)
                    for opt in optimizers:
                        opt.zero_grad()
                    loss = net.loss(c, x, neg)
                    loss.backward()
                    for opt in optimizers:
                        opt.step()
                    run += float(loss.detach()) * len(c)
                return run, n

            losses, num_pairs = self._epochs(walker, epochs, total, per_chunk, train_chunk, f"torch, {device}")
        finally:
            net.zero_grad(set_to_none=True)
            net.attn_bias.requires_grad_(True)
            self.net_ = net.to("cpu")
        return losses, num_pairs

    def _set_embeddings(self) -> None:
        """Vectors for every item: ``H_v`` for walked items, side information alone for cold items."""
        net = self.net_
        n = net.item.num_embeddings
        items = torch.arange(n)
        with torch.no_grad():
            warm = net(items).numpy()
            cold = net(items, use_item=False).numpy()
            has_side = net.present[:, 1:].any(dim=1).numpy()
        walked = self.walked_
        vectors = np.where(walked[:, None], warm, np.where(has_side[:, None], cold, 0.0)).astype(np.float32)
        vectors[0] = 0.0
        known = walked | has_side
        known[0] = False
        self._normed = None
        assert self.vocab_ is not None, "set by fit"
        self.embeddings_ = Embeddings(self.vocab_, vectors, {"model": self.name, **dataclasses.asdict(self.config)},
                                      known)

    def attention_weights(self) -> NDArray[np.float32]:
        """``float32[N + 1, F + 1]`` per-item weights of the item embedding and each side field."""
        with torch.no_grad():
            return self.net_.weights(torch.arange(self.net_.item.num_embeddings)).numpy()

    def cold_vectors(self, side_info: SideInfo) -> NDArray[np.float32]:
        """Vectors from side information alone for the items of ``side_info`` (same fields and value codes)."""
        mats, _ = side_matrices(side_info, side_info.num_items, self.config.max_side_values, self.common_)
        if len(mats) != len(self.net_.fields):
            raise DataError(f"side info has {len(mats)} fields, the model was trained with {len(self.net_.fields)}")
        weights = row_weights(mats, self.value_weights_)
        with torch.no_grad():
            parts = [bag(torch.from_numpy(m), per_sample_weights=torch.from_numpy(w))
                     for bag, m, w in zip(self.net_.fields, mats, weights, strict=True)]
            present = torch.from_numpy(np.stack([(m > 0).any(axis=1) for m in mats], axis=1)).float()
            stacked = torch.stack(parts, dim=1)
            total = present.sum(1, keepdim=True).clamp_min(1.0)
            return ((present.unsqueeze(-1) * stacked).sum(1) / total).numpy()

    # ------------------------------------------------------------------ persistence
    def _save_state(self, directory: Path) -> None:
        super()._save_state(directory)
        torch.save(self.net_.state_dict(), directory / "model.pt")
        np.save(directory / "walked.npy", self.walked_)
        sizes = [bag.num_embeddings - 1 for bag in self.net_.bags()]
        np.save(directory / "side_sizes.npy", np.asarray(sizes, dtype=np.int64))
        if self.common_ is not None:
            np.savez(directory / "common_values.npz", *self.common_)
        if self.value_weights_ is not None:
            np.savez(directory / "value_weights.npz", *self.value_weights_)

    def _load_state(self, directory: Path) -> None:
        super()._load_state(directory)
        state = torch.load(directory / "model.pt", weights_only=True)
        if "attn_bias" not in state:  # saved before the shared attention bias existed
            state["attn_bias"] = torch.zeros(state["attn.weight"].shape[1])
        sizes = np.load(directory / "side_sizes.npy", allow_pickle=False).tolist()
        mats = [state[f"side{i}"].numpy() for i in range(len(sizes))]
        self.net_ = EGESNet(len(state["present"]) - 1, mats, sizes, self.config.embedding_dim, self.attention)
        for name, buf in self.net_.named_buffers():  # saved before per-value weights: the plain mean
            if name.startswith("sidew"):
                state.setdefault(name, buf)
        self.net_.load_state_dict(state)
        self.walked_ = np.load(directory / "walked.npy", allow_pickle=False)
        self.common_ = _load_arrays(directory / "common_values.npz")
        self.value_weights_ = _load_arrays(directory / "value_weights.npz")


class GES(EGES):
    """GES: the EGES ablation that averages item and side embeddings uniformly (no attention)."""

    name = "ges"
    config_class = GESConfig
    attention = False
