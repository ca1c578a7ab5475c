"""Recall by external ids: similar items to an item, and items for a user (a vector or a pooled history).

Results are long DataFrames with columns ``query, rank, item, score`` (rank is 1-based, best first, scores are
similarities: higher is better), which :func:`write_recall` writes to parquet or JSON for batch jobs.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from graphrec.embeddings import Embeddings
from graphrec.errors import DataError, UnknownIdError
from graphrec.index import FaissIndex
from graphrec.pooling import POOLINGS, pool_histories
from graphrec.results import check_k, check_unknown, results_frame
from graphrec.sequences import Sequences, csr_from_lengths

__all__ = ["recall_items", "recall_users", "pool_histories", "write_recall", "to_records", "POOLINGS"]

log = logging.getLogger(__name__)


def recall_items(index_or_embeddings: FaissIndex | Embeddings, item_ids: ArrayLike, k: int = 20,
                 exclude_self: bool = True, unknown: Literal["error", "skip"] = "error",
                 **index_params: Any) -> pd.DataFrame:
    """Item-to-item recall: the ``k`` nearest items of each given item.

    Args:
        index_or_embeddings: A built :class:`FaissIndex`, or an :class:`Embeddings` bundle from which one is
            built (``metric="cosine"`` unless ``index_params`` say otherwise: the usual item similarity).
        item_ids: External ids of the query items.
        k: Neighbours per item (clamped to the catalogue; default 20).
        exclude_self: Never return the query item itself (default True).
        unknown: ``"error"`` raises :class:`~graphrec.errors.UnknownIdError` naming the first unknown id;
            ``"skip"`` leaves unknown ids out of the result.
        **index_params: :class:`~graphrec.index.IndexConfig` fields, when an index is built here.

    Returns:
        DataFrame ``query, rank, item, score``.

    Example:
        >>> import numpy as np
        >>> from graphrec import Embeddings, ItemVocab
        >>> emb = Embeddings(ItemVocab([10, 20, 30]), np.array([[0, 0], [1, 0], [1, .2], [0, 1]], np.float32))
        >>> recall_items(emb, [10], k=2)["item"].tolist()
        [20, 30]
    """
    index = _as_index(index_or_embeddings, index_params)
    return index.search_items(item_ids, k, exclude_self=exclude_self, unknown=unknown)


def recall_users(index: FaissIndex, query_vectors: ArrayLike | Sequence[ArrayLike] | None = None, *,
                 histories: Sequence[Sequence[Any]] | Sequences | None = None,
                 embeddings: Embeddings | None = None, pooling: Literal["mean", "last", "mean_recent"] = "mean",
                 num_recent: int = 5, k: int = 20, exclude_seen: bool = True, decay: float = 1.0,
                 unknown: Literal["error", "skip"] = "error", query_ids: ArrayLike | None = None) -> pd.DataFrame:
    """User-to-item recall from user vectors, or from histories pooled over item vectors.

    Args:
        index: The item index.
        query_vectors: ``float[B, dim]`` user vectors; ``float[B, I, dim]`` or a list of ``[I_b, dim]`` arrays
            for several interests per user (searched separately, merged by best score, de-duplicated).
            When ``None``, the vectors are pooled from ``histories``.
        histories: One sequence of external item ids per user (oldest first), or a
            :class:`~graphrec.Sequences` of item indices. Used for pooling and for ``exclude_seen``.
        embeddings: Item vectors for pooling (default: the bundle the index was built from, else the vectors
            stored in the index).
        pooling: ``"mean"`` of all history items, ``"last"`` item, or ``"mean_recent"`` of the last
            ``num_recent``. Under the cosine metric item vectors are normalised before pooling. History items
            without a trained vector (``known`` false) are left out of the pool.
        num_recent: Items pooled by ``"mean_recent"`` (default 5).
        decay: Weight ``decay ** age`` of a history item ``age`` steps before the newest (default 1.0: a plain
            mean); see :func:`~graphrec.pooling.pool_histories`.
        k: Items per user (clamped to the catalogue; default 20).
        exclude_seen: Never return an item of the user's history (default True; needs ``histories``).
        unknown: ``"error"`` raises :class:`~graphrec.errors.UnknownIdError` naming an unknown history id and
            its user; ``"skip"`` drops unknown ids from histories.
        query_ids: Labels of the users for the ``query`` column (default: positions ``0..B-1``).

    Returns:
        DataFrame ``query, rank, item, score``. A user whose pooled history is empty gets no rows (logged).
    """
    check_k(k)
    check_unknown(unknown, "skip")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS} (got {pooling!r})")
    vocab = index._vocab()  # raises when the index is not built
    n_users = len(histories) if query_vectors is None and histories is not None else _num_queries(query_vectors)
    labels = np.arange(n_users) if query_ids is None else np.asarray(query_ids)
    if len(labels) != n_users:
        raise DataError(f"query_ids has {len(labels)} entries for {n_users} users")
    if histories is not None and len(histories) != n_users:
        raise DataError(f"histories has {len(histories)} rows for {n_users} query vectors")
    hist = None
    if histories is not None:
        hist = histories if isinstance(histories, Sequences) else _encode_histories(histories, index, unknown,
                                                                                      labels)
    exclude = hist if exclude_seen and hist is not None else None
    if query_vectors is None:
        if hist is None:
            raise DataError("recall_users needs query_vectors or histories")
        vectors, usable = _pool_for_index(index, hist, embeddings, pooling, num_recent, decay)
        if not usable.all():
            log.warning("%d of %d users have no history item with a vector: no recall for them",
                        int((~usable).sum()), n_users)
        rows = np.flatnonzero(usable)
        exclude = None if exclude is None else exclude.take(rows)
        items, scores = index.search(vectors[rows], k, exclude)
        return results_frame(labels[rows], items, scores, vocab)
    q: Any = query_vectors
    if not isinstance(q, np.ndarray) and all(np.ndim(v) == 1 for v in q):
        q = np.asarray(q, dtype=np.float32).reshape(len(q), -1)  # a list of single vectors
    if isinstance(q, np.ndarray) and q.ndim == 2:
        items, scores = index.search(q, k, exclude)
    else:
        items, scores = index.search_multi(q, k, exclude)
    return results_frame(labels, items, scores, vocab)


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One ``{"query", "items", "scores"}`` dict per query block of a recall frame (input order kept)."""
    if frame.empty:
        return []
    block = (frame["rank"].to_numpy() == 1).cumsum()
    starts = np.flatnonzero(np.diff(np.concatenate([[0], block])))
    ends = np.append(starts[1:], len(frame))
    q, it, sc = frame["query"].to_numpy(), frame["item"].to_numpy(), frame["score"].to_numpy()
    return [{"query": _plain(q[s]), "items": [_plain(x) for x in it[s:e]],
             "scores": [round(float(x), 6) for x in sc[s:e]]} for s, e in zip(starts, ends, strict=True)]


