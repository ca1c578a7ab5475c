"""Readers for behaviour logs, side-information tables and edge lists.

Formats: ``csv``, ``tsv``, ``parquet`` (with a column mapping), ``recbole`` (atomic ``.inter``/``.item`` with
``name:type`` headers), ``sasrec`` (S3-Rec ``user item item ...`` lines, or SASRec ``user item`` pairs),
``movielens`` (``ratings.dat``/``movies.dat``, ``::``-separated), ``behaviour-log``
(``user|weight|item:slot:weight;item:slot:weight;...``) and ``sessions`` (one session of item ids per line).
Text is decoded as UTF-8, falling back to latin-1 with a warning.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from graphrec.errors import ConfigError, DataError, did_you_mean
from graphrec.graph import ItemGraph
from graphrec.interactions import NEGATIVE_EVENTS, Interactions
from graphrec.sequences import Sequences, csr_from_lengths
from graphrec.sideinfo import SideInfo
from graphrec.vocab import ItemVocab

__all__ = ["FORMATS", "ColumnMap", "read_text", "read_interactions", "read_data", "read_side_info",
           "read_item2attributes", "read_movielens_genres", "read_edgelist", "read_sessions", "infer_format"]

log = logging.getLogger(__name__)

FORMATS = ("csv", "tsv", "parquet", "recbole", "sasrec", "movielens", "behaviour-log", "sessions")


@dataclass(frozen=True)
class ColumnMap:
    """Names of the source columns holding each standard field (None: absent or auto-detected)."""

    user: str = "user"
    item: str = "item"
    timestamp: str | None = None
    weight: str | None = None
    event: str | None = None
    session: str | None = None

    _AUTO = {
        "user": ("user", "user_id", "userid", "uid", "visitorid", "session_id", "sessionid"),
        "item": ("item", "item_id", "itemid", "iid", "movie_id", "movieid", "product_id"),
        "timestamp": ("timestamp", "time", "ts", "datetime", "date", "eventdate", "timeframe"),
        "weight": ("weight", "rating", "score", "count", "play_count"),
        "event": ("event", "event_type", "action", "behavior", "behaviour"),
        "session": ("session", "session_id", "sessionid"),
    }

    def resolve(self, columns: list[str], source: str) -> dict[str, str]:
        """Map standard names to source columns; explicit names must exist, others are auto-detected."""
        lower = {c.lower(): c for c in columns}
        out: dict[str, str] = {}
        for field in ("user", "item", "timestamp", "weight", "event", "session"):
            given = getattr(self, field)
            default = ColumnMap.__dataclass_fields__[field].default
            if given is not None and given != default:
                if given not in columns:
                    raise DataError(f"{source}: no column {given!r} for {field}{did_you_mean(given, columns)} "
                                    f"(columns: {columns})")
                out[field] = given
                continue
            for cand in ((given,) if given else ()) + self._AUTO[field]:
                if cand and cand.lower() in lower and lower[cand.lower()] not in out.values():
                    if field == "session" and out.get("user") == lower[cand.lower()]:
                        continue
                    out[field] = lower[cand.lower()]
                    break
        return out


def read_text(path: str | Path) -> str:
    """Read a text file as UTF-8, falling back to latin-1 with a warning; clear errors for bad paths."""
    data = _read_bytes(path)
    nul = data.find(b"\x00")
    if nul >= 0:  # UTF-8 and latin-1 text never holds NUL bytes; UTF-16/32 and binary files do
        raise DataError(f"{path} is not UTF-8 or latin-1 text (NUL byte at offset {nul}: UTF-16 or a binary file?); "
                        "save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        warnings.warn(f"{path} is not valid UTF-8 (byte {exc.start}); decoded as latin-1", stacklevel=2)
        return data.decode("latin-1")


def _read_bytes(path: str | Path) -> bytes:
    p = Path(path)
    if not p.exists():
        raise DataError(f"no such file: {p}")
    if p.is_dir():
        raise DataError(f"{p} is a directory, expected a file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {p}: {exc.strerror or exc}") from exc
    if not data.strip():
        raise DataError(f"{p} is empty")
    return data


def infer_format(path: str | Path) -> str:
    """Guess the format from the file name."""
    name = Path(path).name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".inter",)):
        return "recbole"
    if name.endswith(".dat"):
        return "movielens"
    if name.endswith((".tsv", ".tab")):
        return "tsv"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".log", ".blog")):
        return "behaviour-log"
    if name.endswith(".txt"):
        return "sasrec"
    raise DataError(f"cannot infer the format of {path}; pass --format one of {', '.join(FORMATS)}")


def read_data(path: str | Path, format: str | None = None, columns: ColumnMap | None = None,
              sep: str | None = None, negative_events: tuple[str, ...] = NEGATIVE_EVENTS,
              side_info_path: str | Path | None = None,
              null_ids: Literal["error", "drop"] = "error") -> tuple[Interactions, SideInfo | None]:
    """Read a behaviour log in any supported format, with its side information when the format carries it.

    Args:
        path: The interaction file.
        format: One of :data:`FORMATS`; inferred from the file name when omitted.
        columns: Column mapping for csv/tsv/parquet (auto-detects common names such as ``user_id``, ``rating``).
        sep: Field separator for csv/tsv (default ``,`` and tab; csv also sniffs ``;``).
        negative_events: Event names counted as negative feedback.
        side_info_path: Optional side-information file (csv/parquet table, S3-Rec ``item2attributes.json``,
            RecBole ``.item``, MovieLens ``movies.dat``).
        null_ids: ``error`` (default) rejects rows with a null user or item id, ``drop`` leaves them out
            (``Interactions.null_id_rows`` counts them).

    Raises:
        DataError: unreadable or empty file, missing columns, bad values (see :class:`Interactions`).
    """
    fmt = format or infer_format(path)
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}{did_you_mean(fmt, FORMATS)}; expected one of {', '.join(FORMATS)}")
    src = str(path)
    side: SideInfo | None = None
    if fmt in ("csv", "tsv", "parquet"):
        frame = _read_table(path, fmt, sep)
        mapping = (columns or ColumnMap()).resolve([str(c) for c in frame.columns], src)
        if "user" not in mapping or "item" not in mapping:
            missing = [f for f in ("user", "item") if f not in mapping]
            raise DataError(f"{src}: missing column(s) {missing} (columns: {list(frame.columns)}); "
                            "name them with --user-col/--item-col")
        std = frame[[mapping[f] for f in mapping]].rename(columns={v: k for k, v in mapping.items()})
        inter = Interactions.from_frame(std, negative_events, src, null_ids)
    elif fmt == "recbole":
        frame = _read_recbole(path)
        rename = {"user_id": "user", "item_id": "item", "session_id": "session", "rating": "weight"}
        frame = frame.rename(columns={c: rename.get(c, c) for c in frame.columns})
        if "user" not in frame.columns and "session" in frame.columns:  # session datasets have no user ids
            frame["user"] = frame["session"]
        keep = [c for c in frame.columns if c in ("user", "item", "timestamp", "weight", "event", "session")]
        inter = Interactions.from_frame(frame[keep], negative_events, src, null_ids)
        item_file = Path(path).with_suffix(".item")
        if side_info_path is None and item_file.exists():
            side_info_path = item_file
    elif fmt == "sasrec":
        inter = Interactions.from_frame(_read_sasrec(path), negative_events, src, null_ids)
        inter = _without_time(inter)
    elif fmt == "sessions":
        frame = _read_sessions_frame(path)
        inter = _without_time(Interactions.from_frame(frame, negative_events, src, null_ids))
    elif fmt == "movielens":
        frame = _read_movielens_ratings(path)
        inter = Interactions.from_frame(frame, negative_events, src, null_ids)
        movies = Path(path).with_name("movies.dat")
        if side_info_path is None and movies.exists():
            side_info_path = movies
    else:  # behaviour-log
        frame = _read_behaviour_log(path)
        inter = _without_time(Interactions.from_frame(frame.drop(columns="slot"), negative_events, src, null_ids))
        side = SideInfo.from_frame(frame[["item", "slot"]].drop_duplicates(), inter.items, fields=["slot"])
    if side_info_path is not None:
        side = read_side_info(side_info_path, inter.items)
    return inter, side


def read_interactions(path: str | Path, format: str | None = None, **kwargs: Any) -> Interactions:
    """Read a behaviour log (see :func:`read_data`) and return just the :class:`Interactions`."""
    return read_data(path, format, **kwargs)[0]


def _without_time(inter: Interactions) -> Interactions:
    from dataclasses import replace

    return replace(inter, has_time=False)


def _read_table(path: str | Path, fmt: str, sep: str | None) -> pd.DataFrame:
    if fmt == "parquet":
        _read_bytes(path)
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise DataError(f"cannot read parquet file {path}: {exc}") from exc
    text = read_text(path)
    if sep is None:
        sep = "\t" if fmt == "tsv" else _sniff_sep(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, engine="c", dtype=str, keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot parse {path} as {fmt}: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(frame.columns) < 2:
        raise DataError(f"{path}: found a single column {list(frame.columns)}; wrong separator? (got {sep!r})")
    return frame


def _sniff_sep(text: str) -> str:
    head = text.split("\n", 1)[0]
    counts = {s: head.count(s) for s in (",", "\t", ";", "|")}
    return max(counts, key=lambda s: counts[s]) if max(counts.values()) > 0 else ","


def _read_recbole(path: str | Path) -> pd.DataFrame:
    text = read_text(path)
    frame = pd.read_csv(io.StringIO(text), sep="\t", dtype=str)
    names = []
    for col in frame.columns:
        if ":" not in col:
            raise DataError(f"{path}: RecBole header fields must be name:type (got {col!r})")
        names.append(col.split(":", 1)[0])
    frame.columns = names
    return frame


def _tokens_per_line(text: str) -> tuple[list[str], np.ndarray]:
    """Whitespace tokens of ``text`` and the token count of every non-empty line (vectorised)."""
    tokens = text.split()
    b = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    nl = b == 10
    ws = nl | (b == 32) | (b == 9) | (b == 13) | (b == 11) | (b == 12)
    start = ~ws
    start[1:] &= ws[:-1]
    line_of = np.cumsum(nl)[start]
    counts = np.bincount(line_of)
    counts = counts[counts > 0]
    if counts.sum() != len(tokens):  # exotic unicode whitespace: fall back to a plain loop
        counts = np.array([len(ln.split()) for ln in text.splitlines() if ln.strip()])
    return tokens, counts


def _read_sasrec(path: str | Path) -> pd.DataFrame:
    """``user item item ...`` lines (S3-Rec) or ``user item`` pairs, one event per line (SASRec)."""
    tokens, lengths = _tokens_per_line(read_text(path))
    if (lengths < 2).any():
        r = int(np.argmax(lengths < 2))
        raise DataError(f"{path}: non-empty line {r + 1} has no item (expected 'user item [item ...]')")
    arr = np.asarray(tokens, dtype=object)
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    is_user = np.zeros(len(arr), dtype=bool)
    is_user[first] = True
    users = np.repeat(arr[first], lengths - 1)
    return pd.DataFrame({"user": _maybe_int(users), "item": _maybe_int(arr[~is_user])})


def _read_sessions_frame(path: str | Path) -> pd.DataFrame:
    tokens, lengths = _tokens_per_line(read_text(path))
    users = np.repeat(np.arange(1, len(lengths) + 1), lengths)
    return pd.DataFrame({"user": users, "item": _maybe_int(np.asarray(tokens, dtype=object))})


def read_sessions(path: str | Path, vocab: ItemVocab | None = None) -> tuple[Sequences, ItemVocab]:
    """Read one session per line (item ids separated by spaces) into :class:`Sequences`.

    With ``vocab`` given, ids are encoded with it (unknown ids raise); otherwise integer ids ``1..N`` are used
    as they are when they are contiguous, else a new vocabulary is built in order of appearance.
    """
    tokens_list, lengths = _tokens_per_line(read_text(path))
    tokens = _maybe_int(np.asarray(tokens_list, dtype=object))
    if vocab is None:
        # ids 1..N used as they are only when every one of them occurs (never size an array by the largest id)
        if tokens.dtype.kind == "i" and tokens.min() >= 1 and len(np.unique(tokens)) == int(tokens.max()):
            vocab = ItemVocab(np.arange(1, int(tokens.max()) + 1))
        else:
            vocab, _ = ItemVocab.from_values(tokens)
    items = vocab.encode(tokens)
    return Sequences(csr_from_lengths(lengths.astype(np.int64)), items, vocab.size,
                     np.arange(1, len(lengths) + 1, dtype=np.int32)), vocab


def _read_movielens_ratings(path: str | Path) -> pd.DataFrame:
    text = read_text(path)
    rows = [ln.split("::") for ln in text.splitlines() if ln.strip()]
    if any(len(r) != 4 for r in rows):
        r = next(i for i, x in enumerate(rows) if len(x) != 4)
        raise DataError(f"{path}: line {r + 1} is not UserID::MovieID::Rating::Timestamp")
    arr = np.asarray(rows)
    return pd.DataFrame({"user": _maybe_int(arr[:, 0]), "item": _maybe_int(arr[:, 1]),
                         "weight": arr[:, 2], "timestamp": arr[:, 3]})


def _read_behaviour_log(path: str | Path) -> pd.DataFrame:
    """``user|weight|item:slot:weight;item:slot:weight;...`` (one line per user, chronological items)."""
    text = read_text(path)
    users, items, slots, weights = [], [], [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("|")
        if len(parts) != 3:
            raise DataError(f"{path}: line {n} must be user|weight|item:slot:weight;... (got {len(parts)} fields)")
        user, _, body = parts
        for tok in body.strip().strip(";").split(";"):
            fields = tok.split(":")
            if len(fields) != 3:
                raise DataError(f"{path}: line {n}: item entry {tok!r} must be item:slot:weight")
            users.append(user.strip())
            items.append(fields[0])
            slots.append(fields[1])
            weights.append(fields[2])
    return pd.DataFrame({"user": _maybe_int(np.asarray(users)), "item": _maybe_int(np.asarray(items)),
                         "slot": slots, "weight": weights})


def _maybe_int(arr: np.ndarray) -> np.ndarray:
    """Integer ids stay integers (int64, or objects beyond it); anything else stays strings."""
    try:
        return arr.astype(np.int64)
    except (ValueError, OverflowError):
        try:
            vals = [int(x) for x in arr]
            return np.asarray(vals, dtype=np.uint64) if min(vals) >= 0 else np.asarray(arr, dtype=object)
        except (ValueError, OverflowError):
            return np.asarray(arr, dtype=object)


# ---------------------------------------------------------------------- side information
def read_side_info(path: str | Path, vocab: ItemVocab, item_col: str | None = None,
                   fields: list[str] | None = None, sep: str | None = None) -> SideInfo:
    """Read item side information for ``vocab`` from a table, S3-Rec JSON, RecBole ``.item`` or ``movies.dat``.

    Multi-valued cells (``"a|b"``, RecBole ``token_seq``) are split into several values.
    """
    name = Path(path).name.lower()
    if name.endswith(".json"):
        return read_item2attributes(path, vocab)
    if name == "movies.dat" or name.endswith("movies.dat"):
        return read_movielens_genres(path, vocab)
    if name.endswith(".item"):
        frame = _read_recbole(path)
        frame = frame.rename(columns={"item_id": "item"})
        text_cols = [c for c in frame.columns if c not in ("item", "movie_title", "title")]
        return SideInfo.from_frame(frame, vocab, "item", fields or text_cols, sep=" ")
    fmt = "parquet" if name.endswith((".parquet", ".pq")) else ("tsv" if name.endswith(".tsv") else "csv")
    frame = _read_table(path, fmt, None if fmt != "csv" else sep)
    col = item_col or next((c for c in frame.columns if c.lower() in ColumnMap._AUTO["item"]), None)
    if col is None:
        raise DataError(f"{path}: no item column (columns: {list(frame.columns)}); pass item_col")
    frame[col] = _maybe_int(frame[col].to_numpy())
    return SideInfo.from_frame(frame, vocab, col, fields, sep="|")


def read_item2attributes(path: str | Path, vocab: ItemVocab, name: str = "attribute") -> SideInfo:
    """S3-Rec ``*_item2attributes.json``: ``{"item id": [attribute ids]}``."""
    try:
        raw = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a JSON object item -> [attributes]")
    keys = _maybe_int(np.asarray(list(raw.keys())))
    mapping = {k: (v if isinstance(v, list) else [v]) for k, v in zip(keys.tolist(), raw.values(), strict=True)}
    return SideInfo.from_lists(name, mapping, vocab)


def read_movielens_genres(path: str | Path, vocab: ItemVocab) -> SideInfo:
    """MovieLens ``movies.dat`` (``MovieID::Title::Genres``, latin-1): genres as a multi-valued field."""
    text = read_text(path)
    rows = [ln.split("::") for ln in text.splitlines() if ln.strip()]
    frame = pd.DataFrame({"item": _maybe_int(np.asarray([r[0] for r in rows])),
                          "genre": [r[-1] for r in rows]})
    return SideInfo.from_frame(frame, vocab, "item", ["genre"], sep="|")


# ---------------------------------------------------------------------- edge lists
def read_edgelist(path: str | Path, directed: bool = False, sep: str | None = None,
                  default_weight: float = 1.0) -> ItemGraph:
    """Read ``src dst [weight]`` lines (whitespace or comma separated, ``#`` comments) into an :class:`ItemGraph`.

    Undirected graphs store both directions; repeated edges add their weights.

    Raises:
        DataError: a line without two fields, a non-numeric, negative, NaN or infinite weight, an empty file.
    """
    text = read_text(path)
    src, dst, w = [], [], []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split(sep)] if sep else line.replace(",", " ").split()
        if len(parts) not in (2, 3):
            raise DataError(f"{path}: line {n} must be 'src dst [weight]' (got {len(parts)} fields)")
        src.append(parts[0])
        dst.append(parts[1])
        if len(parts) == 3:
            try:
                val = float(parts[2])
            except ValueError:
                raise DataError(f"{path}: line {n}: weight {parts[2]!r} is not a number") from None
            if not np.isfinite(val) or val < 0:
                raise DataError(f"{path}: line {n}: weight must be finite and >= 0 (got {parts[2]})")
            w.append(val)
        else:
            w.append(default_weight)
    if not src:
        raise DataError(f"{path} has no edges")
    ids = _maybe_int(np.asarray(src + dst))
    vocab, codes = ItemVocab.from_values(ids)
    s, d = codes[: len(src)], codes[len(src):]
    weights = np.asarray(w, dtype=np.float64)
    if not directed:
        s, d, weights = np.concatenate([s, d]), np.concatenate([d, s]), np.concatenate([weights, weights])
        loops = s == d
        weights = np.where(loops, weights / 2, weights)  # a self-loop listed once stays once
    import scipy.sparse as sp

    mat = sp.coo_matrix((weights, (s, d)), shape=(vocab.size + 1, vocab.size + 1)).tocsr()
    return ItemGraph.from_scipy(mat, vocab, directed=directed, meta={"source": str(path)})


def check_format_name(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}{did_you_mean(fmt, FORMATS)}; expected one of {', '.join(FORMATS)}")
    return fmt
