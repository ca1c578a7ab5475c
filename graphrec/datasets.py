"""Public datasets and the built-in synthetic one, each with its standard evaluation protocol.

Files are read from ``$GRAPHREC_DATA`` (default: ``../shared/datasets`` next to the repository root) and
checked against the md5 sums below. Protocols (so numbers compare with papers):

=====================  ========================================================================================
``ml-1m``              SASRec's processed MovieLens-1M (6,040 users, 3,416 items): leave-one-out per user.
``ml-100k``            RecBole atomic files, all ratings as implicit feedback, by timestamp: leave-one-out.
``beauty``             Amazon Beauty, S3-Rec preprocessing with item attributes: leave-one-out.
``lastfm``             LastFM (HetRec 2011), S3-Rec preprocessing with tag attributes: leave-one-out.
``diginetica``         SR-GNN/GCE-GNN preprocessed sessions (43,097 items): fixed train/test session split;
                       every prefix of a test session predicts its next item; history items NOT excluded;
                       P@20 (= HR@20) and MRR@20.
``diginetica-sample``  The 12k-row raw sample shipped with SR-GNN, preprocessed the SR-GNN way (sessions of
                       length 1 and items seen < 5 times dropped, the last 7 days are the test sessions).
``synthetic``          The built-in generator (:mod:`graphrec.synthetic`): leave-one-out, with side info,
                       negative feedback and cold-start items.
=====================  ========================================================================================
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graphrec.artifacts import file_md5
from graphrec.errors import ConfigError, DatasetError, did_you_mean
from graphrec.interactions import Interactions
from graphrec.readers import ColumnMap, infer_format, read_data, read_item2attributes, read_sessions
from graphrec.sequences import Sequences
from graphrec.sideinfo import SideInfo
from graphrec.split import Split, leave_one_out, session_split, time_cut
from graphrec.vocab import ItemVocab, UserVocab

__all__ = ["Dataset", "load", "from_file", "data_dir", "DATASETS", "synthetic"]

log = logging.getLogger(__name__)

#: name -> (files relative to the data dir with their md5, protocol)
DATASETS: dict[str, dict[str, Any]] = {
    "ml-1m": {"files": {"ml-1m/sasrec_ml-1m.txt": "f7699aece54d883579ea84535bacdda0"},
              "protocol": "leave-one-out"},
    "ml-100k": {"files": {"ml-100k/ml-100k.inter": "a8a8c3f165aedc53f63b5dc0a0463b14",
                          "ml-100k/ml-100k.item": "fb748e97e64d9a35421d06d7083d0959"},
                "protocol": "leave-one-out"},
    "beauty": {"files": {"amazon-beauty/Beauty.txt": "cb03635343187f36526ed4ba48102b53",
                         "amazon-beauty/Beauty_item2attributes.json": "d4955784543b9e8e68385db31cb30144"},
               "protocol": "leave-one-out"},
    "lastfm": {"files": {"lastfm/LastFM.txt": "e4fa30bf2ba80aba718e55f108561814",
                         "lastfm/LastFM_item2attributes.json": "81d69e7872d6d11fa455c04bf7758659"},
               "protocol": "leave-one-out"},
    "diginetica": {"files": {"diginetica/train_sessions.txt": "9d54263cfd554e1b7451fb89eddd7d5b",
                             "diginetica/test_sessions.txt": "b890cf5af4f30ad972f869c76401b642"},
                   "protocol": "session"},
    "diginetica-sample": {"files": {"diginetica/sample_train-item-views.csv": "3adea454fc9f416088b51cf67e2c6691"},
                          "protocol": "session"},
    "synthetic": {"files": {}, "protocol": "leave-one-out"},
}


def data_dir() -> Path:
    """``$GRAPHREC_DATA``, or ``../shared/datasets`` relative to the repository root."""
    env = os.environ.get("GRAPHREC_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


@dataclass
class Dataset:
    """A loaded dataset: sequences, vocabularies, side info, and its standard protocol.

    Attributes:
        name: Registry name (or the file name for user data).
        protocol: ``leave-one-out``, ``session`` or ``time-cut``.
        sequences: One chronological sequence per user (for fixed session splits: the train sessions).
        vocab: Item vocabulary; may include items without interactions (cold items with side info).
        users: User vocabulary (None for anonymous sessions).
        side_info: Item side information, if any.
        test_sessions: For fixed session splits, the test sessions.
        interactions: The encoded log, when the source had one.
        cold_items: External ids of items with side info but no interaction (synthetic data).
        files: Source files and their md5 sums.
    """

    name: str
    protocol: str
    sequences: Sequences
    vocab: ItemVocab
    users: UserVocab | None = None
    side_info: SideInfo | None = None
    test_sessions: Sequences | None = None
    interactions: Interactions | None = None
    cold_items: np.ndarray | None = None
    files: dict[str, str] = field(default_factory=dict)

    @property
    def data_hash(self) -> str:
        return ",".join(f"{Path(k).name}:{v}" for k, v in self.files.items()) or "generated"

    def split(self, protocol: str | None = None, **kwargs: Any) -> Split:
        """Split by the dataset's standard protocol (or ``protocol``: ``leave-one-out``, ``time-cut``)."""
        protocol = protocol or self.protocol
        if protocol == "session":
            if self.test_sessions is None:
                raise ConfigError(f"{self.name} has no fixed session split; use leave-one-out or time-cut")
            return session_split(self.sequences, self.test_sessions, self.vocab, self.name,
                                 side_info=self.side_info, **kwargs)
        if protocol == "leave-one-out":
            return leave_one_out(self.sequences, self.vocab, self.name, self.users, self.side_info, **kwargs)
        if protocol == "time-cut":
            ts = self.sequences.timestamps
            if ts is None or (self.interactions is not None and not self.interactions.has_time):
                raise ConfigError(f"{self.name} has no timestamps; a time-cut split needs them")
            valid_q = kwargs.pop("valid_quantile", 0.8)
            test_q = kwargs.pop("test_quantile", 0.9)
            return time_cut(self.sequences, self.vocab, float(np.quantile(ts, valid_q)),
                            float(np.quantile(ts, test_q)), self.name, self.users, self.side_info, **kwargs)
        hint = did_you_mean(protocol, ["leave-one-out", "time-cut", "session"])
        raise ConfigError(f"unknown protocol {protocol!r}{hint}; expected leave-one-out, time-cut or session")

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "protocol": self.protocol, "sequences": len(self.sequences),
                "events": self.sequences.num_events, "items": self.vocab.size,
                "side_info": None if self.side_info is None else self.side_info.field_names,
                "test_sessions": None if self.test_sessions is None else len(self.test_sessions)}


