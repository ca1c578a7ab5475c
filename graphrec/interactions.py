"""Interactions: a validated, encoded behaviour log, and the preprocessing steps applied to it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from graphrec.errors import ConfigError, DataError
from graphrec.sequences import Sequences, csr_from_lengths
from graphrec.vocab import ItemVocab, UserVocab

__all__ = ["Interactions", "NEGATIVE_EVENTS", "STANDARD_COLUMNS"]

log = logging.getLogger(__name__)

#: Event names treated as negative feedback unless told otherwise.
NEGATIVE_EVENTS = ("skip", "dislike", "negative", "unlike", "hide", "report")
#: Column names of a standard frame (``user`` and ``item`` are required).
STANDARD_COLUMNS = ("user", "item", "timestamp", "weight", "event", "session")


@dataclass(frozen=True)
class Interactions:
    """An encoded behaviour log sorted stably by (user, timestamp, original row order).

    Attributes:
        frame: Columns ``user`` (int32, 1..U), ``item`` (int32, 1..N), ``timestamp`` (float64; the row position
            when the source has no time), optional ``weight`` (float32), ``event`` (int8 code), ``session`` (int64).
        users: User vocabulary. items: Item vocabulary.
        event_names: Names of event codes; ``negative_events`` are the codes of negative feedback.
        has_time: Whether ``timestamp`` came from the data (False: it is the order within the file).
        null_id_rows: Rows dropped because their user or item id was null (``null_ids="drop"``; 0 otherwise).
    """

    frame: pd.DataFrame
    users: UserVocab
    items: ItemVocab
    event_names: tuple[str, ...] = ()
    negative_events: tuple[int, ...] = ()
    has_time: bool = True
    null_id_rows: int = 0

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(cls, df: pd.DataFrame, negative_events: tuple[str, ...] = NEGATIVE_EVENTS,
                   source: str = "data", null_ids: Literal["error", "drop"] = "error") -> Interactions:
        """Validate a frame with standard column names and encode it.

        Args:
            df: Columns ``user``, ``item`` and optionally ``timestamp``, ``weight``, ``event``, ``session``.
            negative_events: Event names that are negative feedback.
            source: Name of the data in error messages.
            null_ids: ``error`` (default) rejects rows with a null user or item id; ``drop`` leaves them out,
                counted in ``null_id_rows`` (what ``graphrec data inspect`` reports).

        Raises:
            DataError: empty frame, missing ``user``/``item`` column, null ids (unless dropped), non-numeric or NaN
                timestamps, negative or non-finite weights.
        """
        if null_ids not in ("error", "drop"):
            raise ConfigError(f"null_ids must be 'error' or 'drop' (got {null_ids!r})")
        if len(df) == 0:
            raise DataError(f"{source}: no interactions (the file or frame is empty)")
        for col in ("user", "item"):
            if col not in df.columns:
                raise DataError(f"{source}: missing column {col!r} (columns: {list(df.columns)}); "
                                "map your columns with --user-col/--item-col or columns={...}")
        df = df.reset_index(drop=True)
        null_rows = (df["user"].isna() | df["item"].isna()).to_numpy()
        for col in ("user", "item"):
            nulls = df[col].isna().to_numpy()
            if nulls.any() and null_ids == "error":
                raise DataError(f"{source}: column {col!r} has {int(nulls.sum())} null id(s) "
                                f"(first at row {int(np.argmax(nulls))}); `graphrec data inspect` reports them")
        if null_rows.any():
            log.warning("%s: dropped %d row(s) with a null user or item id", source, int(null_rows.sum()))
            df = df[~null_rows].reset_index(drop=True)
            if len(df) == 0:
                raise DataError(f"{source}: no interactions (every row has a null user or item id)")
        has_time = "timestamp" in df.columns
        ts = _parse_time(df["timestamp"], source) if has_time else np.arange(len(df), dtype=np.float64)
        users, u = UserVocab.from_values(df["user"].to_numpy())
        out = pd.DataFrame({"user": u, "timestamp": ts, "_row": np.arange(len(df))})
        items, i = ItemVocab.from_values(df["item"].to_numpy())
        out["item"] = i
        if "weight" in df.columns:
            w = pd.to_numeric(df["weight"], errors="coerce").to_numpy(np.float64)
            bad = ~np.isfinite(w)
            if bad.any():
                r = int(np.argmax(bad))
                value = df["weight"].iloc[r]
                value = value.item() if isinstance(value, np.generic) else value  # 'inf', not 'np.float64(inf)'
                raise DataError(f"{source}: column 'weight' has {int(bad.sum())} non-numeric, NaN or infinite "
                                f"value(s) (first at row {r}: {value!r})")
            if (w < 0).any():
                r = int(np.argmax(w < 0))
                raise DataError(f"{source}: column 'weight' has negative value {w[r]} at row {r}")
            out["weight"] = w.astype(np.float32)
        event_names: tuple[str, ...] = ()
        neg: tuple[int, ...] = ()
        if "event" in df.columns:
            ev = df["event"].astype("string").str.strip().str.lower().fillna("unknown")
            codes, names = pd.factorize(ev, sort=True)
            if len(names) > 127:
                raise DataError(f"{source}: column 'event' has {len(names)} distinct values; at most 127 supported")
            out["event"] = codes.astype(np.int8)
            event_names = tuple(str(x) for x in names)
            neg = tuple(k for k, name in enumerate(event_names) if name in negative_events)
        if "session" in df.columns:
            out["session"] = pd.factorize(df["session"])[0].astype(np.int64)
        out = out.sort_values(["user", "timestamp", "_row"], kind="stable").drop(columns="_row")
        out = out.reset_index(drop=True)
        return cls(out, users, items, event_names, neg, has_time, int(null_rows.sum()))

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return len(self.frame)

    @property
    def num_users(self) -> int:
        return self.users.size

    @property
    def num_items(self) -> int:
        return self.items.size

    def to_sequences(self, by: Literal["user", "session"] = "user") -> Sequences:
        """One chronological sequence per user (or per session, in order of first event)."""
        f = self.frame
        if by == "session":
            if "session" not in f.columns:
                raise DataError("no session column: sessionize() first or read the data with a session column")
            f = f.sort_values(["session", "timestamp"], kind="stable")
            key = f["session"].to_numpy()
            owners = f.groupby("session", sort=True)["user"].first().to_numpy(np.int32)
        elif by == "user":
            key = f["user"].to_numpy()
            owners = np.unique(key).astype(np.int32)
        else:
            raise ConfigError(f"by must be 'user' or 'session' (got {by!r})")
        _, lengths = np.unique(key, return_counts=True)
        return Sequences(csr_from_lengths(lengths), f["item"].to_numpy(np.int32), self.num_items, owners,
                         f["timestamp"].to_numpy(np.float64),
                         f["weight"].to_numpy(np.float32) if "weight" in f.columns else None,
                         f["event"].to_numpy(np.int8) if "event" in f.columns else None,
                         self.event_names, self.negative_events)

    # ------------------------------------------------------------------ preprocessing
    def deduplicate(self, policy: Literal["keep", "first", "last", "sum"] = "keep") -> Interactions:
        """Handle repeated (user, item) pairs: keep all, keep the first/last, or merge summing weights."""
        if policy == "keep":
            return self
        if policy not in ("first", "last", "sum"):
            raise ConfigError(f"duplicate policy must be 'keep', 'first', 'last' or 'sum' (got {policy!r})")
        f = self.frame
        if policy == "sum":
            agg = {c: "first" for c in f.columns if c not in ("user", "item")}
            if "weight" in f.columns:
                agg["weight"] = "sum"
            g = f.groupby(["user", "item"], sort=False, as_index=False).agg(agg)
            g = g.sort_values(["user", "timestamp"], kind="stable").reset_index(drop=True)
            return replace(self, frame=g[f.columns])
        return replace(self, frame=f.drop_duplicates(["user", "item"], keep=policy).reset_index(drop=True))

    def threshold(self, min_weight: float) -> Interactions:
        """Implicit feedback from ratings: keep rows with ``weight >= min_weight`` (e.g. rating >= 4)."""
        if "weight" not in self.frame.columns:
            raise DataError("rating threshold needs a weight/rating column")
        return self._subset(self.frame["weight"].to_numpy() >= min_weight)

    def kcore(self, min_user: int = 5, min_item: int = 5, max_iter: int = 100) -> Interactions:
        """Iterative k-core: drop users with < ``min_user`` and items with < ``min_item`` interactions until stable."""
        if min_user < 1 or min_item < 1:
            raise ConfigError(f"k-core thresholds must be >= 1 (got user={min_user}, item={min_item})")
        u = self.frame["user"].to_numpy()
        i = self.frame["item"].to_numpy()
        keep = np.ones(len(u), dtype=bool)
        for _ in range(max_iter):
            uc = np.bincount(u[keep], minlength=self.num_users + 1)
            ic = np.bincount(i[keep], minlength=self.num_items + 1)
            new = keep & (uc[u] >= min_user) & (ic[i] >= min_item)
            if new.sum() == keep.sum():
                break
            keep = new
        if not keep.any():
            raise DataError(f"k-core filtering (user>={min_user}, item>={min_item}) removed every interaction")
        return self._subset(keep)

    def sessionize(self, gap: float) -> Interactions:
        """Start a new session when a user is inactive for more than ``gap`` (timestamp units, e.g. seconds)."""
        if gap <= 0:
            raise ConfigError(f"session gap must be > 0 (got {gap})")
        f = self.frame
        u = f["user"].to_numpy()
        t = f["timestamp"].to_numpy()
        new = np.ones(len(f), dtype=bool)
        new[1:] = (u[1:] != u[:-1]) | (np.diff(t) > gap)
        frame = f.copy()
        frame["session"] = np.cumsum(new) - 1
        return replace(self, frame=frame)

    def _subset(self, mask: NDArray[np.bool_]) -> Interactions:
        """Keep rows and re-encode users and items contiguously."""
        f = self.frame[mask]
        ucodes, uniq_u = pd.factorize(f["user"].to_numpy(), sort=True)
        icodes, uniq_i = pd.factorize(f["item"].to_numpy(), sort=True)
        frame = f.copy()
        frame["user"] = (ucodes + 1).astype(np.int32)
        frame["item"] = (icodes + 1).astype(np.int32)
        return replace(self, frame=frame.reset_index(drop=True), users=UserVocab(self.users.decode(uniq_u)),
                       items=ItemVocab(self.items.decode(uniq_i)))

    def report(self) -> dict[str, object]:
        """Numbers for `graphrec data inspect`."""
        f = self.frame
        lengths = f.groupby("user").size().to_numpy()
        dup = int(f.duplicated(["user", "item"]).sum())
        ties = int(f.duplicated(["user", "timestamp"]).sum()) if self.has_time else 0
        out: dict[str, object] = {
            "rows": len(f), "users": self.num_users, "items": self.num_items,
            "density": len(f) / max(self.num_users * self.num_items, 1),
            "duplicate_user_item_rows": dup, "timestamp_ties": ties, "has_time": self.has_time,
            "seq_len_min": int(lengths.min()), "seq_len_p50": float(np.percentile(lengths, 50)),
            "seq_len_mean": float(lengths.mean()), "seq_len_p90": float(np.percentile(lengths, 90)),
            "seq_len_max": int(lengths.max()), "users_with_1_interaction": int((lengths == 1).sum()),
            "users_below_3": int((lengths < 3).sum()), "rows_with_null_ids": self.null_id_rows,
        }
        if self.has_time:
            out["time_min"], out["time_max"] = float(f["timestamp"].min()), float(f["timestamp"].max())
        if "event" in f.columns:
            counts = np.bincount(f["event"].to_numpy(), minlength=len(self.event_names))
            out["events"] = {n: int(c) for n, c in zip(self.event_names, counts, strict=True)}
        if "session" in f.columns:
            out["sessions"] = int(f["session"].nunique())
        return out


def _parse_time(col: pd.Series, source: str) -> NDArray[np.float64]:
    """Numbers (epoch seconds or any numeric order) or date strings -> float64 seconds."""
    if col.isna().any():
        r = int(np.argmax(col.isna().to_numpy()))
        raise DataError(f"{source}: column 'timestamp' has {int(col.isna().sum())} missing value(s) (first at row {r})")
    if pd.api.types.is_datetime64_any_dtype(col):  # parquet datetimes: seconds, like parsed date strings
        utc = col.dt.tz_convert("UTC") if col.dt.tz is not None else col.dt.tz_localize("UTC")
        return (utc - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy(np.float64)
    num = pd.to_numeric(col, errors="coerce")
    if num.notna().all():
        arr = num.to_numpy(np.float64)
        if not np.all(np.isfinite(arr)):
            raise DataError(f"{source}: column 'timestamp' has infinite values")
        return arr
    try:
        dt = pd.to_datetime(col, errors="raise", utc=True, format="mixed")
    except (ValueError, TypeError) as exc:
        bad = col[num.isna()].iloc[0]
        raise DataError(f"{source}: column 'timestamp' is neither numeric nor a date (e.g. {bad!r})") from exc
    return (dt - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy(np.float64)
