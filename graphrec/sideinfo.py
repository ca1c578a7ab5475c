"""Side information per item: one or more fields (category, brand, genre, tags ...), each possibly multi-valued."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from graphrec.errors import ArtifactError, DataError
from graphrec.sequences import csr_from_lengths
from graphrec.vocab import ItemVocab

__all__ = ["SideInfo", "SideField"]


@dataclass(frozen=True)
class SideField:
    """One side-information field in CSR form over item indices ``0..num_items``.

    ``values[offsets[i]:offsets[i + 1]]`` are the value codes (``1..num_values``) of item ``i``; 0 is never used,
    so code ``v`` names ``names[v - 1]``. Row 0 (padding) and items without the field are empty.
    """

    name: str
    offsets: NDArray[np.int64]
    values: NDArray[np.int32]
    names: NDArray[np.str_]

    @property
    def num_values(self) -> int:
        return len(self.names)

    def first_value(self) -> NDArray[np.int32]:
        """One code per item (the first value; 0 when absent), for single-valued use."""
        n = len(self.offsets) - 1
        out = np.zeros(n, dtype=np.int32)
        has = np.diff(self.offsets) > 0
        out[has] = self.values[self.offsets[:-1][has]]
        return out


class SideInfo:
    """Side-information table for the items of an :class:`ItemVocab`.

    Args:
        fields: The fields, each a :class:`SideField` over ``vocab.size + 1`` rows.
        num_items: Number of items (rows are ``0..num_items``).
    """

    def __init__(self, fields: list[SideField], num_items: int) -> None:
        names = [f.name for f in fields]
        if len(set(names)) != len(names):
            raise DataError(f"side-info field names must be unique (got {names})")
        for f in fields:
            if len(f.offsets) != num_items + 2:
                raise DataError(f"side-info field {f.name!r} covers {len(f.offsets) - 2} items, expected {num_items}")
        self.fields = fields
        self.num_items = num_items

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def __getitem__(self, name: str) -> SideField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"no side-info field {name!r} (have {self.field_names})")

    def items_with_info(self) -> NDArray[np.bool_]:
        """Mask over ``0..num_items``: true where any field has a value."""
        mask = np.zeros(self.num_items + 1, dtype=bool)
        for f in self.fields:
            mask |= np.diff(f.offsets) > 0
        return mask

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, vocab: ItemVocab, item_col: str = "item",
                   fields: list[str] | None = None, sep: str | None = None) -> SideInfo:
        """Build from a long or wide table: one row per item (or per item-value pair).

        Args:
            frame: Table with an item column and one column per field.
            vocab: Item vocabulary; rows for items outside it are ignored (they have no interactions).
            item_col: Name of the item column.
            fields: Field columns (default: every other column).
            sep: If set, a cell holding ``"a|b"`` is split into several values.
        """
        if item_col not in frame.columns:
            raise DataError(f"side-info table has no item column {item_col!r} (columns: {list(frame.columns)})")
        fields = fields or [c for c in frame.columns if c != item_col]
        missing = [c for c in fields if c not in frame.columns]
        if missing:
            raise DataError(f"side-info table has no column(s) {missing} (columns: {list(frame.columns)})")
        frame = frame.reset_index(drop=True)
        idx = vocab.encode(frame[item_col].to_numpy(), unknown="pad")
        out = []
        for name in fields:
            col = frame[name]
            items, vals = idx, col
            if sep is not None:
                exploded = col.astype("string").str.split(sep).explode()
                items, vals = idx[exploded.index.to_numpy()], exploded.str.strip()
            vals = pd.Series(np.asarray(vals, dtype=object))
            keep = (np.asarray(items) > 0) & vals.notna().to_numpy() & (vals.astype(str).str.len() > 0).to_numpy()
            out.append(_field_from_pairs(name, np.asarray(items)[keep], vals[keep].astype(str).to_numpy(), vocab.size))
        return cls(out, vocab.size)

    @classmethod
    def from_lists(cls, name: str, item_values: dict[object, list[object]], vocab: ItemVocab) -> SideInfo:
        """Build one multi-valued field from ``{external item id: [values]}`` (e.g. S3-Rec item2attributes)."""
        items, vals = [], []
        for item, values in item_values.items():
            for v in values:
                items.append(item)
                vals.append(str(v))
        idx = vocab.encode(np.asarray(items, dtype=object) if items else np.zeros(0, dtype=object), unknown="pad")
        keep = idx > 0
        return cls([_field_from_pairs(name, idx[keep], np.asarray(vals, dtype=object)[keep], vocab.size)], vocab.size)

    def subset_items(self, mask: NDArray[np.bool_]) -> SideInfo:
        """Copy with the side info of items where ``mask`` is false removed."""
        fields = []
        for f in self.fields:
            lengths = np.diff(f.offsets) * mask[: len(f.offsets) - 1]
            keep = np.repeat(mask[: len(f.offsets) - 1], np.diff(f.offsets))
            fields.append(SideField(f.name, csr_from_lengths(lengths), f.values[keep], f.names))
        return SideInfo(fields, self.num_items)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        arrays: dict[str, np.ndarray] = {"field_names": np.asarray(self.field_names, dtype=np.str_),
                                         "num_items": np.array(self.num_items)}
        for i, f in enumerate(self.fields):
            arrays[f"f{i}_offsets"] = f.offsets
            arrays[f"f{i}_values"] = f.values
            arrays[f"f{i}_names"] = f.names.astype(np.str_)
        np.savez(path, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path) -> SideInfo:
        try:
            with np.load(path, allow_pickle=False) as z:
                names = z["field_names"].tolist()
                fields = [SideField(n, z[f"f{i}_offsets"], z[f"f{i}_values"], z[f"f{i}_names"])
                          for i, n in enumerate(names)]
                return cls(fields, int(z["num_items"]))
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ArtifactError(f"cannot read side info {path}: {exc}") from exc

    def __repr__(self) -> str:
        desc = ", ".join(f"{f.name}:{f.num_values}" for f in self.fields)
        return f"SideInfo(num_items={self.num_items}, fields=[{desc}])"


def _field_from_pairs(name: str, items: NDArray[np.int32], values: NDArray[np.object_], num_items: int) -> SideField:
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), sort=True)
    pairs = pd.DataFrame({"i": np.asarray(items, dtype=np.int64), "v": codes.astype(np.int32) + 1}).drop_duplicates()
    pairs = pairs.sort_values(["i", "v"], kind="stable")
    lengths = np.bincount(pairs["i"].to_numpy(), minlength=num_items + 1)
    return SideField(name, csr_from_lengths(lengths), pairs["v"].to_numpy(np.int32),
                     np.asarray(uniques, dtype=str).astype(np.str_))
