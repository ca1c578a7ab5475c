"""The dataset registry: locations, md5 checks, clear failures, standard protocols, and the user's own files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphrec import datasets
from graphrec.artifacts import file_md5
from graphrec.errors import ConfigError, DatasetError
from graphrec.readers import ColumnMap


def test_registry_names_and_protocols() -> None:
    assert set(datasets.DATASETS) == {"ml-1m", "ml-100k", "beauty", "lastfm", "diginetica", "diginetica-sample",
                                      "synthetic"}
    assert datasets.DATASETS["diginetica"]["protocol"] == "session"
    assert datasets.DATASETS["ml-1m"]["protocol"] == "leave-one-out"


def test_data_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GRAPHREC_DATA", str(tmp_path))
    assert datasets.data_dir() == tmp_path
    monkeypatch.delenv("GRAPHREC_DATA")
    assert datasets.data_dir().parts[-2:] == ("shared", "datasets")


def test_unknown_name_has_a_hint() -> None:
    with pytest.raises(DatasetError, match=r"unknown dataset 'lastfn' \(did you mean 'lastfm'\?\)"):
        datasets.load("lastfn")
    with pytest.raises(DatasetError, match="known: ml-1m, ml-100k"):
        datasets.load("imagenet")


def test_missing_files_say_where_they_were_expected(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=f"file lastfm/LastFM.txt not found under {tmp_path}.*GRAPHREC_DATA"):
        datasets.load("lastfm", root=tmp_path)


def test_options_only_for_synthetic(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"dataset 'lastfm' takes no options \(got \['seed'\]\)"):
        datasets.load("lastfm", root=tmp_path, seed=1)


@pytest.fixture
def fake_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A registered dataset ``tiny`` (S3-Rec layout) whose files live in ``tmp_path``."""
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "Tiny.txt").write_text("1 1 2 3 4\n2 2 3 4 1\n3 3 4 1 2\n")
    (tmp_path / "tiny" / "Tiny_item2attributes.json").write_text('{"1": [1], "2": [1, 2], "3": [2], "4": [3]}')
    files = {f"tiny/{n}": file_md5(tmp_path / "tiny" / n) for n in ("Tiny.txt", "Tiny_item2attributes.json")}
    monkeypatch.setitem(datasets.DATASETS, "lastfm", {"files": files, "protocol": "leave-one-out"})
    return tmp_path


def test_load_checks_md5(fake_registry: Path) -> None:
    ds = datasets.load("lastfm", root=fake_registry)
    assert len(ds.sequences) == 3 and ds.vocab.size == 4 and ds.side_info is not None
    path = fake_registry / "tiny" / "Tiny.txt"
    data = bytearray(path.read_bytes())
    data[2] = ord("4")  # one changed byte
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=f"md5 of {path} is {file_md5(path)}, expected .*corrupted"):
        datasets.load("lastfm", root=fake_registry)
    assert len(datasets.load("lastfm", root=fake_registry, verify=False).sequences) == 3


