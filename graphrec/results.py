"""Search arguments and results shared by :class:`~graphrec.index.FaissIndex` and :mod:`graphrec.recall`: checks
of ``k`` and of the unknown-id policy, the exclusion layouts, and the long result frame."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from graphrec.errors import DataError
from graphrec.vocab import ItemVocab

__all__ = ["results_frame", "check_k", "check_unknown", "exclude_csr", "Exclude"]

Exclude = Any  # CSR pair (offsets, items), an object with .offsets/.items (Sequences), or one list per query


def results_frame(query_ids: ArrayLike, item_indices: NDArray[np.integer], scores: NDArray[np.floating],
                  vocab: ItemVocab) -> pd.DataFrame:
    """Turn ``[B, k]`` result matrices into a long DataFrame ``query, rank, item, score`` (padding dropped).

    Args:
        query_ids: One label per result row (external item or user ids, or positions).
        item_indices: ``[B, k]`` item indices, ``-1`` for padding.
        scores: ``[B, k]`` scores.
        vocab: Decodes item indices to external ids.
    """
    valid = np.asarray(item_indices) >= 0
    rows, cols = np.nonzero(valid)
    query_ids = np.asarray(query_ids)
    return pd.DataFrame({
        "query": query_ids[rows],
        "rank": (cols + 1).astype(np.int32),
        "item": vocab.decode(item_indices[valid]),
        "score": np.asarray(scores, dtype=np.float32)[valid],
    })


def check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be an integer >= 1 (got {k!r})")
    return int(k)


def check_unknown(unknown: str, skip_as: str) -> Literal["error", "skip", "pad"]:
    if unknown not in ("error", "skip"):
        raise ValueError(f"unknown must be 'error' or 'skip' (got {unknown!r})")
    return "error" if unknown == "error" else skip_as  # type: ignore[return-value]


def exclude_csr(exclude: Exclude, n_queries: int,
                 num_items: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Normalise the accepted exclusion layouts to a validated CSR pair ``(offsets, items)``."""
    if hasattr(exclude, "offsets") and hasattr(exclude, "items"):
        offsets, items = exclude.offsets, exclude.items
    elif isinstance(exclude, tuple):
        if len(exclude) != 2:
            raise DataError(f"exclude as a tuple must be the CSR pair (offsets, items) "
                            f"(got {len(exclude)} parts)")
        offsets, items = exclude
    else:
        rows = list(exclude)
        if len(rows) != n_queries:
            raise DataError(f"exclude has {len(rows)} rows for {n_queries} queries")
        lengths = np.array([np.size(r) for r in rows], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        items = np.concatenate([np.asarray(r, dtype=np.int64).ravel() for r in rows]) if lengths.sum() \
            else np.zeros(0, np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    if (len(offsets) != n_queries + 1 or offsets[0] != 0 or offsets[-1] != len(items)
            or np.any(np.diff(offsets) < 0)):
        raise DataError(f"exclude offsets must be int[{n_queries + 1}] rising from 0 to "
                        f"len(items)={len(items)} (got {len(offsets)} offsets)")
    if items.size and (items.min() < 0 or items.max() > num_items):
        bad = int(items[(items < 0) | (items > num_items)][0])
        raise DataError(f"exclude item index {bad} is outside 0..{num_items}")
    return offsets, items
