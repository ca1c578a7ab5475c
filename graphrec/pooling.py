"""User query vectors pooled from item vectors over histories: the one implementation behind
``EmbeddingRecommender.user_embeddings`` and :func:`graphrec.recall.recall_users`."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from graphrec.errors import ConfigError
from graphrec.sequences import Sequences

__all__ = ["pool_histories", "POOLINGS"]

POOLINGS = ("mean", "last", "mean_recent")


def pool_histories(histories: Sequences, vectors: NDArray[np.float32],
                   pooling: Literal["mean", "last", "mean_recent"] = "mean", recent: int = 5,
                   decay: float = 1.0, normalize: bool = False) -> NDArray[np.float32]:
    """Pool item vectors over histories into one vector per history.

    The pooled vector of a history ``h`` (oldest first) is a weighted mean over its pooled items:

    .. math::
        u = \\frac{\\sum_i d^{a_i} \\, v_{h_i}}{\\sum_i d^{a_i}}

    where ``d`` is ``decay`` and ``a_i`` the age of item ``i``: 0 for the newest.

    Args:
        histories: Item indices per history (:class:`~graphrec.sequences.Sequences`).
        vectors: ``float[N + 1, dim]`` item vectors (row = item index).
        pooling: ``"mean"`` of every item (default), the ``"last"`` item, or ``"mean_recent"``: the mean of the
            last ``recent`` items.
        recent: Items pooled by ``"mean_recent"`` (>= 1; default 5).
        decay: Weight ``decay ** age`` of an item ``age`` steps before the newest (default 1.0: a plain mean).
        normalize: Pool unit-length item vectors (for the cosine metric). Zero vectors stay zero and still
            count in the denominator. Default False.

    Returns:
        ``float32[len(histories), dim]``; rows of empty histories are zero.

    Raises:
        ConfigError: An unknown ``pooling``, ``recent < 1`` for ``mean_recent``, or ``decay <= 0``.

    Example:
        >>> v = np.array([[0, 0], [1, 0], [0, 2], [3, 3]], dtype=np.float32)
        >>> h = Sequences.from_lists([[1, 2], [], [3, 2, 1]], 3)
        >>> pool_histories(h, v).tolist()
        [[0.5, 1.0], [0.0, 0.0], [1.3333333730697632, 1.6666666269302368]]
        >>> pool_histories(h, v, "last").tolist()
        [[0.0, 2.0], [0.0, 0.0], [1.0, 0.0]]
    """
    if pooling not in POOLINGS:
        raise ConfigError(f"pooling must be one of {POOLINGS} (got {pooling!r})")
    if pooling == "mean_recent" and (not isinstance(recent, int | np.integer) or recent < 1):
        raise ConfigError(f"recent must be an integer >= 1 (got {recent!r})")
    if not decay > 0:
        raise ConfigError(f"decay must be > 0 (got {decay})")
    n, dim = len(histories), vectors.shape[1]
    out = np.zeros((n, dim), dtype=np.float32)
    if histories.num_events == 0:
        return out
    if pooling == "last":
        has = histories.lengths > 0
        out[has] = _rows(vectors, histories.items[histories.offsets[1:][has] - 1], normalize)
        return out
    h = histories.last(recent) if pooling == "mean_recent" else histories
    age = np.repeat(h.lengths, h.lengths) - 1 - h.positions()
    w = (decay ** age).astype(np.float32)
    rows = h.row_ids()
    np.add.at(out, rows, _rows(vectors, h.items, normalize) * w[:, None])
    total = np.bincount(rows, weights=w, minlength=n).astype(np.float32)
    nz = total > 0
    out[nz] /= total[nz, None]
    return out


def _rows(vectors: NDArray[np.float32], items: NDArray[np.integer], normalize: bool) -> NDArray[np.float32]:
    """``vectors[items]``, scaled to unit length when ``normalize`` (zero rows stay zero)."""
    v = vectors[items]
    if not normalize:
        return v
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.maximum(norms, 1e-12)).astype(np.float32)
