"""What ``graphrec recall`` does with a run directory: item-to-item and history-to-item recall.

Models with item vectors and a Faiss index (``RUN_DIR/index``) answer from the index; every other model
(item-KNN, popularity, sequence models without an index) answers by exact full scoring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from graphrec.errors import DataError
from graphrec.model import Recommender, load_model
from graphrec.sequences import Sequences, csr_from_lengths

__all__ = ["run_recall", "parse_history"]


def parse_history(text: str) -> list[str]:
    """``"a,b,c"`` or ``"a b c"`` -> ids (oldest first)."""
    return [t for t in text.replace(",", " ").split() if t]


def run_recall(run_dir: str | Path, item_ids: list[str], history: str | None, batch_path: str | None, k: int,
               unknown: str = "error") -> pd.DataFrame:
    """Recall top-``k`` items; returns columns ``query``, ``rank``, ``item``, ``score``."""
    if k < 1:
        raise DataError(f"k must be >= 1 (got {k})")
    model = load_model(run_dir)
    index = _maybe_index(Path(run_dir), model)
    policy: Literal["skip", "error"] = "skip" if unknown == "skip" else "error"
    if item_ids:
        codes = model.vocab_.encode(item_ids, unknown=policy)  # type: ignore[union-attr]
        kept = [i for i in item_ids if i in model.vocab_] if policy == "skip" else item_ids  # type: ignore[operator]
        seqs = _as_sequences([[int(c)] for c in codes], model.num_items)
        return _recall(model, index, seqs, [str(x) for x in kept], k)
    if history is not None:
        lines = [parse_history(history)]
    else:
        text = Path(batch_path).read_text(encoding="utf-8")  # type: ignore[arg-type]
        lines = [parse_history(ln) for ln in text.splitlines() if ln.strip()]
        if not lines:
            raise DataError(f"{batch_path} has no history")
    encoded = [model.vocab_.encode(h, unknown=policy).tolist() for h in lines]  # type: ignore[union-attr]
    queries = [",".join(h) for h in lines]
    return _recall(model, index, _as_sequences(encoded, model.num_items), queries, k)


def _as_sequences(lists: list[list[int]], num_items: int) -> Sequences:
    lengths = np.asarray([len(x) for x in lists], dtype=np.int64)
    items = np.asarray([i for x in lists for i in x], dtype=np.int32)
    return Sequences(csr_from_lengths(lengths), items, num_items)


def _maybe_index(run_dir: Path, model: Recommender) -> Any:
    if not (run_dir / "index").is_dir() or not hasattr(model, "user_embeddings"):
        return None
    from graphrec.index import FaissIndex

    emb = model.item_embeddings() if hasattr(model, "item_embeddings") else None
    return FaissIndex.load(run_dir / "index", emb)


def _recall(model: Recommender, index: Any, seqs: Sequences, queries: list[str], k: int) -> pd.DataFrame:
    if index is not None:
        vectors = np.asarray(model.user_embeddings(seqs), dtype=np.float32)  # type: ignore[attr-defined]
        items, scores = index.search(vectors, k, exclude=seqs)
    else:
        s = torch.as_tensor(model.score(seqs), dtype=torch.float32).clone()
        s[:, 0] = -float("inf")
        if seqs.num_events:
            s[torch.from_numpy(seqs.row_ids()), torch.from_numpy(seqs.items.astype(np.int64))] = -float("inf")
        top = torch.topk(s, min(k, model.num_items), dim=1)
        items, scores = top.indices.numpy().astype(np.int32), top.values.numpy()
    rows: list[dict[str, Any]] = []
    vocab = model.vocab_
    for q, its, scs in zip(queries, items, scores, strict=True):
        ok = (its > 0) & np.isfinite(scs)
        ext = vocab.decode(its[ok])  # type: ignore[union-attr]
        rows.extend({"query": q, "rank": r + 1, "item": e, "score": float(s)}
                    for r, (e, s) in enumerate(zip(ext.tolist(), scs[ok].tolist(), strict=True)))
    return pd.DataFrame(rows, columns=["query", "rank", "item", "score"])
