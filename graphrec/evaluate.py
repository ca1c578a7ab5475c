"""One evaluator for every model, baseline and peer: full ranking over the whole catalogue.

Anything with ``score(histories: Sequences) -> array[B, num_items + 1]`` (a :class:`Scorer`) is evaluated by
:func:`evaluate`; anything that only returns ranked lists is evaluated by :func:`evaluate_topk`.

Ranks are *pessimistic* under ties: a target's rank is one plus the number of other candidate items whose
score is greater than **or equal to** its own, so a model that scores everything equally earns nothing.
Items in the history are removed from the ranking when the protocol says so, except the targets themselves
(a repeated consumption stays rankable). Column 0 (padding) is never a candidate.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from numpy.typing import NDArray

from graphrec.errors import ConfigError, DataError
from graphrec.sequences import Sequences
from graphrec.split import EvalCases

__all__ = ["Scorer", "evaluate", "evaluate_topk", "rank_metrics", "DEFAULT_KS"]

log = logging.getLogger(__name__)

DEFAULT_KS: tuple[int, ...] = (5, 10, 20, 50)


@runtime_checkable
class Scorer(Protocol):
    """Anything that scores every item for a batch of histories."""

    def score(self, histories: Sequences) -> NDArray[np.float32] | torch.Tensor:
        """Return ``[len(histories), num_items + 1]`` scores (higher is better; column 0 is ignored)."""
        ...


def evaluate(
    scorer: Scorer,
    cases: EvalCases,
    ks: Sequence[int] = DEFAULT_KS,
    exclude_history: bool | None = None,
    item_counts: NDArray[np.integer] | None = None,
    batch_size: int = 1024,
    sampled: int | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Score ``cases`` with full ranking and return the metrics.

    Args:
        scorer: The model (see :class:`Scorer`).
        cases: Evaluation cases (histories and targets) from a :class:`~graphrec.split.Split`.
        ks: Cut-offs K. Default ``(5, 10, 20, 50)``.
        exclude_history: Remove history items from the ranking; default: what the protocol says
            (``cases.exclude_history``).
        item_counts: Training counts per item (length ``num_items + 1``) for novelty and average popularity;
            those metrics are skipped when omitted.
        batch_size: Cases scored at once.
        sampled: LEGACY ONLY: also report metrics against ``sampled`` uniformly drawn negatives (e.g. 100), under
            keys prefixed ``sampled{n}_``. Sampled metrics are inconsistent with full ranking (Krichene & Rendle,
            KDD 2020) and exist only to compare with old papers.
        seed: Seed of the sampled negatives.

    Returns:
        ``HR@K``, ``Recall@K``, ``Precision@K``, ``NDCG@K``, ``MRR@K``, ``Coverage@K`` for every K, plus
        ``Novelty@K``/``AvgPop@K`` when ``item_counts`` is given, ``NEG@K`` when the cases carry negative
        feedback, ``num_cases`` and ``seconds``.
    """
    ks = _check_ks(ks)
    exclude = cases.exclude_history if exclude_history is None else exclude_history
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1 (got {batch_size})")
    if len(cases) == 0:
        raise DataError("no evaluation cases")
    t0 = time.perf_counter()
    n_items = cases.targets.num_items
    max_k = min(max(ks), n_items)
    ranks_all: list[NDArray[np.float64]] = []
    topk_all: list[NDArray[np.int64]] = []
    sampled_ranks: list[NDArray[np.float64]] = []
    rng = np.random.default_rng(seed)
    for start in range(0, len(cases), batch_size):
        rows = np.arange(start, min(start + batch_size, len(cases)))
        chunk = cases.take(rows)
        scores = torch.as_tensor(scorer.score(chunk.histories), dtype=torch.float32)
        if scores.shape != (len(rows), n_items + 1):
            raise DataError(f"scorer returned shape {tuple(scores.shape)}, expected ({len(rows)}, {n_items + 1})")
        nan = torch.isnan(scores[:, 1:])
        if nan.any():  # NaN compares false with everything: it would make ranks silently optimistic
            r = int(torch.nonzero(nan.any(dim=1))[0, 0])
            raise DataError(f"scorer returned NaN scores ({int(nan.sum())} of {nan.numel()} in this batch, first in "
                            f"case {start + r})")
        scores = scores.clone()
        scores[:, 0] = -math.inf
        if exclude:
            _mask_history(scores, chunk)
        ranks_all.append(_target_ranks(scores, chunk.targets))
        top = torch.topk(scores, max_k, dim=1)
        listed = top.indices.numpy().copy()
        listed[(top.values == -math.inf).numpy()] = 0  # excluded (history) items and padding are not recommended
        topk_all.append(listed)
        if sampled:
            sampled_ranks.append(_sampled_ranks(scores, chunk.targets, sampled, rng))
    ranks = np.concatenate(ranks_all)
    topk = np.concatenate(topk_all)
    metrics = rank_metrics(ranks, cases.targets.offsets, ks)
    metrics.update(_list_metrics(topk, ks, n_items, item_counts, cases))
    if sampled:
        sm = rank_metrics(np.concatenate(sampled_ranks), cases.targets.offsets, ks)
        metrics.update({f"sampled{sampled}_{k}": v for k, v in sm.items() if not k.startswith(("Precision",))})
    metrics["num_cases"] = float(len(cases))
    metrics["seconds"] = time.perf_counter() - t0
    return metrics