@pytest.mark.dataset
def test_wrong_md5_on_a_real_copy(public_path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    src = public_path("lastfm/LastFM.txt")
    (tmp_path / "lastfm").mkdir()
    shutil.copy(src, tmp_path / "lastfm" / "LastFM.txt")
    shutil.copy(src.with_name("LastFM_item2attributes.json"), tmp_path / "lastfm")
    monkeypatch.setenv("GRAPHREC_DATA", str(tmp_path))
    assert len(datasets.load("lastfm").sequences) == 1090  # an exact copy passes
    path = tmp_path / "lastfm" / "LastFM.txt"
    data = bytearray(path.read_bytes())
    data[-2] = ord("9") if data[-2] != ord("9") else ord("8")
    path.write_bytes(bytes(data))
    expected = "expected e4fa30bf2ba80aba718e55f108561814"
    with pytest.raises(DatasetError, match=f"md5 of .*LastFM.txt is [0-9a-f]{{32}}, {expected}"):
        datasets.load("lastfm")


@pytest.mark.dataset
@pytest.mark.parametrize(
    ("name", "users", "items", "events", "fields"),
    [("lastfm", 1090, 3646, 52551, ["attribute"]), ("ml-100k", 943, 1682, 100000, ["release_year", "class"])],
)
def test_small_public_datasets_match_their_sources(public, name: str, users: int, items: int, events: int,  # noqa: ANN001
                                                   fields: list[str]) -> None:
    ds = public(name)
    assert len(ds.sequences) == users and ds.vocab.size == items and ds.sequences.num_events == events
    assert ds.side_info is not None and ds.side_info.field_names == fields
    assert ds.protocol == "leave-one-out" and all(len(v) == 32 for v in ds.files.values())
    assert ds.describe()["events"] == events


@pytest.mark.dataset
def test_ml100k_is_chronological(public) -> None:  # noqa: ANN001
    ds = public("ml-100k")
    s = ds.sequences
    rows = s.row_ids()
    same = rows[1:] == rows[:-1]
    assert (np.diff(s.timestamps)[same] >= 0).all()
    assert ds.interactions is not None and ds.interactions.has_time


def test_synthetic_dataset(synth) -> None:  # noqa: ANN001
    assert synth.name == "synthetic" and synth.protocol == "leave-one-out" and synth.data_hash == "generated"
    assert synth.side_info.field_names == ["category", "brand"]
    assert synth.sequences.negative_events and synth.cold_items is not None
    again = datasets.load("synthetic", num_users=300, num_items=200, num_categories=8)
    assert again.sequences.to_lists() == synth.sequences.to_lists()


# ---------------------------------------------------------------------- the user's own files
def test_from_file_csv_with_side_info(synth_log_files) -> None:  # noqa: ANN001
    log, items = synth_log_files
    ds = datasets.from_file(log, side_info_path=items)
    assert ds.name == "log" and ds.protocol == "leave-one-out"
    assert ds.side_info is not None and set(ds.side_info.field_names) >= {"category", "brand"}
    assert list(ds.files.values()) == [file_md5(log)]
    frame = pd.read_csv(log)
    assert ds.sequences.num_events == len(frame) and len(ds.sequences) == frame["user"].nunique()
    sp = ds.split()
    assert len(sp.test) == len(ds.sequences)


def test_from_file_preprocessing(tmp_path: Path) -> None:
    rows = [("a", "x", 1, 5), ("a", "y", 2, 4), ("a", "x", 3, 5), ("a", "z", 4, 1), ("b", "x", 1, 5),
            ("b", "y", 2, 5), ("b", "z", 3, 2), ("c", "w", 1, 5)]
    pd.DataFrame(rows, columns=["user", "item", "timestamp", "rating"]).to_csv(tmp_path / "r.csv", index=False)
    ds = datasets.from_file(tmp_path / "r.csv", min_rating=4, dedup="first", kcore=2)
    # rating >= 4 drops z; dedup drops a's second x; 2-core drops c and w
    assert sorted(ds.users.ids.tolist()) == ["a", "b"] and sorted(ds.vocab.ids.tolist()) == ["x", "y"]
    assert ds.sequences.num_events == 4


def test_from_file_sessions_by_gap(tmp_path: Path) -> None:
    rows = [("u", i, t) for i, t in [(1, 0), (2, 10), (3, 5000), (1, 5010), (2, 9000), (3, 9005)]]
    rows += [("v", i, t) for i, t in [(2, 100), (3, 110)]]
    pd.DataFrame(rows, columns=["user", "item", "timestamp"]).to_csv(tmp_path / "s.csv", index=False)
    ds = datasets.from_file(tmp_path / "s.csv", protocol="session", session_gap=60)
    assert ds.protocol == "session"
    assert len(ds.sequences) + len(ds.test_sessions) == 4
    # the last 10% of sessions by start time are the test sessions: the one starting at t=9000
    assert [ds.vocab.decode(s).tolist() for s in ds.test_sessions] == [["2", "3"]]
    sp = ds.split(valid_fraction=0.0)
    assert sp.test.targets.to_lists() == [[int(ds.vocab.encode(["3"])[0])]]
    with pytest.raises(ConfigError, match="needs a session column or --session-gap"):
        datasets.from_file(tmp_path / "s.csv", protocol="session")


def test_from_file_time_cut(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 400
    f = pd.DataFrame({"user": rng.integers(0, 20, n), "item": rng.integers(0, 30, n), "ts": np.arange(n)})
    f.to_csv(tmp_path / "t.csv", index=False)
    ds = datasets.from_file(tmp_path / "t.csv", protocol="time-cut", columns=ColumnMap(timestamp="ts"))
    sp = ds.split()
    assert sp.protocol == "time-cut" and sp.train.timestamps.max() < sp.meta["valid_time"]


def test_time_cut_needs_real_timestamps(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("1 1 2 3 4\n2 2 3 4 1\n")
    ds = datasets.from_file(tmp_path / "d.txt", protocol="time-cut")
    with pytest.raises(ConfigError, match="has no timestamps"):
        ds.split()


def _side_by_id(ds, field: str) -> dict:  # noqa: ANN001
    f = ds.side_info[field]
    return {str(ds.vocab.decode([i])[0]): sorted(f.names[f.values[f.offsets[i]:f.offsets[i + 1]] - 1].tolist())
            for i in range(1, ds.vocab.size + 1)}


def test_side_info_follows_rating_threshold(tmp_path: Path) -> None:
    # item 9 only ever gets weight 0: min_rating drops it and re-encodes the items after it
    (tmp_path / "b.log").write_text("u1|1|9:z:0;1:a:1;2:b:1;3:a:1\nu2|1|2:b:1;3:c:1;1:a:1\n")
    ds = datasets.from_file(tmp_path / "b.log", min_rating=1)
    assert ds.vocab.ids.tolist() == [1, 2, 3] and ds.side_info.num_items == 3
    assert _side_by_id(ds, "slot") == {"1": ["a"], "2": ["b"], "3": ["a", "c"]}


def test_side_info_follows_kcore_for_every_format(tmp_path: Path) -> None:
    (tmp_path / "d.inter").write_text("user_id:token\titem_id:token\n" + "".join(
        f"{u}\t{i}\n" for u, items in {1: "abc", 2: "abc", 3: "abz"}.items() for i in items))
    (tmp_path / "d.item").write_text("item_id:token\tclass:token_seq\na\tA1 A2\nb\tB\nc\tC\nz\tZ\n")
    ds = datasets.from_file(tmp_path / "d.inter", kcore=2)
    assert sorted(ds.vocab.ids.tolist()) == ["a", "b", "c"]
    assert ds.side_info is not None
    assert _side_by_id(ds, "class") == {"a": ["A1", "A2"], "b": ["B"], "c": ["C"]}


def test_sessions_file_under_the_session_protocol_is_one_session_per_line(tmp_path) -> None:  # noqa: ANN001
    rows = [f"{1 + i % 5} {1 + (i + 1) % 5} {1 + (i + 3) % 5}" for i in range(20)]
    (tmp_path / "s.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    ds = datasets.from_file(tmp_path / "s.txt", "sessions", protocol="session")
    assert ds.protocol == "session"
    assert len(ds.sequences) == 18 and len(ds.test_sessions) == 2  # the last 10% of the lines, in file order
    split = ds.split()
    assert split.protocol == "session" and len(split.test) == 4  # 2 test sessions x 2 prefixes
    # every test prefix is the beginning of one of the last two lines
    first = ds.vocab.decode(split.test.histories.take([0]).items)
    assert [int(x) for x in first] == [int(rows[18].split()[0])]
