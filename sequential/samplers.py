"""Negative samplers over item indices ``1..num_items`` with their sampling probabilities (for log-Q correction).

* ``uniform``: ``q(j) = 1 / N``.
* ``popularity``: ``q(j) proportional to count(j)`` (items never seen in train get a count of 1 so all are reachable).
* ``log_uniform``: Zipf over the popularity rank ``r`` (1 = most popular), as TensorFlow's
  ``log_uniform_candidate_sampler``: ``q(r) = log((r + 2) / (r + 1)) / log(N + 1)``.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray

from graphrec.errors import ConfigError

__all__ = ["NegativeSampler"]


class NegativeSampler:
    """Draw item indices with replacement from ``q`` and report ``log q``.

    Args:
        num_items: Catalogue size ``N``.
        kind: ``uniform``, ``popularity`` or ``log_uniform``.
        counts: Train counts per item index (length ``N + 1``), needed by the popularity-based kinds.

    Example:
        >>> s = NegativeSampler(5, "uniform")
        >>> ids = s.sample(3, torch.Generator().manual_seed(0))
        >>> bool(((ids >= 1) & (ids <= 5)).all()), round(float(s.log_q[1].exp()), 2)
        (True, 0.2)
    """

    def __init__(self, num_items: int, kind: str = "uniform", counts: NDArray[np.integer] | None = None) -> None:
        if num_items < 1:
            raise ConfigError(f"num_items must be >= 1 (got {num_items})")
        self.num_items = num_items
        self.kind = kind
        q = np.zeros(num_items + 1)
        if kind == "uniform":
            q[1:] = 1.0 / num_items
        elif kind in ("popularity", "log_uniform"):
            if counts is None or len(counts) != num_items + 1:
                raise ConfigError(f"sampler {kind!r} needs item counts of length num_items + 1 = {num_items + 1}")
            c = np.maximum(np.asarray(counts, dtype=np.float64)[1:], 1.0)
            if kind == "popularity":
                q[1:] = c / c.sum()
            else:
                order = np.argsort(-c, kind="stable")
                rank = np.empty(num_items)
                rank[order] = np.arange(1, num_items + 1)
                q[1:] = np.log((rank + 1.0) / rank) / np.log(num_items + 1.0)
                q[1:] /= q[1:].sum()
        else:
            raise ConfigError(f"sampler must be 'uniform', 'popularity' or 'log_uniform' (got {kind!r})")
        self.q = torch.from_numpy(q).float()
        self.log_q = torch.log(self.q.clamp_min(1e-30))
        self.log_q[0] = 0.0
        self._cdf = torch.from_numpy(np.cumsum(q[1:]) / q[1:].sum())

    def sample(self, n: int | tuple[int, ...], generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` item indices (int64, shape ``n``) drawn with replacement."""
        shape = (n,) if isinstance(n, int) else tuple(n)
        if self.kind == "uniform":
            return torch.randint(1, self.num_items + 1, shape, generator=generator)
        u = torch.rand(shape, generator=generator, dtype=torch.float64)
        return (torch.searchsorted(self._cdf, u.reshape(-1)).clamp_max(self.num_items - 1) + 1).reshape(shape)
