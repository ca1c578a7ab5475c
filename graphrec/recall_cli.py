"""What ``graphrec recall`` does with a run directory: item-to-item and history-to-item recall.

Models with item vectors and a Faiss index (``RUN_DIR/index``) answer from the index (merged with the items a
sequence model's score adds a term to: its transition prior); every other model (item-KNN, popularity, sequence
models without an index) answers by exact full scoring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch

from graphrec.errors import DataError
from graphrec.index import FaissIndex
from graphrec.model import EmbeddingRecommender, Recommender, load_model
from graphrec.recall import recall_items, recall_users
from graphrec.results import results_frame
from graphrec.sequences import Sequences, csr_from_lengths

__all__ = ["run_recall", "parse_history"]


def parse_history(text: str) -> list[str]:
    """``"a,b,c"`` or ``"a b c"`` -> ids (oldest first)."""
    return [t for t in text.replace(",", " ").split() if t]


def run_recall(run_dir: str | Path, item_ids: list[str], history: str | None, batch_path: str | None, k: int,
               unknown: str = "error") -> pd.DataFrame:
    """Recall top-``k`` items; returns columns ``query``, ``rank``, ``item``, ``score``.

    With an index, item-vector models answer ``item_ids`` by :func:`~graphrec.recall.recall_items` (nearest
    items) and histories by :func:`~graphrec.recall.recall_users` over the model's own user vectors (its pooling;
    a sequence model's encoder), so the index ranks as the evaluation scores. Without one, the model scores
    every item exactly."""
    if k < 1:
        raise DataError(f"k must be >= 1 (got {k})")
    model = load_model(run_dir)
    index = _maybe_index(Path(run_dir), model)
    policy: Literal["skip", "error"] = "skip" if unknown == "skip" else "error"
    if item_ids:
        if index is not None and isinstance(model, EmbeddingRecommender):
            return recall_items(index, np.asarray(item_ids, dtype=object), k, exclude_self=True, unknown=policy)
        lines = [[i] for i in item_ids if policy == "error" or i in model.vocab_]  # type: ignore[operator]
        queries = [line[0] for line in lines]
    else:
        if history is not None:
            lines = [parse_history(history)]
        else:
            text = Path(batch_path).read_text(encoding="utf-8")  # type: ignore[arg-type]
            lines = [parse_history(ln) for ln in text.splitlines() if ln.strip()]
            if not lines:
                raise DataError(f"{batch_path} has no history")
        queries = [",".join(h) for h in lines]
    seqs = _as_sequences([model.vocab_.encode(h, unknown=policy).tolist() for h in lines],  # type: ignore[union-attr]
                         model.num_items)
    if index is not None:
        vectors = np.asarray(model.user_embeddings(seqs), dtype=np.float32)  # type: ignore[attr-defined]
        extras = model.score_extras(seqs) if hasattr(model, "score_extras") else None
        if extras is not None and len(extras[0]):
            return _merged_recall(index, model, vectors, seqs, extras, queries, k)
        return recall_users(index, vectors, histories=seqs, k=k, query_ids=np.asarray(queries, dtype=object))
    return _exact_recall(model, seqs, queries, k)


def _merged_recall(index: FaissIndex, model: Recommender, vectors: np.ndarray, seqs: Sequences,
                   extras: tuple[np.ndarray, np.ndarray, np.ndarray], queries: list[str], k: int) -> pd.DataFrame:
    """Two recall channels for a model whose score is ``user . item`` plus sparse non-negative extras (a
    sequence model's transition prior): the index's top-``k`` by the dot product, merged with the items that carry
    an extra, then ranked by the full score. With an exact index this is the model's exact top-``k``: an item
    without an extra that beats the ``k``-th best score beats ``k`` dot products too, so the index returns it."""
    items, _ = index.search(vectors, k, seqs)
    table = model.item_embeddings().vectors  # type: ignore[attr-defined]
    e_rows, e_items, e_vals = extras
    n, kk = len(vectors), min(k, model.num_items)
    out_i = np.full((n, kk), -1, dtype=np.int64)
    out_s = np.full((n, kk), -np.inf, dtype=np.float32)
    order = np.argsort(e_rows, kind="stable")  # one pass over the extras, not one scan per history
    e_items, e_vals = e_items[order], e_vals[order]
    bounds = np.searchsorted(e_rows[order], np.arange(n + 1))
    for b in range(n):
        sel = slice(bounds[b], bounds[b + 1])
        found = items[b][items[b] > 0]  # -1 pads a short answer
        cand, inverse = np.unique(np.concatenate([found, e_items[sel]]), return_inverse=True)
        bonus = np.zeros(len(cand), dtype=np.float64)
        np.add.at(bonus, inverse[len(found):], e_vals[sel])
        keep = ~np.isin(cand, seqs[b])  # the index already left the history out; the extras did not
        cand, bonus = cand[keep], bonus[keep]
        score = (table[cand] @ vectors[b]).astype(np.float64) + bonus
        top = np.argsort(-score, kind="stable")[:kk]
        out_i[b, : len(top)], out_s[b, : len(top)] = cand[top], score[top]
    return results_frame(np.asarray(queries, dtype=object), out_i, out_s, model.vocab_)  # type: ignore[arg-type]


def _as_sequences(lists: list[list[int]], num_items: int) -> Sequences:
    lengths = np.asarray([len(x) for x in lists], dtype=np.int64)
    items = np.asarray([i for x in lists for i in x], dtype=np.int32)
    return Sequences(csr_from_lengths(lengths), items, num_items)


def _maybe_index(run_dir: Path, model: Recommender) -> FaissIndex | None:
    if not (run_dir / "index").is_dir() or not hasattr(model, "user_embeddings"):
        return None
    emb = model.item_embeddings() if hasattr(model, "item_embeddings") else None
    return FaissIndex.load(run_dir / "index", emb)


def _exact_recall(model: Recommender, seqs: Sequences, queries: list[str], k: int) -> pd.DataFrame:
    """Top-``k`` of the model's full scores, history items and non-finite scores left out."""
    s = torch.as_tensor(model.score(seqs), dtype=torch.float32).clone()
    s[:, 0] = -float("inf")
    if seqs.num_events:
        s[torch.from_numpy(seqs.row_ids()), torch.from_numpy(seqs.items.astype(np.int64))] = -float("inf")
    top = torch.topk(s, min(k, model.num_items), dim=1)
    items, scores = top.indices.numpy().astype(np.int64), top.values.numpy()
    items[~np.isfinite(scores)] = -1
    return results_frame(np.asarray(queries, dtype=object), items, scores, model.vocab_)  # type: ignore[arg-type]
