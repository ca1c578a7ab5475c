"""The training loop shared by SASRec and FusedSASRec.

Epoch ``e`` shuffles the training rows with a generator seeded by ``(seed, e)`` and reseeds dropout and negative
sampling the same way, so a run resumed from ``checkpoint_dir/last.pt`` continues exactly as if it had never
stopped. Under ``torchrun`` (``WORLD_SIZE > 1``) the network is wrapped in DistributedDataParallel (gloo on CPU):
every rank draws the same global batch, trains on its slice ``rows[rank::world]``, and the loss is normalised by
the *global* number of targets, so the gradient equals the single-process gradient of the same global batch.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from graphrec.errors import ArtifactError, ConfigError
from graphrec.training import EarlyStopping, load_checkpoint, save_checkpoint, set_seed, set_threads
from sequential.config import SASRecConfig
from sequential.data import TrainData
from sequential.losses import SequenceLoss, negative_feedback_loss
from sequential.network import SASRecNet

__all__ = ["train_network", "distributed_context", "epoch_batches", "lr_factor", "make_optimizer",
           "set_scheduled_lr", "warm_start"]

log = logging.getLogger(__name__)


class _Step(nn.Module):
    """What DDP wraps: the hidden states of one batch and the item vectors they are scored against."""

    def __init__(self, net: SASRecNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        table = self.net.table()
        return self.net.head(self.net(inputs, table), table)  # the scoring side: query and item vectors


def distributed_context() -> tuple[int, int]:
    """``(rank, world_size)``; initialises a gloo process group when launched by torchrun and none exists."""
    if dist.is_available() and not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group("gloo")
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def train_network(net: SASRecNet, data: TrainData, config: SASRecConfig, counts: np.ndarray,
                  validate: Callable[[], float] | None) -> dict[str, Any]:
    """Train ``net`` in place with early stopping on ``validate()`` (validation NDCG@10); returns the history.

    The best state (by validation) is loaded into ``net`` at the end.
    """
    set_threads(config.num_threads)
    set_seed(config.seed)
    rank, world = distributed_context()
    model: nn.Module = _Step(net)
    if world > 1:
        # a fusion encoder reused from the cache gets no gradient on some steps
        model = nn.parallel.DistributedDataParallel(model, find_unused_parameters=getattr(config, "graph_every", 1) > 1)
    loss_fn = SequenceLoss(config, data_num_items(net), counts)
    opt = make_optimizer(net, config)
    early = EarlyStopping(patience=config.patience)
    history: dict[str, list[float]] = {"epoch": [], "loss": [], "valid_ndcg10": [], "seconds": [], "cpu_seconds": [],
                                       "train_seconds": [],
                                       "step_loss": []}
    best_state = copy.deepcopy(net.state_dict())
    start_epoch, elapsed = 0, 0.0
    ckpt = Path(config.checkpoint_dir) / "last.pt" if config.checkpoint_dir else None
    if ckpt is not None and ckpt.exists():
        state = load_checkpoint(ckpt)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["optimizer"])
        early.load_state_dict(state["early"])
        best_state, history = state["best"], state["history"]
        start_epoch, elapsed = int(state["epoch"]), float(state["elapsed"])
        log.info("resumed from %s at epoch %d", ckpt, start_epoch)
    elif config.init_from:
        warm_start(net, config.init_from)
        best_state = copy.deepcopy(net.state_dict())
    if data.has_negative_feedback is False and config.negative_weight > 0:
        log.warning("negative_weight > 0 but the training sequences carry no skip/dislike events: no auxiliary loss")
    t0 = time.perf_counter() - elapsed
    c0 = time.process_time() - (history["cpu_seconds"][-1] if history.get("cpu_seconds") else 0.0)
    for epoch in range(start_epoch, config.epochs):
        if early.should_stop:
            break
        seed_e = _epoch_seed(config.seed, epoch)
        torch.manual_seed(seed_e)
        gen = torch.Generator().manual_seed(seed_e)
        batches = epoch_batches(data.lengths, config.batch_size, config.length_buckets, seed_e)
        net.train()
        reset = getattr(net.item_encoder, "reset_cache", None)  # FusedItemEmbedding's graph cache
        if callable(reset):
            reset()
        t_epoch = time.perf_counter()
        total, count = 0.0, 0
        bar = _progress(batches, config.progress and rank == 0, f"epoch {epoch + 1}")
        for i, rows in enumerate(bar):
            set_scheduled_lr(opt, config, epoch * len(batches) + i, len(batches))
            loss_sum, n = _step(model, net, data, rows[rank::world], loss_fn, config, opt, gen, world)
            total += loss_sum
            count += n
            history["step_loss"].append(loss_sum / max(n, 1))
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{total / max(count, 1):.4f}")
        history["train_seconds"].append(time.perf_counter() - t_epoch)
        metric = math.nan
        if validate is not None and ((epoch + 1) % config.eval_every == 0 or epoch + 1 == config.epochs):
            metric = _broadcast(validate() if rank == 0 else 0.0, world)
            if early.step(metric, epoch):
                best_state = copy.deepcopy(net.state_dict())
        history["epoch"].append(epoch + 1)
        history["loss"].append(total / max(count, 1))
        history["valid_ndcg10"].append(metric)
        history["seconds"].append(time.perf_counter() - t0)
        history["cpu_seconds"].append(time.process_time() - c0)  # all threads of this process
        log.info("epoch %d loss %.4f valid NDCG@10 %.4f (%.0f s)", epoch + 1, total / max(count, 1), metric,
                 history["seconds"][-1])
        if ckpt is not None and rank == 0:
            save_checkpoint(ckpt, {"net": net.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch + 1,
                                   "early": early.state_dict(), "best": best_state, "history": history,
                                   "elapsed": time.perf_counter() - t0})
        if config.max_minutes is not None and epoch + 1 < config.epochs:
            # stop before an epoch that, as long as the last one, would end past the budget
            last = history["seconds"][-1] - (history["seconds"][-2] if len(history["seconds"]) > 1 else 0.0)
            if history["seconds"][-1] + last > 60 * config.max_minutes:
                log.info("wall-time budget of %.1f min: stopping after epoch %d (%.1f min used, an epoch takes "
                         "%.1f min)", config.max_minutes, epoch + 1, history["seconds"][-1] / 60, last / 60)
                break
    if validate is not None:
        net.load_state_dict(best_state)
    history["best_epoch"] = [early.best_step + 1]
    return history


def warm_start(net: nn.Module, path: str | Path) -> None:
    """Load network weights from a checkpoint file (its last epoch's ``net``) or a run directory's ``model.pt``.

    Raises:
        ArtifactError: Nothing readable at ``path``. ConfigError: the weights do not fit ``net`` (another
            architecture or catalogue).
    """
    path = Path(path)
    if path.is_dir():
        if not (path / "model.pt").exists():
            raise ArtifactError(f"init_from: {path} is a directory without model.pt")
        state = load_checkpoint(path / "model.pt")  # a state dict, read the same safe way
    else:
        ckpt = load_checkpoint(path)
        if "net" not in ckpt:
            raise ArtifactError(f"init_from: {path} is not a training checkpoint (no 'net' entry)")
        state = ckpt["net"]
    own = net.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in own.items()
              if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        raise ConfigError(f"init_from: the weights in {path} do not fit this network (architecture settings or "
                          f"catalogue differ): missing {missing[:5]}, unexpected {unexpected[:5]}, "
                          f"shape mismatches {shapes[:5]}")
    net.load_state_dict(state)
    log.info("initialised the network from %s", path)


def make_optimizer(net: nn.Module, config: SASRecConfig) -> torch.optim.Optimizer:
    """The Adam optimiser of ``config`` over ``net``'s parameters."""
    return torch.optim.Adam(net.parameters(), lr=config.lr, betas=(0.9, config.adam_beta2),
                            weight_decay=config.weight_decay)


def set_scheduled_lr(opt: torch.optim.Optimizer, config: SASRecConfig, step: int, steps_per_epoch: int) -> None:
    """Set the rate of ``config.lr_schedule`` for 0-based global ``step`` (over ``config.epochs`` epochs)."""
    if config.lr_schedule == "constant":
        return
    lr = config.lr * lr_factor(config.lr_schedule, step, config.epochs * steps_per_epoch)
    for group in opt.param_groups:
        group["lr"] = lr


def lr_factor(schedule: str, step: int, total: int) -> float:
    """The learning-rate multiplier of ``schedule`` at 0-based ``step`` of ``total`` steps (1 at step 0)."""
    frac = min(step / max(total, 1), 1.0)
    if schedule == "linear":
        return 1.0 - frac
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * frac))
    return 1.0


