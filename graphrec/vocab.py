"""Vocabularies: external ids of any kind <-> contiguous indices 1..N, with 0 reserved for padding."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from graphrec.errors import ArtifactError, DataError, UnknownIdError

__all__ = ["Vocab", "ItemVocab", "UserVocab", "PAD", "ids_to_arrays", "ids_from_arrays"]

PAD = 0
_FORMAT_VERSION = 1


class Vocab:
    """A bijection between external ids and indices ``1..N`` (``0`` is padding).

    External ids may be strings or integers of any size (int64 near 2**63 included); arrays are never
    sized by the largest external id.

    Args:
        ids: The external ids in index order (``ids[0]`` gets index 1). Must be unique and not null.

    Example:
        >>> v = Vocab(["b", "a"])
        >>> v.encode(["a", "b"]).tolist()
        [2, 1]
        >>> v.decode([1]).tolist()
        ['b']
    """

    kind = "id"

    def __init__(self, ids: ArrayLike) -> None:
        arr = _as_id_array(ids)
        index = pd.Index(arr)
        if index.hasnans:
            raise DataError(f"{self.kind} ids contain null values")
        if not index.is_unique:
            dup = index[index.duplicated()][0]
            raise DataError(f"{self.kind} ids are not unique (first duplicate: {dup!r})")
        self._ids = arr
        self._index = index
        self._int_ids = arr.dtype.kind in "iu" or (arr.dtype.kind == "O" and _all_ints(arr))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_values(cls, values: ArrayLike) -> tuple[Self, NDArray[np.int32]]:
        """Build a vocabulary from raw values in order of first appearance; return it and the codes (1-based)."""
        arr = _as_id_array(values)
        codes, uniques = pd.factorize(arr, use_na_sentinel=True)
        if (codes < 0).any():
            raise DataError(f"{cls.kind} column contains null ids (first at row {int(np.argmax(codes < 0))})")
        vocab = cls(np.asarray(uniques))
        return vocab, (codes + 1).astype(np.int32)

    # ------------------------------------------------------------------ mapping
    def __len__(self) -> int:
        return len(self._ids)

    @property
    def size(self) -> int:
        """Number of real ids (the matrix of a model has ``size + 1`` rows, row 0 being padding)."""
        return len(self._ids)

    @property
    def ids(self) -> NDArray[Any]:
        """External ids in index order (index ``i`` is ``ids[i - 1]``)."""
        return self._ids

    def __contains__(self, external_id: object) -> bool:
        try:  # the same matching as encode: "5" is in an integer vocabulary that holds 5
            return bool(self.encode([external_id], unknown="pad")[0] > 0)
        except (TypeError, ValueError):
            return False

    def encode(
        self, external_ids: Iterable[Any] | ArrayLike, unknown: Literal["error", "skip", "pad"] = "error"
    ) -> NDArray[np.int32]:
        """Map external ids to indices.

        Args:
            external_ids: Ids to map; strings are also matched against integer vocabularies when they parse.
            unknown: ``"error"`` raises :class:`UnknownIdError`, ``"skip"`` drops unknown ids, ``"pad"`` maps them to 0.
        """
        if unknown not in ("error", "skip", "pad"):
            raise ValueError(f"unknown must be 'error', 'skip' or 'pad' (got {unknown!r})")
        values = _as_id_array(external_ids if isinstance(external_ids, np.ndarray) else list(external_ids))  # type: ignore[arg-type]
        values = self._coerce_query(values)
        pos = self._index.get_indexer(values)
        missing = pos < 0
        if missing.any():
            if unknown == "error":
                bad = values[missing][:5].tolist()
                raise UnknownIdError(
                    f"unknown {self.kind} id(s) {bad} ({int(missing.sum())} of {len(values)} not in the vocabulary "
                    f"of {len(self)} {self.kind}s)"
                )
            if unknown == "skip":
                pos = pos[~missing]
            else:
                pos = np.where(missing, -1, pos)
        return (pos + 1).astype(np.int32)

    def decode(self, indices: ArrayLike) -> NDArray[Any]:
        """Map indices (1..N) back to external ids. Index 0 (padding) or out of range raises."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 1 or idx.max() > len(self)):
            bad = idx[(idx < 1) | (idx > len(self))][0]
            raise UnknownIdError(f"index {int(bad)} is outside 1..{len(self)} of the {self.kind} vocabulary")
        return self._ids[idx - 1]

    def _coerce_query(self, values: NDArray[Any]) -> NDArray[Any]:
        """Let string queries such as CLI arguments match integer vocabularies and vice versa."""
        if values.dtype.kind in "OUS" and self._int_ids:
            # integer-looking strings become ints; anything else ("1.5", "abc") stays and is simply unknown
            vals = [int(v) if isinstance(v, str) and _INT_RE.fullmatch(v.strip()) else v for v in values.tolist()]
            if _all_ints(vals):
                return _ints_array(vals)
            out = np.empty(len(vals), dtype=object)
            out[:] = vals
            return out
        if not self._int_ids and (values.dtype.kind in "iu" or (values.dtype.kind == "O" and _all_ints(values))):
            return np.asarray([str(v) for v in values.tolist()], dtype=object)
        return values

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Save as ``.npz`` (no pickle): integer ids as int64, anything else as UTF-8 strings."""
        path = Path(path)
        np.savez(path, kind=np.array(self.kind), version=np.array(_FORMAT_VERSION),
                 **ids_to_arrays(self._ids))  # type: ignore[arg-type]
        return path

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Load a vocabulary written by :meth:`save`."""
        try:
            with np.load(Path(path), allow_pickle=False) as z:
                version = int(z["version"])
                if version != _FORMAT_VERSION:
                    raise ArtifactError(f"{path}: vocabulary format version {version}, expected {_FORMAT_VERSION}")
                ids = ids_from_arrays(z)
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            if isinstance(exc, ArtifactError):
                raise
            raise ArtifactError(f"cannot read vocabulary {path}: {exc}") from exc
        return cls(ids)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and len(self) == len(other) and bool(np.all(self._ids == other._ids))

    def __hash__(self) -> int:  # pragma: no cover - vocabularies are not dict keys
        return id(self)

    def __repr__(self) -> str:
        head = ", ".join(repr(x) for x in self._ids[:3].tolist())
        return f"{type(self).__name__}(size={len(self)}, ids=[{head}{', ...' if len(self) > 3 else ''}])"