def load(name: str, root: str | Path | None = None, verify: bool = True, **kwargs: Any) -> Dataset:
    """Load a registered dataset by name (see the module docstring for the protocols).

    Args:
        name: One of :data:`DATASETS`.
        root: Directory holding the files (default :func:`data_dir`).
        verify: Check every file's md5 against the registry.
        **kwargs: For ``synthetic``: :class:`~graphrec.synthetic.SyntheticConfig` fields.

    Raises:
        DatasetError: unknown name, missing files (the message says where they were expected), wrong md5.
    """
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}{did_you_mean(name, DATASETS)}; "
                           f"known: {', '.join(DATASETS)} (or pass --data PATH --format FMT)")
    if name == "synthetic":
        return synthetic(**kwargs)
    if kwargs:
        raise ConfigError(f"dataset {name!r} takes no options (got {sorted(kwargs)})")
    base = Path(root) if root is not None else data_dir()
    files = {}
    for rel, md5 in DATASETS[name]["files"].items():
        path = base / rel
        if not path.exists():
            raise DatasetError(f"dataset {name!r}: file {rel} not found under {base} "
                               f"(set GRAPHREC_DATA to the directory that holds {rel.split('/')[0]}/)")
        if verify:
            got = file_md5(path)
            if got != md5:
                raise DatasetError(f"dataset {name!r}: md5 of {path} is {got}, expected {md5} "
                                   "(a different or corrupted copy)")
        files[str(path)] = md5
    paths = list(files)
    if name in ("beauty", "lastfm"):
        inter, _ = read_data(paths[0], "sasrec")
        side = read_item2attributes(paths[1], inter.items)
        ds = _from_interactions(name, inter, side)
    elif name == "ml-1m":
        inter, _ = read_data(paths[0], "sasrec")
        ds = _from_interactions(name, inter, None)
    elif name == "ml-100k":
        inter, ml_side = read_data(paths[0], "recbole")
        ds = _from_interactions(name, inter, ml_side)
    elif name == "diginetica":
        train, vocab = read_sessions(paths[0])
        test, _ = read_sessions(paths[1], vocab)
        ds = Dataset(name, "session", train, vocab, test_sessions=test)
    else:  # diginetica-sample
        ds = _diginetica_sample(paths[0])
    ds.files = files
    return ds