def evaluate_topk(topk: NDArray[np.integer], cases: EvalCases, ks: Sequence[int] = DEFAULT_KS,
                  item_counts: NDArray[np.integer] | None = None) -> dict[str, float]:
    """Evaluate ranked lists (``[num_cases, L]`` item indices, best first, -1 or 0 padding) from any tool.

    A target absent from its list counts as a miss at every K. Lists must already exclude what the protocol
    excludes.
    """
    ks = _check_ks(ks)
    topk = np.asarray(topk, dtype=np.int64)
    if topk.ndim != 2 or len(topk) != len(cases):
        raise DataError(f"topk must be [num_cases={len(cases)}, L] (got {topk.shape})")
    t = cases.targets
    rows = t.row_ids()
    ranks = np.full(t.num_events, np.inf)
    lists = topk[rows]
    hit = lists == t.items[:, None].astype(np.int64)
    found = hit.any(axis=1)
    ranks[found] = np.argmax(hit[found], axis=1) + 1
    metrics = rank_metrics(ranks, t.offsets, ks)
    clean = np.where(topk > 0, topk, 0)
    metrics.update(_list_metrics(clean, ks, t.num_items, item_counts, cases))
    metrics["num_cases"] = float(len(cases))
    return metrics


def rank_metrics(ranks: NDArray[np.float64], offsets: NDArray[np.int64], ks: Sequence[int]) -> dict[str, float]:
    """Accuracy metrics from the 1-based rank of every target (``inf`` = not ranked), grouped per case by CSR
    ``offsets``. Each case weighs the same."""
    n_cases = len(offsets) - 1
    n_targets = np.diff(offsets)
    if (n_targets < 1).any():
        raise DataError("every evaluation case needs at least one target")
    case_of = np.repeat(np.arange(n_cases), n_targets)
    first = np.full(n_cases, np.inf)
    np.minimum.at(first, case_of, ranks)
    out: dict[str, float] = {}
    for k in ks:
        hit = ranks <= k
        hits = np.bincount(case_of, weights=hit.astype(np.float64), minlength=n_cases)
        dcg = np.bincount(case_of, weights=np.where(hit, 1.0 / np.log2(np.where(hit, ranks, 1.0) + 1.0), 0.0),
                          minlength=n_cases)
        ideal_n = np.minimum(n_targets, k)
        idcg = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))[ideal_n - 1]
        out[f"HR@{k}"] = float(np.mean(hits > 0))
        out[f"Recall@{k}"] = float(np.mean(hits / n_targets))
        out[f"Precision@{k}"] = float(np.mean(hits / k))
        out[f"NDCG@{k}"] = float(np.mean(dcg / idcg))
        out[f"MRR@{k}"] = float(np.mean(np.where(first <= k, 1.0 / first, 0.0)))
    return out


def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise ConfigError(f"every K must be >= 1 (got {ks})")
    return tuple(sorted(set(ks)))


