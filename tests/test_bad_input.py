"""The bad-input matrix: every mistake raises a specific exception whose message names the problem and the value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphrec import datasets
from graphrec.artifacts import atomic_dir, file_md5
from graphrec.baselines import ItemKNN
from graphrec.build import build_item_graph
from graphrec.config import load_config
from graphrec.errors import ArtifactError, ConfigError, DataError, DatasetError, GraphrecError, UnknownIdError
from graphrec.graph import ItemGraph
from graphrec.interactions import Interactions
from graphrec.model import get_model_class
from graphrec.readers import ColumnMap, read_data, read_edgelist, read_interactions
from graphrec.sequences import Sequences
from graphrec.split import leave_one_out
from graphrec.vocab import ItemVocab

TOY = Sequences.from_lists([[1, 2, 3], [2, 3, 1]], 3)


def write(tmp: Path, name: str, text: str | bytes) -> Path:
    path = tmp / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def csv(tmp: Path, text: str, **kw) -> Interactions:  # noqa: ANN003
    return read_interactions(write(tmp, "log.csv", text), **kw)


def truncated_graph(tmp: Path) -> ItemGraph:
    g = build_item_graph(TOY)
    data = g.save(tmp / "graph.npz").read_bytes()
    (tmp / "graph.npz").write_bytes(data[: len(data) // 3])
    return ItemGraph.load(tmp / "graph.npz")


def wrong_md5(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp / "tiny").mkdir()
    write(tmp, "tiny/Tiny.txt", "1 1 2 3\n")
    write(tmp, "tiny/Tiny_item2attributes.json", "{}")
    attrs = "tiny/Tiny_item2attributes.json"
    files = {"tiny/Tiny.txt": "0" * 32, attrs: file_md5(tmp / attrs)}
    monkeypatch.setitem(datasets.DATASETS, "beauty", {"files": files, "protocol": "leave-one-out"})
    monkeypatch.setenv("GRAPHREC_DATA", str(tmp))
    datasets.load("beauty")


def config_file(tmp: Path) -> None:
    from graphrec.baselines import ItemKNNConfig

    load_config(ItemKNNConfig, write(tmp, "c.toml", "window = 3\ndeacy = 0.5\n"))


def one_interaction_users(tmp: Path) -> None:
    inter = csv(tmp, "user,item\na,1\nb,2\nc,1\n")
    leave_one_out(inter.to_sequences(), inter.items)


Case = tuple[str, Callable[..., object], type[Exception], str]

CASES: list[Case] = [
    ("empty file", lambda t, m: csv(t, ""), DataError, r"log.csv is empty"),
    ("blank lines only", lambda t, m: read_interactions(write(t, "d.txt", "\n \n")), DataError, r"d.txt is empty"),
    ("header only", lambda t, m: csv(t, "user,item\n"), DataError, r"log.csv: no interactions"),
    ("missing column", lambda t, m: csv(t, "user,thing\na,1\n"), DataError,
     r"missing column\(s\) \['item'\] \(columns: \['user', 'thing'\]\)"),
    ("misnamed column", lambda t, m: csv(t, "user_id,item_id\na,1\n", columns=ColumnMap(item="item_idd")),
     DataError, r"no column 'item_idd' for item \(did you mean 'item_id'\?\)"),
    ("wrong separator", lambda t, m: csv(t, "user item\na 1\n", sep=","), DataError,
     r"single column \['user item'\]; wrong separator\? \(got ','\)"),
    ("non-numeric timestamp", lambda t, m: csv(t, "user,item,timestamp\na,1,12\na,2,soon\n"), DataError,
     r"'timestamp' is neither numeric nor a date \(e.g. 'soon'\)"),
    ("missing timestamp", lambda t, m: csv(t, "user,item,timestamp\na,1,12\na,2,\n"), DataError,
     r"'timestamp' has 1 missing value\(s\) \(first at row 1\)"),
    ("NaN user id", lambda t, m: csv(t, "user,item\na,1\n,2\n"), DataError,
     r"'user' has 1 null id\(s\) \(first at row 1\)"),
    ("NaN item id", lambda t, m: Interactions.from_frame(pd.DataFrame({"user": [1, 2], "item": [1.0, np.nan]})),
     DataError, r"'item' has 1 null id\(s\) \(first at row 1\)"),
    ("negative weight", lambda t, m: csv(t, "user,item,weight\na,1,2\na,2,-3\n"), DataError,
     r"'weight' has negative value -3.0 at row 1"),
    ("infinite weight", lambda t, m: csv(t, "user,item,weight\na,1,inf\n"), DataError,
     r"'weight' has 1 non-numeric, NaN or infinite value\(s\) \(first at row 0: 'inf'\)"),
    ("non-numeric rating", lambda t, m: read_interactions(write(t, "ratings.dat", "1::2::five::978300760\n")),
     DataError, r"row 0: 'five'"),
    ("duplicate policy", lambda t, m: csv(t, "user,item\na,1\na,1\n").deduplicate("newest"), ConfigError,
     r"duplicate policy must be .* \(got 'newest'\)"),
    ("users with one interaction", lambda t, m: one_interaction_users(t), DataError,
     r"no user has at least 3 interactions"),
    ("k-core removes everything", lambda t, m: csv(t, "user,item\na,1\nb,2\n").kcore(2, 2), DataError,
     r"k-core filtering \(user>=2, item>=2\) removed every interaction"),
    ("unknown dataset", lambda t, m: datasets.load("ml1m"), DatasetError,
     r"unknown dataset 'ml1m' \(did you mean 'ml-1m'\?\)"),
    ("dataset files absent", lambda t, m: datasets.load("beauty", root=t), DatasetError,
     r"file amazon-beauty/Beauty.txt not found under .*GRAPHREC_DATA"),
    ("wrong md5", wrong_md5, DatasetError, r"md5 of .*Tiny.txt is [0-9a-f]{32}, expected 0{32}"),
    ("bad encoding (UTF-16)", lambda t, m: csv(t, "user,item\na,b\n".encode("utf-16")), DataError,
     r"not UTF-8 or latin-1 text \(NUL byte at offset \d+: UTF-16"),
    ("misspelt config key", lambda t, m: ItemKNN(windw=3), ConfigError,
     r"unknown config key 'windw' \(did you mean 'window'\?\)"),
    ("misspelt key in a config file", lambda t, m: config_file(t), ConfigError,
     r"unknown config key 'deacy' \(did you mean 'decay'\?\)"),
    ("config value of the wrong type", lambda t, m: ItemKNN(window="three"), ConfigError,
     r"window must be an integer \(got 'three'\)"),
    ("window < 1", lambda t, m: build_item_graph(TOY, window=0), ConfigError,
     r"window must be an integer >= 1 \(got 0\)"),
    ("top_k < 1", lambda t, m: build_item_graph(TOY, top_k=-2), ConfigError, r"top_k must be >= 1 \(got -2\)"),
    ("min_count < 1", lambda t, m: build_item_graph(TOY, min_count=0), ConfigError,
     r"min_count must be >= 1 \(got 0\)"),
    ("path is a directory", lambda t, m: read_interactions(t, "csv"), DataError, r" is a directory, expected a file"),
    ("path does not exist", lambda t, m: read_interactions(t / "nope.csv"), DataError, r"no such file: .*nope.csv"),
    ("truncated .npz", lambda t, m: truncated_graph(t), ArtifactError, r"cannot read graph .*graph.npz"),
    ("graph directory without graph", lambda t, m: ItemGraph.load(t), ArtifactError, r"no graph file at .*graph.npz"),
    ("malformed behaviour-log line", lambda t, m: read_data(write(t, "b.log", "u1|1|7:a:1\nu2|7:a:1\n")), DataError,
     r"line 2 must be user\|weight\|item:slot:weight;... \(got 2 fields\)"),
    ("malformed behaviour-log item", lambda t, m: read_data(write(t, "b.log", "u1|1|7:a:1;8:b\n")), DataError,
     r"line 1: item entry '8:b' must be item:slot:weight"),
    ("behaviour-log negative weight", lambda t, m: read_data(write(t, "b.log", "u1|1|7:a:1;8:b:-1\n")), DataError,
     r"negative value -1.0"),
    ("malformed edge list weight", lambda t, m: read_edgelist(write(t, "e.txt", "a b 1\nb c heavy\n")), DataError,
     r"e.txt: line 2: weight 'heavy' is not a number"),
    ("negative edge weight", lambda t, m: read_edgelist(write(t, "e.txt", "a b -0.5\n")), DataError,
     r"line 1: weight must be finite and >= 0 \(got -0.5\)"),
    ("sasrec line without items", lambda t, m: read_interactions(write(t, "d.txt", "1 2 3\n2\n")), DataError,
     r"non-empty line 2 has no item"),
    ("movielens line", lambda t, m: read_interactions(write(t, "ratings.dat", "1::2::5\n")), DataError,
     r"line 1 is not UserID::MovieID::Rating::Timestamp"),
    ("unknown format name", lambda t, m: read_data(write(t, "log.csv", "user,item\na,b\n"), "csvv"), DataError,
     r"unknown format 'csvv' \(did you mean 'csv'\?\)"),
    ("uninferable format", lambda t, m: read_data(write(t, "log.xls", "x")), DataError,
     r"cannot infer the format of .*log.xls"),
    ("unknown model name", lambda t, m: get_model_class("node2wec"), ConfigError,
     r"unknown model 'node2wec' \(did you mean 'node2vec'\?\)"),
    ("unknown item id", lambda t, m: ItemVocab(["a", "b"]).encode(["a", "zz"]), UnknownIdError,
     r"unknown item id\(s\) \['zz'\]"),
    ("time cut without timestamps", lambda t, m: datasets.from_file(write(t, "d.txt", "1 1 2 3\n"),
                                                                   protocol="time-cut").split(), ConfigError,
     r"has no timestamps"),
]


@pytest.mark.parametrize(("name", "action", "error", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, action: Callable[..., object],
                   error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message) as info:
        action(tmp_path, monkeypatch)
    assert isinstance(info.value, GraphrecError)  # the CLI turns every one into exit code 2 and one line
    assert "\n" not in str(info.value)


def test_the_matrix_is_large_enough() -> None:
    assert len(CASES) >= 20


def test_duplicate_rows_follow_the_policy(tmp_path: Path) -> None:
    inter = csv(tmp_path, "user,item,weight\na,1,1\na,1,2\na,2,1\n")
    assert inter.report()["duplicate_user_item_rows"] == 1
    assert len(inter.deduplicate("keep")) == 3 and len(inter.deduplicate("first")) == 2
    assert inter.deduplicate("sum").frame["weight"].tolist() == [3.0, 1.0]


def test_users_with_one_interaction_stay_in_train_and_are_not_evaluated(tmp_path: Path) -> None:
    inter = csv(tmp_path, "user,item\na,1\na,2\na,3\nb,2\n")
    sp = leave_one_out(inter.to_sequences(), inter.items)
    assert len(sp.test) == 1 and sp.train.to_lists() == [[1], [2]]


def test_failed_save_never_leaves_a_half_written_directory(tmp_path: Path) -> None:
    target = tmp_path / "graph"
    build_item_graph(TOY).save(tmp_path / "g.npz")
    with atomic_dir(target) as tmp:
        (tmp / "graph.npz").write_bytes((tmp_path / "g.npz").read_bytes())
    good = (target / "graph.npz").read_bytes()
    with pytest.raises(ConfigError):
        with atomic_dir(target) as tmp:
            (tmp / "graph.npz").write_bytes(b"partial")
            build_item_graph(TOY, window=0)  # fails halfway through the "save"
    assert (target / "graph.npz").read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.npz", "graph"]
    assert ItemGraph.load(target).num_edges == build_item_graph(TOY).num_edges