def _from_interactions(name: str, inter: Interactions, side: SideInfo | None,
                       protocol: str = "leave-one-out") -> Dataset:
    return Dataset(name, protocol, inter.to_sequences(), inter.items, inter.users, side, interactions=inter)


def from_file(path: str | Path, format: str | None = None, protocol: str = "leave-one-out",
              columns: ColumnMap | None = None, side_info_path: str | Path | None = None,
              sep: str | None = None, kcore: int | None = None, min_rating: float | None = None,
              dedup: str = "keep", session_gap: float | None = None) -> Dataset:
    """A :class:`Dataset` from the user's own file (what ``--data PATH --format FMT`` does).

    Args:
        path: The interaction file. format: See :data:`graphrec.readers.FORMATS`.
        protocol: ``leave-one-out`` (default) or ``time-cut``; ``session`` needs a session column,
            ``session_gap``, or the ``sessions`` format (each line a session, in time order): the sessions are then
            split by time (the last 10% of sessions by start time, or by line, are test).
        columns: Column mapping. side_info_path: Side-information file. sep: Field separator.
        kcore: Iterative k-core threshold for users and items. min_rating: Keep rows with weight >= it.
        dedup: Duplicate policy (``keep``, ``first``, ``last``, ``sum``). session_gap: Sessionize by inactivity.
    """
    inter, side = read_data(path, format, columns=columns, sep=sep, side_info_path=side_info_path)
    read_items = inter.items
    if min_rating is not None:
        inter = inter.threshold(min_rating)
    inter = inter.deduplicate(dedup)  # type: ignore[arg-type]
    if kcore:
        inter = inter.kcore(kcore, kcore)
    if side is not None and inter.items != read_items:  # filtering re-encoded the items: side info follows
        side = _remap_side(side, read_items, inter.items)
    if session_gap is not None:
        inter = inter.sessionize(session_gap)
    name = Path(path).stem
    if protocol == "session" and "session" not in inter.frame.columns and (format or infer_format(path)) == "sessions":
        inter = replace(inter, frame=inter.frame.assign(session=inter.frame["user"]))  # one session per line
    if protocol == "session":
        if "session" not in inter.frame.columns:
            raise ConfigError("protocol 'session' needs a session column or --session-gap")
        seqs = inter.to_sequences("session")
        times = seqs.timestamps if seqs.timestamps is not None else np.zeros(seqs.num_events)
        start = times[seqs.offsets[:-1]] if len(seqs) else np.zeros(0)
        order = np.argsort(start, kind="stable")
        cut = int(len(order) * 0.9)
        return Dataset(name, "session", seqs.take(order[:cut]), inter.items, inter.users, side,
                       test_sessions=seqs.take(order[cut:]), interactions=inter,
                       files={str(path): file_md5(path)})
    ds = _from_interactions(name, inter, side, protocol)
    ds.files = {str(path): file_md5(path)}
    return ds