def _mask_history(scores: torch.Tensor, chunk: EvalCases) -> None:
    h = chunk.histories
    if h.num_events == 0:
        return
    rows = torch.from_numpy(h.row_ids())
    cols = torch.from_numpy(h.items.astype(np.int64))
    target_scores = _gather_targets(scores, chunk.targets)
    scores[rows, cols] = -math.inf
    t = chunk.targets  # targets stay rankable even when they repeat a history item
    scores[torch.from_numpy(t.row_ids()), torch.from_numpy(t.items.astype(np.int64))] = target_scores


def _gather_targets(scores: torch.Tensor, targets: Sequences) -> torch.Tensor:
    return scores[torch.from_numpy(targets.row_ids()), torch.from_numpy(targets.items.astype(np.int64))]


def _target_ranks(scores: torch.Tensor, targets: Sequences) -> NDArray[np.float64]:
    ts = _gather_targets(scores, targets)
    if targets.num_events == len(targets):  # one target per case: no row gather needed
        ahead = torch.count_nonzero(scores >= ts[:, None], dim=1) - 1
    else:
        rows = torch.from_numpy(targets.row_ids())
        ahead = torch.count_nonzero(scores[rows] >= ts[:, None], dim=1) - 1  # minus the target itself
    ranks = (ahead + 1).double().numpy()
    ranks[~torch.isfinite(ts).numpy()] = np.inf
    return ranks


def _sampled_ranks(scores: torch.Tensor, targets: Sequences, n: int,
                   rng: np.random.Generator) -> NDArray[np.float64]:
    """Rank of each target among ``n`` uniformly sampled non-excluded items (legacy protocol)."""
    rows = targets.row_ids()
    n_items = scores.shape[1] - 1
    cand = torch.from_numpy(rng.integers(1, n_items + 1, size=(len(rows), n)))
    cand_scores = scores[torch.from_numpy(rows)[:, None], cand]
    ts = _gather_targets(scores, targets)
    valid = torch.isfinite(cand_scores) & (cand != torch.from_numpy(targets.items.astype(np.int64))[:, None])
    ahead = ((cand_scores >= ts[:, None]) & valid).sum(dim=1)
    ranks = (ahead + 1).double().numpy()
    ranks[~torch.isfinite(ts).numpy()] = np.inf
    return ranks


def _list_metrics(topk: NDArray[np.int64], ks: Sequence[int], n_items: int,
                  item_counts: NDArray[np.integer] | None, cases: EvalCases) -> dict[str, float]:
    out: dict[str, float] = {}
    counts = None if item_counts is None else np.asarray(item_counts, dtype=np.float64)
    if counts is not None and len(counts) != n_items + 1:
        raise DataError(f"item_counts must have num_items + 1 = {n_items + 1} entries (got {len(counts)})")
    for k in ks:
        top = topk[:, :k]
        real = top[top > 0]
        out[f"Coverage@{k}"] = float(len(np.unique(real)) / n_items) if n_items else 0.0
        if counts is not None and real.size:
            total = max(float(len(cases.histories)), 1.0)
            p = np.clip(np.maximum(counts[real], 1.0) / total, 1e-12, 1.0)
            out[f"Novelty@{k}"] = float(np.mean(-np.log2(p)))
            out[f"AvgPop@{k}"] = float(np.mean(counts[real]))
        if cases.future_negative is not None:
            out[f"POS@{k}"] = _share_in(top, cases.targets, k)
            out[f"NEG@{k}"] = _share_in(top, cases.future_negative, k)
    return out


def _share_in(top: NDArray[np.int64], sets: Sequences, k: int) -> float:
    """Mean over cases of |top-k ∩ set| / k."""
    rows = sets.row_ids()
    hits = (top[rows] == sets.items[:, None].astype(np.int64)).any(axis=1)
    per_case = np.bincount(rows, weights=hits.astype(np.float64), minlength=len(top))
    return float(np.mean(per_case / k))


def summarize(metrics: dict[str, Any], keys: Sequence[str] = ("HR@10", "NDCG@10", "MRR@10", "Coverage@10")) -> str:
    """One line for logs: ``HR@10=0.1234 NDCG@10=...``."""
    return " ".join(f"{k}={metrics[k]:.4f}" for k in keys if k in metrics)
