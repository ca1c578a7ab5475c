"""Pieces shared by the training loops: seeds, threads, early stopping, atomic checkpoints."""

from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from graphrec.errors import ArtifactError, ConfigError

__all__ = ["set_seed", "set_threads", "EarlyStopping", "save_checkpoint", "load_checkpoint"]

log = logging.getLogger(__name__)


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds legacy global users too
    torch.manual_seed(seed)


def set_threads(num_threads: int | None) -> None:
    """Use ``num_threads`` CPU threads in torch, numba and Faiss (None: leave the defaults)."""
    if num_threads is None:
        return
    if num_threads < 1:
        raise ConfigError(f"num_threads must be >= 1 (got {num_threads})")
    import torch

    torch.set_num_threads(num_threads)
    try:
        import numba

        numba.set_num_threads(min(num_threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover
        pass
    try:
        import faiss

        faiss.omp_set_num_threads(num_threads)
    except ImportError:  # pragma: no cover
        pass


@dataclass
class EarlyStopping:
    """Stop when the monitored metric has not improved by ``min_delta`` for ``patience`` evaluations."""

    patience: int = 5
    min_delta: float = 0.0
    mode: str = "max"
    best: float = field(default=-np.inf)
    best_step: int = -1
    bad: int = 0

    def __post_init__(self) -> None:
        if self.mode not in ("max", "min"):
            raise ConfigError(f"mode must be 'max' or 'min' (got {self.mode!r})")
        if self.mode == "min" and self.best == -np.inf:
            self.best = np.inf

    def step(self, value: float, step: int) -> bool:
        """Record ``value``; return True when it is the best so far."""
        better = value > self.best + self.min_delta if self.mode == "max" else value < self.best - self.min_delta
        if better:
            self.best, self.best_step, self.bad = value, step, 0
            return True
        self.bad += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.bad >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_step": self.best_step, "bad": self.bad}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_step, self.bad = float(state["best"]), int(state["best_step"]), int(state["bad"])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write a torch checkpoint atomically (temp file + rename). ``state`` holds state_dicts, numbers,
    lists and tensors only, so it loads with ``weights_only=True``."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``: nothing is unpickled)."""
    import torch

    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)  # type: ignore[no-any-return]
    except Exception as exc:  # torch raises RuntimeError/EOFError/UnpicklingError for damaged files
        raise ArtifactError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from exc