def _remap_side(side: SideInfo, old: ItemVocab, new: ItemVocab) -> SideInfo:
    """Side info over ``old`` item indices, re-laid over the indices of ``new`` (a subset of ``old``)."""
    from graphrec.sequences import csr_from_lengths
    from graphrec.sideinfo import SideField

    rows = np.concatenate([[0], old.encode(new.ids)]).astype(np.int64)  # new index -> old index (0 stays 0)
    fields = []
    for f in side.fields:
        lengths = np.diff(f.offsets)[rows]
        offsets = csr_from_lengths(lengths)
        flat = np.repeat(f.offsets[:-1][rows] - offsets[:-1], lengths) + np.arange(int(offsets[-1]))
        fields.append(SideField(f.name, offsets, f.values[flat], f.names))
    return SideInfo(fields, new.size)


def synthetic(**kwargs: Any) -> Dataset:
    """The built-in synthetic dataset (see :mod:`graphrec.synthetic`); cold items are in the vocabulary."""
    from graphrec.synthetic import generate

    log_frame, items = generate(**kwargs)
    inter = Interactions.from_frame(log_frame, source="synthetic")
    cold_ids = items.loc[items["cold"], "item"].to_numpy()
    vocab = ItemVocab(np.concatenate([inter.items.ids, cold_ids]))
    side = SideInfo.from_frame(items[["item", "category", "brand"]], vocab, "item")
    seqs = inter.to_sequences()
    seqs = Sequences(seqs.offsets, seqs.items, vocab.size, seqs.owners, seqs.timestamps, seqs.weights,
                     seqs.events, seqs.event_names, seqs.negative_events)
    return Dataset("synthetic", "leave-one-out", seqs, vocab, inter.users, side, interactions=inter,
                   cold_items=cold_ids)


def _diginetica_sample(path: str) -> Dataset:
    """SR-GNN preprocessing of the raw sample: order by session and time, drop length-1 sessions and rare items,
    the last 7 days of sessions are the test split, test items unseen in train dropped. SR-GNN drops items seen
    fewer than 5 times; in this 12k-row sample almost every item is that rare, so the threshold here is 2."""
    min_item_count = 2
    frame = pd.read_csv(path, sep=";", dtype={"session_id": np.int64, "item_id": np.int64})
    frame["date"] = (pd.to_datetime(frame["eventdate"]) - pd.Timestamp("1970-01-01")).dt.total_seconds()
    frame = frame.sort_values(["session_id", "timeframe"], kind="stable")
    frame = frame[frame.groupby("session_id")["item_id"].transform("size") > 1]
    frame = frame[frame.groupby("item_id")["item_id"].transform("size") >= min_item_count]
    frame = frame[frame.groupby("session_id")["item_id"].transform("size") > 1]
    sess_date = frame.groupby("session_id")["date"].max()
    cut = sess_date.max() - 7 * 86400
    test_ids = set(sess_date.index[sess_date > cut])
    train = frame[~frame["session_id"].isin(test_ids)]
    test = frame[frame["session_id"].isin(test_ids)]
    vocab, _ = ItemVocab.from_values(train["item_id"].to_numpy())
    test = test[test["item_id"].isin(set(train["item_id"]))]
    test = test[test.groupby("session_id")["item_id"].transform("size") > 1]

    def to_seqs(f: pd.DataFrame) -> Sequences:
        sizes = f.groupby("session_id", sort=False).size().to_numpy()
        from graphrec.sequences import csr_from_lengths

        return Sequences(csr_from_lengths(sizes), vocab.encode(f["item_id"].to_numpy()), vocab.size,
                         np.arange(1, len(sizes) + 1, dtype=np.int32))

    return Dataset("diginetica-sample", "session", to_seqs(train), vocab, test_sessions=to_seqs(test))