def write_recall(frame: pd.DataFrame, path: str | Path,
                 format: Literal["parquet", "json", "jsonl"] | None = None) -> Path:
    """Write recall results atomically (temporary file in the same directory, then ``os.replace``).

    Args:
        frame: A frame from :func:`recall_items` or :func:`recall_users`.
        path: Output file.
        format: ``"parquet"`` (the long frame), ``"json"`` (a list of ``{"query", "items", "scores"}``) or
            ``"jsonl"`` (one such object per line); default from the suffix of ``path``.
    """
    path = Path(path)
    fmt = format or {".parquet": "parquet", ".json": "json", ".jsonl": "jsonl"}.get(path.suffix.lower())
    if fmt not in ("parquet", "json", "jsonl"):
        raise ValueError(f"cannot tell the output format of {str(path)!r}: use a .parquet, .json or .jsonl "
                         f"suffix or format= (got {format!r})")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if fmt == "parquet":
            out = frame.copy()
            for col in ("query", "item"):
                if out[col].dtype == object:
                    out[col] = out[col].map(_plain)
            out.to_parquet(tmp, index=False)
        else:
            records = to_records(frame)
            with open(tmp, "w", encoding="utf-8") as fh:
                if fmt == "json":
                    json.dump(records, fh)
                else:
                    for rec in records:
                        fh.write(json.dumps(rec) + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("wrote %d recall rows to %s", len(frame), path)
    return path


# ---------------------------------------------------------------------- helpers
def _as_index(obj: FaissIndex | Embeddings, index_params: dict[str, Any]) -> FaissIndex:
    if isinstance(obj, FaissIndex):
        if index_params:
            raise ValueError(f"index parameters {sorted(index_params)} apply only when building from Embeddings")
        return obj
    if isinstance(obj, Embeddings):
        return FaissIndex(**{"metric": "cosine", **index_params}).fit(obj)
    raise TypeError(f"expected a FaissIndex or an Embeddings bundle (got {type(obj).__name__})")


def _num_queries(query_vectors: Any) -> int:
    if query_vectors is None:
        raise DataError("recall_users needs query_vectors or histories")
    return len(query_vectors)


def _encode_histories(histories: Sequence[Sequence[Any]], index: FaissIndex, unknown: str,
                      labels: NDArray[Any]) -> Sequences:
    """External-id histories to CSR item indices; unknown ids raise (naming id and user) or are dropped."""
    vocab = index._vocab()
    lengths = np.array([len(h) for h in histories], dtype=np.int64)
    flat = [x for h in histories for x in h]
    idx = vocab.encode(np.asarray(flat, dtype=object) if flat else np.zeros(0, np.int64), unknown="pad")
    missing = idx == 0
    if missing.any():
        row = int(np.searchsorted(np.cumsum(lengths), int(np.argmax(missing)), side="right"))
        user = labels[row]
        if unknown == "error":
            raise UnknownIdError(f"unknown item id {flat[int(np.argmax(missing))]!r} in the history of user "
                                 f"{_plain(user)!r} ({int(missing.sum())} unknown ids in all histories)")
        log.info("skipped %d unknown item ids in histories", int(missing.sum()))
        keep_len = np.bincount(np.repeat(np.arange(len(lengths)), lengths)[~missing], minlength=len(lengths))
        lengths, idx = keep_len.astype(np.int64), idx[~missing]
    return Sequences(csr_from_lengths(lengths), idx.astype(np.int32), vocab.size)


def _pool_for_index(index: FaissIndex, hist: Sequences, embeddings: Embeddings | None, pooling: str,
                    num_recent: int, decay: float) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Pooled user vectors and which users had at least one usable history item."""
    emb = embeddings if embeddings is not None else index.embeddings_
    if emb is not None:
        if emb.vocab != index.vocab_:
            raise DataError(f"embeddings vocabulary ({emb.vocab.size} items) differs from the index's")
        vectors = emb.vectors
        usable_item = np.ones(len(vectors), bool) if emb.known is None else np.asarray(emb.known, bool)
    else:
        usable_item = index._indexed()
        vectors = np.zeros((len(usable_item), index.dim_), np.float32)
        present = np.unique(hist.items[usable_item[hist.items]])
        vectors[present] = index.item_vectors(present)
    hist = hist.select_events(usable_item[hist.items])
    pooled = pool_histories(hist, vectors, pooling, num_recent, decay,  # type: ignore[arg-type]
                            normalize=index.config.metric == "cosine")
    return pooled, hist.lengths > 0


def _plain(x: Any) -> Any:
    """numpy scalars to Python scalars (JSON and parquet friendly)."""
    return x.item() if isinstance(x, np.generic) else x
