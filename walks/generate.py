"""Random walks over an :class:`~graphrec.ItemGraph`: in memory, in chunks, or streamed to a corpus file."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from graphrec.errors import ConfigError, DataError
from graphrec.graph import ItemGraph
from walks import kernels

__all__ = ["RandomWalker", "WalkStats", "generate_walks", "METHODS"]

log = logging.getLogger(__name__)

METHODS = ("deepwalk", "node2vec")
_DEFAULT_CHUNK_STEPS = 1 << 24  # 16 M steps = 64 MB of int32 per chunk


@dataclass(frozen=True)
class WalkStats:
    """What a walk run produced: counts, timing and the per-node token frequencies."""

    num_walks: int
    num_steps: int
    seconds: float
    counts: NDArray[np.int64]

    @property
    def steps_per_second(self) -> float:
        return self.num_steps / self.seconds if self.seconds > 0 else float("inf")


def bitmap_fits(graph: ItemGraph) -> bool:
    """Whether the adjacency bitmap of ``graph`` (``n^2 / 8`` bytes) is no larger than its ``indices`` array."""
    n = graph.num_nodes
    return n * ((n + 63) // 64) * 8 <= graph.indices.nbytes


class RandomWalker:
    """Weighted first-order (DeepWalk) and second-order (node2vec) walks on a CSR graph.

    Building the walker makes the alias tables (12 bytes per edge, plus the adjacency bitmap on dense graphs
    for node2vec); every walk call reuses them. Walk ``w``
    starts at ``starts[w % num_starts]``, the starts being the nodes with positive out-weight in increasing
    order, so walks ``0 .. num_starts - 1`` are round one, and so on. Walks end early at dead ends.

    Args:
        graph: The item graph (node 0 is padding and never walked).
        p: Return parameter (node2vec). Default 1.
        q: In-out parameter (node2vec). Default 1. ``p == q == 1`` is a first-order walk.
        method: ``deepwalk`` (first-order; ``p``/``q`` must be 1) or ``node2vec``. Default: ``node2vec`` when
            ``p`` or ``q`` differ from 1, else ``deepwalk``.
        bitmap: node2vec tests "is ``t -> x`` an edge" on an adjacency bitmap (one memory read) instead of by
            binary search of the row of ``t`` (``log2(degree)`` reads). Default ``None``: use the bitmap when
            its ``n^2 / 8`` bytes are no more than the 4 bytes per edge of ``graph.indices`` (dense graphs), so
            memory stays O(edges). The walks are the same either way.

    Raises:
        ConfigError: ``p`` or ``q`` not positive and finite, or an unknown method.

    Example:
        >>> from graphrec import Sequences
        >>> from graphrec.build import build_item_graph
        >>> g = build_item_graph(Sequences.from_lists([[1, 2, 3, 1]]), window=1, directed=False)
        >>> walks, lengths = RandomWalker(g, p=1, q=0.5).walks(num_walks=2, walk_length=5, seed=0)
        >>> walks.shape, int(lengths.min())
        ((6, 5), 5)
    """

    def __init__(self, graph: ItemGraph, p: float = 1.0, q: float = 1.0, method: str | None = None,
                 bitmap: bool | None = None) -> None:
        for name, value in (("p", p), ("q", q)):
            number = isinstance(value, int | float | np.floating | np.integer)
            if not (number and np.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive finite number (got {value!r})")
        if method is None:
            method = "deepwalk" if p == 1 and q == 1 else "node2vec"
        if method not in METHODS:
            raise ConfigError(f"method must be one of {METHODS} (got {method!r})")
        if method == "deepwalk" and (p != 1 or q != 1):
            raise ConfigError(f"method 'deepwalk' is first-order: p and q must be 1 (got p={p}, q={q})")
        self.graph = graph
        self.method = method
        self.p = float(p)
        self.q = float(q)
        self.second_order = method == "node2vec" and (p != 1 or q != 1)
        self.wsum = kernels.out_weights(graph.indptr, graph.weights)
        self.table = kernels.step_table(graph.indptr, graph.indices, graph.weights)
        self.starts = np.flatnonzero(self.wsum > 0).astype(np.int32)
        if bitmap is None:
            bitmap = bitmap_fits(graph)
        self.bits = (kernels.adjacency_bits(graph.indptr, graph.indices) if self.second_order and bitmap
                     else np.empty(0, dtype=np.uint64))

    @property
    def num_starts(self) -> int:
        return len(self.starts)

    def _check(self, num_walks: int, walk_length: int, seed: int) -> None:
        if not isinstance(num_walks, int | np.integer) or num_walks < 1:
            raise ConfigError(f"num_walks must be an integer >= 1 (got {num_walks!r})")
        if not isinstance(walk_length, int | np.integer) or walk_length < 2:
            raise ConfigError(f"walk_length must be an integer >= 2 (got {walk_length!r})")
        if not isinstance(seed, int | np.integer) or not 0 <= seed < 2**63:
            raise ConfigError(f"seed must be an integer in [0, 2**63) (got {seed!r})")
        if self.num_starts == 0:
            raise DataError("the graph has no edge with positive weight: there is nowhere to walk")

    def walk_range(self, first: int, count: int, walk_length: int, seed: int) -> tuple[NDArray[np.int32],
                                                                                      NDArray[np.int32]]:
        """Walks ``first .. first + count - 1`` (any range: results do not depend on chunking or threads)."""
        g = self.graph
        return kernels.walk_range(g.indptr, g.indices, g.weights, self.table, self.wsum, self.bits, self.starts,
                                  int(first), int(count), int(walk_length), self.p, self.q, self.second_order,
                                  int(seed))

    def walks(self, num_walks: int = 10, walk_length: int = 80, seed: int = 0) -> tuple[NDArray[np.int32],
                                                                                       NDArray[np.int32]]:
        """All ``num_walks * num_starts`` walks as an int32 matrix ``[walks, walk_length]`` plus lengths."""
        self._check(num_walks, walk_length, seed)
        return self.walk_range(0, num_walks * self.num_starts, walk_length, seed)

    def iter_chunks(self, num_walks: int = 10, walk_length: int = 80, seed: int = 0,
                    chunk_steps: int = _DEFAULT_CHUNK_STEPS,
                    ) -> Iterator[tuple[NDArray[np.int32], NDArray[np.int32]]]:
        """The same walks as :meth:`walks`, in consecutive chunks of at most ``chunk_steps`` steps each.

        Memory stays bounded by one chunk (``4 * chunk_steps`` bytes plus the tables) whatever the total.
        """
        self._check(num_walks, walk_length, seed)
        if chunk_steps < walk_length:
            raise ConfigError(f"chunk_steps must be >= walk_length={walk_length} (got {chunk_steps})")
        total = num_walks * self.num_starts
        per_chunk = max(1, chunk_steps // walk_length)
        for first in range(0, total, per_chunk):
            yield self.walk_range(first, min(per_chunk, total - first), walk_length, seed)

    def write_corpus(self, path: str | Path, num_walks: int = 10, walk_length: int = 80, seed: int = 0,
                     chunk_steps: int = _DEFAULT_CHUNK_STEPS,
                     progress: Callable[[int, int], None] | None = None) -> WalkStats:
        """Stream the walks to a text file: one walk per line, node indices as tokens (``corpus_file``).

        Args:
            path: Output file (overwritten).
            progress: Optional callback ``progress(walks_done, walks_total)`` (the CLI's progress bar).

        Returns:
            :class:`WalkStats` with token counts per node (for the skip-gram vocabulary).
        """
        total = num_walks * self.num_starts
        counts = np.zeros(self.graph.num_nodes, dtype=np.int64)
        steps = done = 0
        t0 = time.perf_counter()
        with open(path, "wb") as fh:
            for walks, lengths in self.iter_chunks(num_walks, walk_length, seed, chunk_steps):
                fh.write(kernels.format_walks(walks, lengths).data)
                counts += kernels.token_counts(walks, lengths, self.graph.num_nodes)
                steps += int(lengths.sum())
                done += len(lengths)
                if progress is not None:
                    progress(done, total)
        stats = WalkStats(total, steps, time.perf_counter() - t0, counts)
        log.info("wrote %d walks (%d steps) to %s in %.2fs (%.2f M steps/s incl. text)", total, steps, path,
                 stats.seconds, stats.steps_per_second / 1e6)
        return stats


def generate_walks(graph: ItemGraph, method: Literal["deepwalk", "node2vec"] = "deepwalk", p: float = 1.0,
                   q: float = 1.0, num_walks: int = 10, walk_length: int = 80, seed: int = 0,
                   out_path: str | Path | None = None, chunk_steps: int = _DEFAULT_CHUNK_STEPS,
                   progress: Callable[[int, int], None] | None = None,
                   ) -> tuple[NDArray[np.int32], NDArray[np.int32]] | WalkStats:
    """Entry point of ``graphrec walk``: walks on ``graph``, returned in memory or streamed to ``out_path``.

    Args:
        graph: The item graph.
        method: ``deepwalk`` (weighted first-order) or ``node2vec`` (second-order with ``p``, ``q``).
        p: Return parameter. Default 1.
        q: In-out parameter. Default 1.
        num_walks: Walks started from every node with outgoing edges. Default 10.
        walk_length: Nodes per walk (walks end early at dead ends). Default 80.
        seed: Random seed; walks are identical for any thread count. Default 0.
        out_path: When given, write a text corpus there (one walk per line, tokens are the node indices
            ``1..N`` of ``graph.vocab``) in chunks of ``chunk_steps`` and return :class:`WalkStats`.
        progress: Optional ``progress(walks_done, walks_total)`` callback.

    Returns:
        ``(walks, lengths)`` int32 arrays, or :class:`WalkStats` when streaming to ``out_path``.

    Raises:
        ConfigError: For invalid parameters. DataError: for a graph without edges.
    """
    walker = RandomWalker(graph, p, q, method)
    if out_path is None:
        t0 = time.perf_counter()
        walks, lengths = walker.walks(num_walks, walk_length, seed)
        log.info("%d %s walks, %d steps in %.2fs", len(lengths), method, int(lengths.sum()),
                 time.perf_counter() - t0)
        return walks, lengths
    return walker.write_corpus(out_path, num_walks, walk_length, seed, chunk_steps, progress)
