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


def set_threads(num_threads: int | None = None, *, torch_threads: int | None = None,
                numba_threads: int | None = None, faiss_threads: int | None = None) -> None:
    """Set the CPU thread counts of torch, numba and Faiss (None leaves a library's count as it is).

    Args:
        num_threads: Threads for all three libraries (the usual call: ``set_threads(2)``).
        torch_threads: Threads of torch intra-op parallelism; overrides ``num_threads`` for torch.
        numba_threads: Threads of the numba kernels (walks, samplers, graph build), capped at
            ``NUMBA_NUM_THREADS``; overrides ``num_threads`` for numba.
        faiss_threads: OpenMP threads of Faiss searches; overrides ``num_threads`` for Faiss. When torch and
            Faiss load the same OpenMP runtime, setting one sets the other (Faiss is set last).

    Raises:
        ConfigError: For a count below 1.

    Example:
        >>> set_threads(2, numba_threads=1)  # torch and Faiss on 2 threads, numba kernels on 1
    """
    counts = {"num_threads": num_threads, "torch_threads": torch_threads, "numba_threads": numba_threads,
              "faiss_threads": faiss_threads}
    for name, value in counts.items():
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be >= 1 (got {value})")
    n_torch, n_numba, n_faiss = (x if x is not None else num_threads for x in (torch_threads, numba_threads,
                                                                                faiss_threads))
    if n_torch is not None:
        import torch

        torch.set_num_threads(n_torch)
    if n_numba is not None:
        try:
            import numba

            numba.set_num_threads(min(n_numba, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
        except ImportError:  # pragma: no cover
            pass
    if n_faiss is not None:
        try:
            import faiss

            faiss.omp_set_num_threads(n_faiss)
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