class ItemVocab(Vocab):
    """Vocabulary of items."""

    kind = "item"


class UserVocab(Vocab):
    """Vocabulary of users (or sessions)."""

    kind = "user"


def ids_to_arrays(ids: NDArray[Any], prefix: str = "") -> dict[str, NDArray[Any]]:
    """Pickle-free arrays for a vocabulary's ids: ``int_ids`` (int64), ``bigint_ids`` (integers beyond int64,
    as decimal strings) or ``str_ids``."""
    if ids.dtype.kind in "iu":
        return {f"{prefix}int_ids": ids.astype(np.int64)}
    key = "bigint_ids" if ids.dtype.kind == "O" and _all_ints(ids) else "str_ids"
    return {f"{prefix}{key}": np.asarray([str(x) for x in ids], dtype=np.str_)}


def ids_from_arrays(z: Any, prefix: str = "") -> NDArray[Any]:
    """The ids written by :func:`ids_to_arrays` (``z`` is an open ``.npz``)."""
    if f"{prefix}int_ids" in z.files:
        return np.asarray(z[f"{prefix}int_ids"])
    if f"{prefix}bigint_ids" in z.files:
        return np.asarray([int(x) for x in z[f"{prefix}bigint_ids"].tolist()], dtype=object)
    return np.asarray(z[f"{prefix}str_ids"]).astype(object)


_INT_RE = re.compile(r"[+-]?\d+")
_INT64_MIN, _INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


def _all_ints(values: Any) -> bool:
    return all(isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in values)


def _ints_array(values: list[int]) -> NDArray[Any]:
    """Python ints as int64 when they fit, else as an object array of exact Python ints (never via float)."""
    if not values or (min(values) >= _INT64_MIN and max(values) <= _INT64_MAX):
        return np.asarray(values, dtype=np.int64)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _as_id_array(values: ArrayLike | Sequence[Any]) -> NDArray[Any]:
    if not isinstance(values, np.ndarray | pd.Index | pd.Series):
        values = list(values)  # type: ignore[arg-type]
        if values and _all_ints(values):  # np.asarray would turn [2**64 - 1, 5] into float64
            return _ints_array([int(v) for v in values])
    arr = np.asarray(values)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.dtype.kind == "U":
        arr = arr.astype(object)
    if arr.dtype.kind == "O" and arr.size and _all_ints(arr):
        return _ints_array([int(v) for v in arr])
    if arr.dtype.kind == "f":
        finite = arr[~np.isnan(arr)] if arr.size else arr
        if finite.size == arr.size and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2.0**63):
            arr = arr.astype(np.int64)
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 8 and arr.size and arr.max() > np.iinfo(np.int64).max:
        arr = _ints_array([int(v) for v in arr])
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    return arr
