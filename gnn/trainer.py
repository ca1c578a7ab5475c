"""The one training loop of the GNN recommenders: minibatches of training pairs, early stopping on validation
recall measured by the shared evaluator, atomic checkpoints with resume, seeds, threads and progress bars."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm

from gnn.losses import transition_pairs
from graphrec.errors import ConfigError
from graphrec.evaluate import evaluate, summarize
from graphrec.split import EvalCases, Split
from graphrec.training import EarlyStopping, load_checkpoint, save_checkpoint, set_seed, set_threads

if TYPE_CHECKING:
    from gnn.models import GNNRecommender

__all__ = ["fit", "validation_cases"]

log = logging.getLogger(__name__)


def validation_cases(cases: EvalCases, limit: int | None, seed: int) -> EvalCases:
    """At most ``limit`` cases drawn without replacement (all of them when ``limit`` is None or larger)."""
    if limit is None or len(cases) <= limit:
        return cases
    rows = np.sort(np.random.default_rng(seed).choice(len(cases), size=limit, replace=False))
    return cases.take(rows)


def fit(model: GNNRecommender, split: Split) -> GNNRecommender:
    """Train ``model`` on ``split.train``; keep the weights of the best validation epoch.

    Each epoch visits ``min(#pairs, max_pairs_per_epoch)`` training pairs in an order drawn from
    ``(seed, epoch)``, so a resumed run repeats exactly what an uninterrupted run would have done. After every
    ``eval_every`` epochs all item vectors are recomputed and ``config.monitor`` is measured on (a seeded subset
    of) ``split.valid``. A checkpoint (``checkpoint_dir/checkpoint.pt``, written atomically) holds the module,
    the optimiser, the early-stopping state, the best weights and the history.
    """
    cfg = model.config
    set_seed(cfg.seed)
    set_threads(cfg.num_threads)
    model.vocab_ = split.vocab
    model.prepare(split)
    module = model.module_
    pairs = transition_pairs(split.train, cfg.pair_window)
    counts = split.train.item_counts()
    neg_pool = np.flatnonzero(counts[1:] > 0).astype(np.int64) + 1
    opt = torch.optim.Adam(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    stopper = EarlyStopping(patience=cfg.patience)
    valid = validation_cases(split.valid, cfg.eval_cases, cfg.seed)
    ckpt = Path(cfg.checkpoint_dir) / "checkpoint.pt" if cfg.checkpoint_dir else None
    start, best_state, history = 0, None, []
    if ckpt is not None and cfg.resume and ckpt.exists():
        state = load_checkpoint(ckpt)
        module.load_state_dict(state["module"])
        opt.load_state_dict(state["optimizer"])
        stopper.load_state_dict(state["early_stopping"])
        start, best_state, history = int(state["epoch"]) + 1, state["best"], list(state["history"])
        log.info("resumed %s from %s at epoch %d", model.name, ckpt, start)
    per_epoch = len(pairs) if cfg.max_pairs_per_epoch is None else min(len(pairs), cfg.max_pairs_per_epoch)
    log.info("%s: %d training pairs, %d per epoch, graph %r", model.name, len(pairs), per_epoch, model.graph_)
    for epoch in range(start, cfg.epochs):
        if stopper.should_stop:
            break
        rng = np.random.default_rng([cfg.seed, epoch])
        torch.manual_seed(cfg.seed * 7919 + epoch)
        record = _train_epoch(model, opt, pairs, neg_pool, epoch, rng, per_epoch)
        if (epoch + 1) % cfg.eval_every == 0 or epoch == cfg.epochs - 1:
            t0 = time.perf_counter()
            model.refresh()
            metrics = evaluate(model, valid, ks=(10, 20))
            if cfg.monitor not in metrics:
                raise ConfigError(f"monitor {cfg.monitor!r} is not a metric (have {sorted(metrics)})")
            record.update({f"valid_{k}": float(v) for k, v in metrics.items() if "@" in k})
            record["eval_seconds"] = time.perf_counter() - t0
            if stopper.step(float(metrics[cfg.monitor]), epoch):
                best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            log.info("%s epoch %d: loss %.4f %s (%.1fs)", model.name, epoch, record["loss"], summarize(metrics),
                     record["train_seconds"])
        history.append(record)
        if ckpt is not None:
            save_checkpoint(ckpt, {"module": module.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch,
                                   "early_stopping": stopper.state_dict(), "best": best_state, "history": history})
    if best_state is not None:
        module.load_state_dict(best_state)
    model.refresh()
    model.history_ = {"epochs": history, "best_epoch": stopper.best_step, "best_" + cfg.monitor: stopper.best,
                      "pairs": int(len(pairs)), "pairs_per_epoch": int(per_epoch)}
    return model


def _train_epoch(model: GNNRecommender, opt: torch.optim.Optimizer, pairs: np.ndarray, neg_pool: np.ndarray,
                 epoch: int, rng: np.random.Generator, per_epoch: int) -> dict[str, Any]:
    cfg = model.config
    module = model.module_
    module.train()
    model.start_epoch(epoch, rng)
    order = rng.permutation(len(pairs))[:per_epoch]
    t0, c0 = time.perf_counter(), time.process_time()
    total, steps = 0.0, 0
    bar = tqdm(range(0, len(order), cfg.batch_size), desc=f"{model.name} epoch {epoch}", disable=not cfg.progress,
               leave=False, unit="batch")
    for begin in bar:
        batch = pairs[order[begin:begin + cfg.batch_size]]
        negs = neg_pool[rng.integers(0, len(neg_pool), cfg.num_negatives)]
        loss = model.batch_loss(batch[:, 0], batch[:, 1], negs, epoch, rng)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
        steps += 1
        bar.set_postfix(loss=f"{total / steps:.4f}")
    return {"epoch": epoch, "loss": total / max(steps, 1), "steps": steps, "train_seconds": time.perf_counter() - t0,
            "train_cpu_seconds": time.process_time() - c0}
