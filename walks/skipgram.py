"""gensim skip-gram (negative sampling) trained on a walk corpus file written in chunks.

The corpus never exists as Python lists of strings: :meth:`RandomWalker.write_corpus` streams numba-formatted
text to disk and gensim's ``corpus_file`` mode reads it with one C++ reader per worker. The vocabulary comes
from token counts gathered while writing (``build_vocab_from_freq``), so gensim never scans the corpus in Python.

Deterministic mode: ``workers=1`` with a fixed ``seed`` gives bit-identical vectors from run to run (gensim
seeds its vector initialisation and per-thread sampling from ``seed``; several workers race on the shared
weights, which is the usual Hogwild non-determinism).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["SkipGramResult", "train_skipgram"]

log = logging.getLogger(__name__)


@dataclass
class SkipGramResult:
    """Vectors aligned with graph nodes (row ``i`` = node ``i``), which rows were trained, and the loss curve."""

    vectors: NDArray[np.float32]
    known: NDArray[np.bool_]
    epoch_losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def _loss_logger(epochs: int) -> Any:
    from gensim.models.callbacks import CallbackAny2Vec

    class _Logger(CallbackAny2Vec):  # type: ignore[misc]
        def __init__(self) -> None:
            self.losses: list[float] = []
            self.epoch = 0
            self.t0 = time.perf_counter()

        def on_epoch_end(self, model: Any) -> None:
            loss = float(model.get_latest_training_loss())
            model.running_training_loss = 0.0  # gensim accumulates; report per epoch
            self.losses.append(loss)
            self.epoch += 1
            log.info("skip-gram epoch %d/%d: loss %.4g (%.1fs)", self.epoch, epochs, loss,
                     time.perf_counter() - self.t0)

    return _Logger()


def train_skipgram(corpus_file: str | Path, counts: NDArray[np.int64], embedding_dim: int = 64,
                   window_size: int = 5, epochs: int = 5, num_negatives: int = 5, ns_exponent: float = 0.75,
                   sample: float = 1e-3, alpha: float = 0.025, min_alpha: float = 1e-4,
                   workers: int | None = None, seed: int = 0) -> SkipGramResult:
    """Train skip-gram with negative sampling on a corpus of node-index tokens.

    Args:
        corpus_file: Text file, one walk per line, tokens are node indices (see ``RandomWalker.write_corpus``).
        counts: ``int64[num_nodes]`` occurrences of every node in the corpus (0 for never-walked nodes).
        embedding_dim: Vector size. Default 64.
        window_size: Maximum context distance (gensim shrinks it uniformly at random per centre). Default 5.
        epochs: Passes over the corpus. Default 5.
        num_negatives: Negative samples per positive pair. Default 5.
        ns_exponent: Exponent of the unigram distribution negatives are drawn from. Default 0.75.
        sample: Down-sampling threshold for frequent nodes (0 disables). Default 1e-3.
        alpha: Initial learning rate, decayed linearly to ``min_alpha``. Default 0.025.
        min_alpha: Final learning rate. Default 1e-4.
        workers: Training threads; default ``os.cpu_count()``. ``1`` with a fixed ``seed`` is deterministic.
        seed: Random seed. Default 0.

    Returns:
        :class:`SkipGramResult` with ``vectors`` ``float32[num_nodes, embedding_dim]`` (zero rows for nodes never
        walked, whose ``known`` is false) and per-epoch losses.
    """
    from gensim.models import Word2Vec

    workers = int(workers or os.cpu_count() or 1)
    num_nodes = len(counts)
    nodes = np.flatnonzero(counts > 0)
    t0 = time.perf_counter()
    model = Word2Vec(vector_size=embedding_dim, window=window_size, min_count=1, sg=1, hs=0,
                     negative=num_negatives, ns_exponent=ns_exponent, sample=sample, alpha=alpha,
                     min_alpha=min_alpha, workers=workers, seed=seed, epochs=epochs, compute_loss=True)
    model.build_vocab_from_freq({str(int(i)): int(counts[i]) for i in nodes})
    logger = _loss_logger(epochs)
    model.train(corpus_file=str(corpus_file), total_words=int(counts.sum()), epochs=epochs,
                compute_loss=True, callbacks=[logger])
    vectors = np.zeros((num_nodes, embedding_dim), dtype=np.float32)
    known = np.zeros(num_nodes, dtype=bool)
    kv = model.wv
    rows = np.asarray([kv.key_to_index[str(int(i))] for i in nodes], dtype=np.int64)
    vectors[nodes] = kv.vectors[rows]
    known[nodes] = True
    seconds = time.perf_counter() - t0
    log.info("skip-gram: %d nodes, dim %d, %d epochs, %d workers in %.2fs", len(nodes), embedding_dim, epochs,
             workers, seconds)
    return SkipGramResult(vectors, known, logger.losses, seconds)
