"""Faiss nearest-neighbour search over an :class:`~graphrec.Embeddings` bundle.

Faiss ids are the item indices ``1..N`` of the bundle's vocabulary, so every result maps back to an external
id; row 0 (padding) is never indexed, and rows whose ``known`` flag is false are left out unless asked.

Scores are similarities, higher is better, for every metric: the inner product for ``"ip"``, the cosine for
``"cosine"`` and ``-||q - x||^2`` (the negated squared distance) for ``"l2"``. Result matrices are padded on
the right with item ``-1`` and score ``-inf`` where fewer than ``k`` items could be returned (approximate
indexes may find fewer, and excluded items are removed); the external-id API drops the padding.

The choice of index under ``index_type="auto"`` and the parameters are in :mod:`graphrec.index_config`;
result frames and argument checks in :mod:`graphrec.results`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any, Literal, cast

import faiss
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from graphrec.artifacts import atomic_dir, read_json, write_json
from graphrec.embeddings import Embeddings
from graphrec.errors import ArtifactError, ConfigError, DataError, UnknownIdError, did_you_mean
from graphrec.index_config import (
    CALIBRATION_K,
    CALIBRATION_QUERIES,
    FLAT_MAX_ITEMS,
    IndexConfig,
    auto_index_params,
)
from graphrec.results import Exclude, check_k, check_unknown, exclude_csr, results_frame
from graphrec.vocab import ItemVocab

__all__ = ["FaissIndex", "IndexConfig", "auto_index_params", "results_frame", "INDEX_FORMAT_VERSION",
           "FLAT_MAX_ITEMS"]

log = logging.getLogger(__name__)

INDEX_FORMAT_VERSION = 1



@contextlib.contextmanager
def _omp_threads(num_threads: int | None) -> Iterator[None]:
    if num_threads is None:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(int(num_threads))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class FaissIndex:
    """Top-k search over item vectors with Faiss, keyed by the item vocabulary.

    Args:
        config: An :class:`IndexConfig` (default: all defaults).
        **params: Overrides of ``config`` fields, e.g. ``metric="cosine", index_type="hnsw"``.

    Attributes:
        vocab_: The item vocabulary of the indexed bundle.
        params_: The resolved index type and parameters (see :func:`auto_index_params`).
        embeddings_: The bundle the index was built from (``None`` after :meth:`load` without it).

    Example:
        >>> import numpy as np
        >>> from graphrec import Embeddings, ItemVocab
        >>> vectors = np.array([[0, 0], [1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32)
        >>> index = FaissIndex(metric="cosine").fit(Embeddings(ItemVocab(["a", "b", "c"]), vectors))
        >>> index.search_items(["a"], k=1)["item"].tolist()
        ['b']
    """

    def __init__(self, config: IndexConfig | None = None, **params: Any) -> None:
        names = [f.name for f in fields(IndexConfig)]
        for key in params:
            if key not in names:
                raise ConfigError(f"unknown index parameter {key!r}{did_you_mean(key, names)}")
        self.config = replace(config or IndexConfig(), **params)
        self.index_: Any = None
        self.vocab_: ItemVocab | None = None
        self.params_: dict[str, Any] = {}
        self.embeddings_: Embeddings | None = None
        self.dim_ = 0
        self._indexed_mask: NDArray[np.bool_] | None = None

    # ------------------------------------------------------------------ build
    def fit(self, embeddings: Embeddings) -> FaissIndex:
        """Index the vectors of ``embeddings`` (rows 1..N; padding and, by default, unknown rows left out).

        Raises:
            ConfigError: A parameter is out of range or does not fit the data (e.g. ``nlist`` > items).
            DataError: No row is left to index.
        """
        cfg = self.config
        cfg.validate(embeddings.dim)
        n_rows = embeddings.vocab.size + 1
        mask = np.ones(n_rows, dtype=bool) if embeddings.known is None or cfg.include_unknown \
            else np.asarray(embeddings.known, dtype=bool).copy()
        mask[0] = False
        ids = np.flatnonzero(mask).astype(np.int64)
        if ids.size == 0:
            raise DataError(f"no item vector to index ({embeddings.vocab.size} items, none marked known)")
        params = auto_index_params(len(ids), embeddings.dim, cfg)
        self._check_fits(params, len(ids))
        x = embeddings.vectors[ids]  # fancy indexing copies: the caller's array is never modified
        if cfg.metric == "cosine":
            x = _normalized(x)
        start = time.perf_counter()
        with _omp_threads(cfg.num_threads):
            index = self._build_index(x, ids, params)
            if cfg.target_recall is not None and params["index_type"] in ("hnsw", "ivf_flat") \
                    and (cfg.ef_search if params["index_type"] == "hnsw" else cfg.nprobe) is None:
                index, params = self._calibrate(index, x, ids, params)
        self.index_, self.vocab_, self.params_, self.dim_ = index, embeddings.vocab, params, embeddings.dim
        self.embeddings_, self._indexed_mask = embeddings, mask
        self._apply_search_params()
        log.info("built %s index of %d items (dim %d, %s) in %.1fs: %s", params["index_type"], len(ids),
                 embeddings.dim, cfg.metric, time.perf_counter() - start, params)
        return self

    @classmethod
    def build(cls, embeddings: Embeddings, **params: Any) -> FaissIndex:
        """Shorthand for ``FaissIndex(**params).fit(embeddings)``."""
        return cls(**params).fit(embeddings)

    def _build_index(self, x: NDArray[np.float32], ids: NDArray[np.int64], params: dict[str, Any]) -> Any:
        index: Any = faiss.index_factory(x.shape[1], _factory_string(params), _faiss_metric(self.config.metric))
        if params["index_type"] == "hnsw":
            _downcast(index.index).hnsw.efConstruction = int(params["ef_construction"])
        ivf = _ivf(index)
        if ivf is not None:
            self._train_ivf(ivf, x, params)
        index.add_with_ids(x, ids)
        return index

    def _calibrate(self, index: Any, x: NDArray[np.float32], ids: NDArray[np.int64],
                   params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Pick the smallest ``efSearch`` (64, 128, ...) or ``nprobe`` (1, 2, 4, ...) whose recall@50 against
        exact search, on a sample of the indexed vectors used as queries, reaches ``target_recall``.

        When no rung does (data without neighbourhood structure), ``index_type="auto"`` falls back to exact
        search, and an explicitly chosen type keeps its last rung; both log a warning.
        """
        cfg, n = self.config, len(x)
        target = float(cfg.target_recall or 0.0)
        rng = np.random.default_rng(cfg.seed)
        sample = x[np.sort(rng.choice(n, min(n, CALIBRATION_QUERIES), replace=False))]
        k = min(CALIBRATION_K, n)
        truth = ids[faiss.knn(sample, x, k, metric=_faiss_metric(cfg.metric))[1]]
        name = "ef_search" if params["index_type"] == "hnsw" else "nprobe"
        top = 2048 if name == "ef_search" else max(1, params["nlist"] // 4)
        value, rec = (64 if name == "ef_search" else 1), 0.0
        while True:
            trial = {**params, name: value}
            self.index_, self.params_ = index, trial
            self._apply_search_params()
            found = index.search(sample, k)[1]
            rec = float(np.mean([np.isin(f, t).sum() for f, t in zip(found, truth, strict=True)])) / k
            if rec >= target or value >= top:
                break
            value = min(2 * value, top)
        trial["calibrated_recall"] = round(rec, 4)
        if rec >= target:
            log.info("calibrated %s=%d: recall@%d %.4f on %d sample queries", name, value, k, rec, len(sample))
            return index, trial
        if cfg.index_type == "auto":
            log.warning("%s reaches only recall@%d %.4f at %s=%d on these vectors (target %.2f): using exact "
                        "search instead", params["index_type"], k, rec, name, value, target)
            flat = {"index_type": "flat", "fallback_from": trial}
            return self._build_index(x, ids, flat), flat
        log.warning("%s reaches only recall@%d %.4f at %s=%d on these vectors (target %.2f); set %s or use "
                    "index_type='flat'", params["index_type"], k, rec, name, value, target, name)
        return index, trial

    def _check_fits(self, params: dict[str, Any], n: int) -> None:
        if "nlist" in params and params["nlist"] > n:
            raise ConfigError(f"nlist={params['nlist']} needs at least as many indexed items (got {n})")
        if params["index_type"] == "ivf_pq" and n < 2 ** params["pq_nbits"]:
            raise ConfigError(f"ivf_pq with pq_nbits={params['pq_nbits']} needs >= {2 ** params['pq_nbits']} "
                              f"indexed items to train (got {n})")

    def _train_ivf(self, ivf: Any, x: NDArray[np.float32], params: dict[str, Any]) -> None:
        ivf.cp.seed = self.config.seed
        if params["index_type"] == "ivf_pq":
            ivf.pq.cp.seed = self.config.seed
            ivf.do_polysemous_training = False  # index_factory turns it on; slow, and unused by our searches
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        n_train = min(len(x), max(64 * params["nlist"], 64 * 2 ** params.get("pq_nbits", 0)))
        rng = np.random.default_rng(self.config.seed)
        sample = x if n_train == len(x) else x[np.sort(rng.choice(len(x), n_train, replace=False))]
        ivf.train(sample)

    def set_search_params(self, ef_search: int | None = None, nprobe: int | None = None) -> FaissIndex:
        """Change HNSW ``efSearch`` or IVF ``nprobe`` without rebuilding (the other kinds ignore them)."""
        for name, value in (("ef_search", ef_search), ("nprobe", nprobe)):
            if value is not None:
                if not isinstance(value, int | np.integer) or value < 1:
                    raise ConfigError(f"{name} must be an integer >= 1 (got {value!r})")
                if name in self.params_:
                    self.params_[name] = int(value)
                    self.params_.pop("calibrated_recall", None)  # measured for the value it replaces
        self._apply_search_params()
        return self

    def _apply_search_params(self) -> None:
        if self.params_.get("index_type") == "hnsw":
            _downcast(self.index_.index).hnsw.efSearch = int(self.params_["ef_search"])
        ivf = _ivf(self.index_)
        if ivf is not None:
            ivf.nprobe = int(self.params_["nprobe"])

    # ------------------------------------------------------------------ search on item indices
    @property
    def ntotal(self) -> int:
        """Number of indexed items (the catalogue ``k`` is clamped to)."""
        return int(self._fitted().ntotal)

    def __len__(self) -> int:
        return self.ntotal

    def search(self, queries: ArrayLike, k: int,
               exclude: Exclude = None) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """Top-``k`` items for each query vector.

        Args:
            queries: ``float[B, dim]`` query vectors (normalised copies are searched under ``"cosine"``).
            k: Results per query; clamped to the number of indexed items.
            exclude: Items (indices ``1..N``) never to return for each query, found by over-fetching: a
                CSR pair ``(offsets int64[B + 1], items)``, an object with ``offsets``/``items`` such as
                :class:`~graphrec.Sequences`, or a list with one list of indices per query. Index 0 is
                ignored.

        Returns:
            ``(item_indices int32[B, k'], scores float32[B, k'])`` with ``k' = min(k, ntotal)``, best first;
            slots with no result hold item ``-1`` and score ``-inf`` (always at the end of a row).

        Raises:
            DataError: ``queries`` is not ``[B, dim]`` or holds NaN/inf, or ``exclude`` is malformed.
        """
        index = self._fitted()
        q = self._prepare_queries(queries)
        kk = min(check_k(k), index.ntotal)
        n_q = len(q)
        out_i = np.full((n_q, kk), -1, dtype=np.int32)
        out_s = np.full((n_q, kk), -np.inf, dtype=np.float32)
        if n_q == 0:
            return out_i, out_s
        n_rows = self._vocab().size + 1
        keys, lengths = None, np.zeros(n_q, np.int64)
        if exclude is not None:  # sorted keys row * (N + 1) + item of every excluded (query, item) pair
            offsets, items = exclude_csr(exclude, n_q, n_rows - 1)
            lengths = np.diff(offsets)
            keys = np.sort(np.repeat(np.arange(n_q, dtype=np.int64), lengths) * n_rows + items)
        fetch = np.minimum(kk + lengths, index.ntotal)
        bucket = np.minimum(2 ** np.ceil(np.log2(np.maximum(fetch, 1))).astype(np.int64), index.ntotal)
        bucket = np.where(lengths == 0, kk, bucket)  # no exclusions: fetch exactly k'
        with _omp_threads(self.config.num_threads):
            for size in np.unique(bucket):
                rows_all = np.flatnonzero(bucket == size)
                for start in range(0, len(rows_all), self.config.batch_size):
                    rows = rows_all[start:start + self.config.batch_size]
                    params = self._search_params(int(size)) if size > kk else None
                    dist, labels = index.search(q[rows], int(size), params=params)
                    self._compact(rows, labels, dist, keys, out_i, out_s)
        return out_i, out_s

    def _search_params(self, fetch: int) -> Any:
        """IVF: probe enough lists to hold ``fetch`` candidates twice over (large exclusion sets)."""
        ivf = _ivf(self.index_)
        if ivf is None:
            return None
        nprobe = max(ivf.nprobe, math.ceil(2 * fetch * ivf.nlist / max(self.ntotal, 1)))
        if nprobe <= ivf.nprobe:
            return None
        return faiss.SearchParametersIVF(nprobe=min(ivf.nlist, nprobe))  # type: ignore[call-arg]

    def _compact(self, rows: NDArray[np.int64], labels: NDArray[np.int64], dist: NDArray[np.float32],
                 keys: NDArray[np.int64] | None, out_i: NDArray[np.int32],
                 out_s: NDArray[np.float32]) -> None:
        """Drop -1 and excluded results, shift the rest left, keep the first ``k'`` per row."""
        valid = labels >= 0
        if keys is not None and keys.size:
            k2 = rows[:, None] * (self._vocab().size + 1) + labels
            pos = np.minimum(np.searchsorted(keys, k2), keys.size - 1)
            valid &= keys[pos] != k2
        rank = np.cumsum(valid, axis=1) - 1
        r, c = np.nonzero(valid & (rank < out_i.shape[1]))
        out_i[rows[r], rank[r, c]] = labels[r, c]
        out_s[rows[r], rank[r, c]] = -dist[r, c] if self.config.metric == "l2" else dist[r, c]

    def search_multi(self, queries: ArrayLike | Sequence[ArrayLike], k: int,
                     exclude: Exclude = None) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """Multi-interest search: several query vectors per user, merged by score and de-duplicated.

        Each interest vector is searched for ``k`` items; an item found by several interests keeps its best
        score, and the best ``k`` distinct items of each user are returned (the same as a top-``k`` over the
        maximum score across interests).

        Args:
            queries: ``float[B, I, dim]`` or a sequence of ``B`` arrays ``[I_b, dim]`` (``I_b`` may differ).
            k: Results per user (clamped to the catalogue).
            exclude: Per-user exclusions, as in :meth:`search`.

        Returns:
            ``(item_indices int32[B, k'], scores float32[B, k'])``, padded with ``-1``/``-inf`` as in
            :meth:`search`.
        """
        parts = [np.asarray(p, dtype=np.float32) for p in cast(Iterable[Any], queries)]
        for b, part in enumerate(parts):
            if part.ndim != 2 or part.shape[1] != self.dim_:
                raise DataError(f"queries of user {b} must be [num_interests, {self.dim_}] "
                                f"(got shape {part.shape})")
        owner = np.repeat(np.arange(len(parts), dtype=np.int64), [len(p) for p in parts])
        flat = np.concatenate(parts) if parts else np.zeros((0, self.dim_), np.float32)
        excl = None
        if exclude is not None:  # each user's exclusions, repeated for each of its interest vectors
            off, items = exclude_csr(exclude, len(parts), self._vocab().size)
            lengths = np.diff(off)[owner]
            new_off = np.concatenate([[0], np.cumsum(lengths)])
            within = np.arange(new_off[-1]) - np.repeat(new_off[:-1], lengths)
            excl = (new_off, items[np.repeat(off[owner], lengths) + within])
        labels, scores = self.search(flat, k, excl)
        kk = labels.shape[1]
        out_i = np.full((len(parts), kk), -1, dtype=np.int32)
        out_s = np.full((len(parts), kk), -np.inf, dtype=np.float32)
        valid = labels >= 0
        own, lab, sc = np.broadcast_to(owner[:, None], labels.shape)[valid], labels[valid], scores[valid]
        order = np.lexsort((-sc, own))
        own, lab, sc = own[order], lab[order], sc[order]
        # first occurrence of each (user, item) in this order = its best score
        _, first = np.unique(own * (self._vocab().size + 1) + lab, return_index=True)
        first.sort()  # back to (user, descending score) order
        own, lab, sc = own[first], lab[first], sc[first]
        starts = np.searchsorted(own, own, side="left")
        rank = np.arange(len(own)) - starts
        keep = rank < kk
        out_i[own[keep], rank[keep]] = lab[keep]
        out_s[own[keep], rank[keep]] = sc[keep]
        return out_i, out_s

    # ------------------------------------------------------------------ search on external ids
    def search_items(self, external_ids: ArrayLike, k: int, exclude_self: bool = True,
                     unknown: Literal["error", "skip"] = "error") -> pd.DataFrame:
        """Item-to-item recall: the nearest items to each given item's own vector.

        Args:
            external_ids: Query items (external ids).
            k: Neighbours per item (clamped to the catalogue).
            exclude_self: Leave each query item out of its own results (default True).
            unknown: ``"error"`` raises :class:`UnknownIdError` for an id not in the vocabulary (or an item
                without a vector), ``"skip"`` leaves such queries out of the result.

        Returns:
            A long DataFrame ``query, rank (1-based), item, score``, best first per query, padding dropped.
        """
        vocab = self._vocab()
        q_ids = external_ids if isinstance(external_ids, np.ndarray) \
            else np.asarray(list(cast(Iterable[Any], external_ids)))
        idx = vocab.encode(q_ids, unknown=check_unknown(unknown, "pad"))
        found = idx > 0
        if self.embeddings_ is None:
            found &= self._indexed()[idx]
            if unknown == "error" and not found.all():
                bad = q_ids[~found][0]
                raise UnknownIdError(f"item {bad!r} has no vector in the index (not indexed: known=False); "
                                     "pass embeddings= to FaissIndex.load to query it")
        idx = idx[found]
        exclude = (np.arange(len(idx) + 1, dtype=np.int64), idx) if exclude_self else None
        labels, scores = self.search(self.item_vectors(idx), k, exclude)
        return results_frame(q_ids[found], labels, scores, vocab)

    def item_vectors(self, item_indices: ArrayLike) -> NDArray[np.float32]:
        """The vectors of items ``1..N``: the bundle's rows, or after :meth:`load` the stored (normalised
        under cosine, PQ-approximated under ``ivf_pq``) vectors reconstructed from Faiss."""
        idx = np.asarray(item_indices, dtype=np.int64)
        if self.embeddings_ is not None:
            return self.embeddings_.vectors[idx]
        if idx.size and not self._indexed()[idx].all():
            bad = int(idx[~self._indexed()[idx]][0])
            raise UnknownIdError(f"item index {bad} is not in the index (not indexed: known=False)")
        return self._fitted().reconstruct_batch(idx) if idx.size else np.zeros((0, self.dim_), np.float32)

    def _indexed(self) -> NDArray[np.bool_]:
        if self._indexed_mask is None:
            mask = np.zeros(self._vocab().size + 1, dtype=bool)
            mask[_faiss_ids(self._fitted())] = True
            self._indexed_mask = mask
        return self._indexed_mask

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``index.faiss``, ``vocab.npz`` and ``index.json`` atomically into ``directory`` (replaced
        as a whole: use :meth:`save_into` to add the index to a run directory being written)."""
        directory = Path(directory)
        with atomic_dir(directory) as tmp:
            self.save_into(tmp)
        return directory

    def save_into(self, directory: str | Path) -> None:
        """Write the index files into an existing directory (e.g. inside a run directory being written)."""
        directory = Path(directory)
        index = self._fitted()
        faiss.write_index(index, str(directory / "index.faiss"))
        self._vocab().save(directory / "vocab.npz")
        cfg = {k: v for k, v in asdict(self.config).items() if k not in ("num_threads",)}
        write_json(directory / "index.json", {
            "format_version": INDEX_FORMAT_VERSION, "metric": self.config.metric,
            "index_type": self.params_["index_type"], "params": self.params_, "config": cfg, "dim": self.dim_,
            "num_items": self._vocab().size, "ntotal": int(index.ntotal),
            "index_bytes": (directory / "index.faiss").stat().st_size, "faiss_version": faiss.__version__,
        })

    @classmethod
    def load(cls, directory: str | Path, embeddings: Embeddings | None = None,
             num_threads: int | None = None) -> FaissIndex:
        """Load an index written by :meth:`save`.

        Args:
            directory: The index directory.
            embeddings: The bundle it was built from, to query items by their exact (or unindexed) vectors.
            num_threads: Faiss threads for searches.

        Raises:
            ArtifactError: A file is missing or truncated, or the format version is not supported.
        """
        directory = Path(directory)
        meta = read_json(directory / "index.json")
        if meta.get("format_version") != INDEX_FORMAT_VERSION:
            raise ArtifactError(f"{directory}: index format version {meta.get('format_version')!r}, "
                                f"expected {INDEX_FORMAT_VERSION}")
        path = directory / "index.faiss"
        if not path.is_file():
            raise ArtifactError(f"missing file {path}")
        if path.stat().st_size != meta.get("index_bytes"):
            raise ArtifactError(f"{path} is truncated or altered: {path.stat().st_size} bytes, "
                                f"expected {meta.get('index_bytes')}")
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise ArtifactError(f"cannot read {path}: {exc}") from exc
        vocab = cast(ItemVocab, ItemVocab.load(directory / "vocab.npz"))
        if vocab.size != meta["num_items"] or index.ntotal != meta["ntotal"] or index.d != meta["dim"]:
            raise ArtifactError(f"{directory}: index ({index.ntotal} vectors of dim {index.d}) and "
                                f"vocabulary ({vocab.size} items) do not match index.json")
        if embeddings is not None and embeddings.vocab != vocab:
            raise DataError(f"embeddings vocabulary ({embeddings.vocab.size} items) differs from the index's")
        config = replace(IndexConfig(**meta["config"]), num_threads=num_threads)
        self = cls(config)
        self.index_, self.vocab_, self.params_ = index, vocab, dict(meta["params"])
        self.dim_, self.embeddings_ = int(meta["dim"]), embeddings
        self._apply_search_params()
        return self

    # ------------------------------------------------------------------ helpers
    def _fitted(self) -> Any:
        if self.index_ is None:
            raise ConfigError("FaissIndex is not built: call fit(embeddings) or FaissIndex.load(directory)")
        return self.index_

    def _vocab(self) -> ItemVocab:
        self._fitted()
        return cast(ItemVocab, self.vocab_)  # set together with index_

    def _prepare_queries(self, queries: ArrayLike) -> NDArray[np.float32]:
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim_:
            raise DataError(f"queries must be [batch, {self.dim_}] (got shape {q.shape})")
        if not np.all(np.isfinite(q)):
            raise DataError("queries contain NaN or inf")
        q = _normalized(q) if self.config.metric == "cosine" else q
        return np.ascontiguousarray(q)

    def __repr__(self) -> str:
        if self.index_ is None:
            return f"FaissIndex({self.config.metric}, {self.config.index_type}, not built)"
        return f"FaissIndex({self.config.metric}, {self.ntotal} items, dim {self.dim_}, {self.params_})"


def _factory_string(params: dict[str, Any]) -> str:
    kind = params["index_type"]
    if kind == "flat":
        return "IDMap2,Flat"
    if kind == "hnsw":
        return f"IDMap2,HNSW{params['hnsw_m']},Flat"
    if kind == "ivf_flat":
        return f"IVF{params['nlist']},Flat"
    return f"IVF{params['nlist']},PQ{params['pq_m']}x{params['pq_nbits']}"


def _downcast(index: Any) -> Any:
    return faiss.downcast_index(index)


def _faiss_metric(metric: str) -> int:
    return faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT


def _ivf(index: Any) -> Any:
    try:
        return faiss.downcast_index(faiss.extract_index_ivf(index))
    except RuntimeError:
        return None


def _faiss_ids(index: Any) -> NDArray[np.int64]:
    """The ids stored in an IDMap2 or IVF index."""
    ivf = _ivf(index)
    if ivf is None:
        return faiss.vector_to_array(index.id_map).astype(np.int64)
    lists = ivf.invlists
    parts = [faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy() for i in range(ivf.nlist)
             if lists.list_size(i)]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def _normalized(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """L2-normalised copy; zero rows stay zero."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1)).astype(np.float32)