def epoch_batches(lengths: np.ndarray, batch_size: int, length_buckets: int, seed: int) -> list[np.ndarray]:
    """The row batches of one epoch: a seeded shuffle, cut into batches of ``batch_size`` rows.

    With ``length_buckets > 1`` every run of ``length_buckets`` consecutive batches of the shuffle is sorted by
    sequence length before it is cut and the batch order is shuffled again, so a batch holds sequences of similar
    length and is trimmed to less padding (the attention costs O(L^2) per row), while every batch still draws
    from a random slice of the data.
    """
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(lengths))
    if length_buckets > 1:
        chunk = batch_size * length_buckets
        perm = np.concatenate([c[np.argsort(lengths[c], kind="stable")]
                               for c in np.split(perm, np.arange(chunk, len(perm), chunk))])
    batches = [perm[i: i + batch_size] for i in range(0, len(perm), batch_size)]
    if length_buckets > 1:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def data_num_items(net: SASRecNet) -> int:
    return int(net.num_items)


def _step(model: nn.Module, net: nn.Module, data: TrainData, rows: np.ndarray, loss_fn: SequenceLoss,
          config: SASRecConfig, opt: torch.optim.Optimizer, gen: torch.Generator, world: int) -> tuple[float, int]:
    """One optimiser step on this rank's rows; returns the global loss sum and target count of the batch.

    The loss sum is divided by the *expected* number of targets of a full batch (``batch_size`` times the mean
    targets per training row), not by this batch's own count: every target then weighs the same in every step,
    whether length bucketing put long or short sequences in the batch (dividing by the batch's count would give
    a target of a short-sequence batch ten times the weight of one in a long-sequence batch on Beauty).
    """
    batch = data.batch(rows)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.use_bf16()):
        hidden, table = model(batch.inputs)
        valid = batch.inputs > 0
        loss_sum, n = loss_fn(hidden[valid], batch.targets[valid], table, gen)
        if config.negative_weight > 0 and len(batch.neg_row):
            h_neg = hidden[batch.neg_row, batch.neg_col]
            loss_sum = loss_sum + config.negative_weight * negative_feedback_loss(h_neg, batch.neg_item, table)
    n_global = n
    if world > 1:
        t = torch.tensor([float(n)])
        dist.all_reduce(t)
        n_global = int(t.item())
    loss = loss_sum * (world / (config.batch_size * data.targets_per_row))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip > 0:
        nn.utils.clip_grad_norm_(net.parameters(), config.grad_clip)
    opt.step()
    value = loss_sum.detach().float()
    if world > 1:
        value = value.clone()
        dist.all_reduce(value)
    return float(value), n_global


def _broadcast(value: float, world: int) -> float:
    if world == 1:
        return float(value)
    t = torch.tensor([float(value)], dtype=torch.float64)
    dist.broadcast(t, 0)
    return float(t.item())


def _progress(it: list[np.ndarray], enabled: bool, desc: str) -> Any:
    if not enabled:
        return it
    from tqdm.auto import tqdm

    return tqdm(it, desc=desc, leave=False, unit="batch")
