"""Counter-based random numbers for numba kernels (splitmix64), shared by the walk and sampler kernels.

Each walk or sampled node gets its own stream seeded from ``(seed, index)``, so results do not depend on the
number of threads or on how work is chunked. A stream is a one-element ``uint64`` array holding the state.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["GOLDEN", "MIX1", "MIX2", "S11", "S32", "INV53", "mix", "stream_seed", "uniform", "next_u64"]

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
S11 = np.uint64(11)
S27 = np.uint64(27)
S30 = np.uint64(30)
S31 = np.uint64(31)
S32 = np.uint64(32)
INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(inline="always", cache=True)
def mix(z: np.uint64) -> np.uint64:
    """The splitmix64 finaliser."""
    z = (z ^ (z >> S30)) * MIX1
    z = (z ^ (z >> S27)) * MIX2
    return z ^ (z >> S31)


@njit(inline="always", cache=True)
def stream_seed(seed: int, index: int) -> np.uint64:
    """Initial state of stream ``index`` under ``seed`` (a hash of the pair)."""
    return mix(mix(np.uint64(seed) + GOLDEN) ^ (np.uint64(index) * GOLDEN))


@njit(inline="always", cache=True)
def next_u64(state: NDArray[np.uint64]) -> np.uint64:
    """Next 64-bit value of the stream kept in ``state[0]``."""
    state[0] += GOLDEN
    return mix(state[0])


@njit(inline="always", cache=True)
def uniform(state: NDArray[np.uint64]) -> float:
    """Next double in [0, 1) of the stream kept in ``state[0]``."""
    return float(next_u64(state) >> S11) * INV53
