"""Parameters of a :class:`~graphrec.index.FaissIndex` and the automatic choice of index type (no Faiss import).

Choice of index when ``index_type="auto"``: exact ``flat`` search up to ``FLAT_MAX_ITEMS`` (100k) indexed
items; above, IVF-Flat with ``nlist`` a power of two near ``4 * sqrt(n)`` and ``nprobe`` calibrated at build
time: the smallest of 1, 2, 4, ... whose recall@50 against exact search reaches ``target_recall`` (0.98) on
256 indexed vectors used as queries. When even ``nprobe = nlist / 4`` falls short (vectors without
neighbourhood structure, where the 50th neighbour is barely closer than a random item), exact search is used
instead, with a warning. On 1M clustered 64-d vectors the calibrated IVF-Flat gave recall@50 >= 0.98 at far
more than 10x the exact speed (``benchmarks/results/faiss_index.md``). HNSW (``efSearch`` calibrated the same
way) and IVF-PQ are available on request; IVF-PQ trades recall for memory (``pq_m`` bytes per vector with
8-bit codes instead of ``4 * dim``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from graphrec.errors import ConfigError, did_you_mean

__all__ = ["IndexConfig", "auto_index_params", "FLAT_MAX_ITEMS", "METRICS", "INDEX_TYPES"]

METRICS = ("ip", "cosine", "l2")
INDEX_TYPES = ("auto", "flat", "hnsw", "ivf_flat", "ivf_pq")
FLAT_MAX_ITEMS = 100_000
"""Catalogues up to this many indexed items get exact search under ``index_type="auto"``."""
CALIBRATION_QUERIES, CALIBRATION_K = 256, 50


@dataclass(frozen=True)
class IndexConfig:
    """Parameters of a :class:`FaissIndex`; ``None`` means "chosen from the catalogue size".

    Args:
        metric: ``"ip"`` (inner product), ``"cosine"`` (vectors and queries are normalised copies) or
            ``"l2"``.
        index_type: ``"auto"``, ``"flat"`` (exact), ``"hnsw"``, ``"ivf_flat"`` or ``"ivf_pq"``.
        hnsw_m: HNSW links per node (default 32).
        ef_construction: HNSW build beam width (default 100).
        ef_search: HNSW search beam width (default 128; raised to the fetch size when that is larger).
        nlist: IVF cells (default: a power of two near ``4 * sqrt(n)``).
        nprobe: IVF cells visited per query (default ``max(16, nlist // 256)``); raised for a query whose
            fetch size (``k`` plus its exclusions) would not fit twice in the cells probed.
        pq_m: IVF-PQ sub-quantizers; must divide ``dim`` (default: the largest divisor of ``dim`` <= dim / 4).
        pq_nbits: Bits per PQ code (default 8).
        include_unknown: Also index rows whose ``known`` flag is false (default False).
        num_threads: Faiss OpenMP threads during build and search (default: Faiss's own, all cores).
        batch_size: Queries per Faiss call (bounds the memory of over-fetching; default 4096).
        seed: Seed of IVF training (k-means and PQ) and of the training and calibration samples.
        target_recall: When ``ef_search`` (HNSW) or ``nprobe`` (IVF) is left ``None``, the smallest value on a
            doubling ladder (HNSW 64 to 2048, IVF 1 to ``nlist / 4``) whose recall@50
            against exact search reaches this on 256 indexed vectors used as queries (default 0.98). If none
            does, ``index_type="auto"`` falls back to exact search. ``None`` keeps the defaults unmeasured.
            IVF-PQ is not calibrated: its recall is capped by the codes, not by ``nprobe``.
    """

    metric: Literal["ip", "cosine", "l2"] = "ip"
    index_type: Literal["auto", "flat", "hnsw", "ivf_flat", "ivf_pq"] = "auto"
    hnsw_m: int = 32
    ef_construction: int = 100
    ef_search: int | None = None
    nlist: int | None = None
    nprobe: int | None = None
    pq_m: int | None = None
    pq_nbits: int = 8
    include_unknown: bool = False
    num_threads: int | None = None
    batch_size: int = 4096
    seed: int = 0
    target_recall: float | None = 0.98

    def validate(self, dim: int) -> None:
        """Raise :class:`ConfigError` naming the first bad value."""
        if self.metric not in METRICS:
            raise ConfigError(f"metric must be one of {METRICS} (got {self.metric!r})"
                              f"{did_you_mean(str(self.metric), METRICS)}")
        if self.index_type not in INDEX_TYPES:
            raise ConfigError(f"index_type must be one of {INDEX_TYPES} (got {self.index_type!r})"
                              f"{did_you_mean(str(self.index_type), INDEX_TYPES)}")
        for name, low in (("hnsw_m", 2), ("ef_construction", 1), ("ef_search", 1), ("nlist", 1),
                          ("nprobe", 1), ("pq_m", 1), ("pq_nbits", 1), ("num_threads", 1), ("batch_size", 1)):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int | np.integer) or value < low):
                raise ConfigError(f"{name} must be an integer >= {low} (got {value!r})")
        if self.target_recall is not None and not 0 < self.target_recall <= 1:
            raise ConfigError(f"target_recall must be in (0, 1] or None (got {self.target_recall!r})")
        if self.pq_nbits > 16:
            raise ConfigError(f"pq_nbits must be <= 16 (got {self.pq_nbits})")
        if self.pq_m is not None and dim % self.pq_m:
            raise ConfigError(f"pq_m must divide the vector dimension {dim} (got {self.pq_m})")


def auto_index_params(num_items: int, dim: int, config: IndexConfig | None = None) -> dict[str, Any]:
    """Resolve the index type and its parameters for ``num_items`` indexed vectors of size ``dim``.

    The rule: ``flat`` (exact) up to :data:`FLAT_MAX_ITEMS` items, ``ivf_flat`` above. Parameters left
    ``None`` in ``config`` are filled in: HNSW ``efSearch=128``; IVF ``nlist`` = the power of two nearest
    ``4 * sqrt(n)`` (at most ``n``), ``nprobe = max(16, nlist // 256)``; PQ ``pq_m`` = the largest divisor of
    ``dim`` that is <= dim / 4. These are the starting values: :meth:`FaissIndex.fit` then calibrates
    ``efSearch``/``nprobe`` against ``target_recall`` unless they were given (see :class:`IndexConfig`).

    Returns:
        ``{"index_type": ..., <the parameters of that type>}``.
    """
    cfg = config or IndexConfig()
    kind = cfg.index_type
    if kind == "auto":
        kind = "flat" if num_items <= FLAT_MAX_ITEMS else "ivf_flat"
    out: dict[str, Any] = {"index_type": kind}
    if kind == "hnsw":
        out.update(hnsw_m=cfg.hnsw_m, ef_construction=cfg.ef_construction,
                   ef_search=cfg.ef_search if cfg.ef_search is not None else 128)
    elif kind in ("ivf_flat", "ivf_pq"):
        nlist = cfg.nlist or min(num_items, 2 ** max(0, round(math.log2(4 * math.sqrt(max(num_items, 1))))))
        out.update(nlist=nlist, nprobe=cfg.nprobe or min(nlist, max(16, nlist // 256)))
        if kind == "ivf_pq":
            pq_m = cfg.pq_m or max(m for m in range(1, max(1, dim // 4) + 1) if dim % m == 0)
            out.update(pq_m=pq_m, pq_nbits=cfg.pq_nbits)
    return out
