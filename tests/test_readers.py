"""Readers: a round trip for every format, encodings, stable time order, column mapping, side info, edge lists."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphrec.errors import DataError, UnknownIdError
from graphrec.readers import (
    FORMATS,
    ColumnMap,
    infer_format,
    read_data,
    read_edgelist,
    read_interactions,
    read_item2attributes,
    read_movielens_genres,
    read_sessions,
    read_side_info,
    read_text,
)
from graphrec.vocab import ItemVocab

# the canonical log: (user, item, timestamp, rating); u2's two events at t=50 are a tie kept in file order
LOG = pd.DataFrame({
    "user": [7, 3, 7, 3, 7, 3, 3],
    "item": [101, 205, 102, 101, 205, 999, 102],
    "timestamp": [30, 50, 10, 40, 20, 50, 60],
    "rating": [5, 4, 3, 2, 1, 5, 4],
})
# chronological per user, users in order of first appearance (7 then 3)
EXPECTED = {7: [102, 205, 101], 3: [101, 205, 999, 102]}
EXPECTED_RATINGS = {7: [3, 1, 5], 3: [2, 4, 5, 4]}


def sequences_by_user(inter) -> dict:  # noqa: ANN001
    seqs = inter.to_sequences()
    return {_plain(inter.users.decode([o])[0]): [_plain(x) for x in inter.items.decode(s)]
            for o, s in zip(seqs.owners, seqs, strict=True)}


def _plain(x):  # noqa: ANN001, ANN202
    return int(x) if str(x).lstrip("-").isdigit() else x


def _check(inter, ratings: bool = True) -> None:  # noqa: ANN001
    assert sequences_by_user(inter) == EXPECTED
    if ratings:
        seqs = inter.to_sequences()
        got = {_plain(inter.users.decode([o])[0]): seqs.weights[seqs.offsets[r]:seqs.offsets[r + 1]].tolist()
               for r, o in enumerate(seqs.owners)}
        assert got == EXPECTED_RATINGS


# ---------------------------------------------------------------------- round trips, one per format
def test_round_trip_csv(tmp_path: Path) -> None:
    LOG.to_csv(tmp_path / "log.csv", index=False)
    inter = read_interactions(tmp_path / "log.csv")
    _check(inter)
    assert inter.has_time


def test_round_trip_csv_semicolon_and_explicit_sep(tmp_path: Path) -> None:
    LOG.to_csv(tmp_path / "log.csv", index=False, sep=";")
    _check(read_interactions(tmp_path / "log.csv"))  # sniffed
    LOG.to_csv(tmp_path / "pipe.txt", index=False, sep="|")
    _check(read_interactions(tmp_path / "pipe.txt", "csv", sep="|"))


def test_round_trip_tsv(tmp_path: Path) -> None:
    LOG.to_csv(tmp_path / "log.tsv", index=False, sep="\t")
    _check(read_interactions(tmp_path / "log.tsv"))


def test_round_trip_parquet(tmp_path: Path) -> None:
    LOG.to_parquet(tmp_path / "log.parquet", index=False)
    inter = read_interactions(tmp_path / "log.parquet")
    _check(inter)
    assert inter.items.ids.dtype == np.int64  # integer ids stay integers


def test_parquet_datetime_timestamps(tmp_path: Path) -> None:
    log = LOG.assign(timestamp=pd.Timestamp("2024-03-01") + pd.to_timedelta(LOG["timestamp"], unit="s"))
    log.to_parquet(tmp_path / "log.parquet", index=False)
    inter = read_interactions(tmp_path / "log.parquet")
    _check(inter)
    seqs = inter.to_sequences()
    assert seqs.timestamps[:3].tolist() == [1709251210.0, 1709251220.0, 1709251230.0]  # epoch seconds


def test_round_trip_recbole(tmp_path: Path) -> None:
    header = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    rows = "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, t, r in LOG.itertuples(index=False))
    (tmp_path / "d.inter").write_text(header + rows, encoding="utf-8")
    inter, side = read_data(tmp_path / "d.inter")
    _check(inter)
    assert side is None


def test_recbole_session_file_without_users(tmp_path: Path) -> None:
    (tmp_path / "s.inter").write_text("session_id:token\titem_id:token\ttimestamp:float\n"
                                      "s1\t10\t2\ns2\t11\t1\ns1\t12\t1\ns2\t10\t3\n")
    inter = read_interactions(tmp_path / "s.inter")
    assert sequences_by_user(inter) == {"s1": [12, 10], "s2": [11, 10]}
    assert [inter.items.decode(s).tolist() for s in inter.to_sequences("session")] == [["12", "10"], ["11", "10"]]


def test_round_trip_sasrec_lines(tmp_path: Path) -> None:
    lines = "".join(f"{u} {' '.join(map(str, items))}\n" for u, items in EXPECTED.items())
    (tmp_path / "data.txt").write_text(lines)
    inter = read_interactions(tmp_path / "data.txt")
    assert sequences_by_user(inter) == EXPECTED
    assert not inter.has_time


def test_round_trip_sasrec_pairs(tmp_path: Path) -> None:
    # SASRec's own layout: one "user item" pair per line, chronological per user, users interleaved
    pairs = [(7, 102), (3, 101), (7, 205), (3, 205), (3, 999), (7, 101), (3, 102)]
    (tmp_path / "pairs.txt").write_text("".join(f"{u} {i}\n" for u, i in pairs))
    assert sequences_by_user(read_interactions(tmp_path / "pairs.txt", "sasrec")) == EXPECTED


def test_round_trip_movielens(tmp_path: Path) -> None:
    rows = "".join(f"{u}::{i}::{r}::{t}\n" for u, i, t, r in LOG.itertuples(index=False))
    (tmp_path / "ratings.dat").write_text(rows)
    inter, side = read_data(tmp_path / "ratings.dat")
    _check(inter)
    assert side is None


def test_round_trip_behaviour_log(tmp_path: Path) -> None:
    slots = {101: "s1", 102: "s2", 205: "s1", 999: "s9"}
    lines = [f"{u}|1.0|" + ";".join(f"{i}:{slots[i]}:{r}" for i, r in zip(EXPECTED[u], EXPECTED_RATINGS[u],
                                                                       strict=True)) for u in EXPECTED]
    (tmp_path / "behaviour.log").write_text("\n".join(lines) + "\n")
    inter, side = read_data(tmp_path / "behaviour.log")
    _check(inter)
    assert not inter.has_time
    assert side is not None and side.field_names == ["slot"]
    slot = side["slot"]
    got = {int(i): str(slot.names[slot.first_value()[k] - 1]) for k, i in enumerate(inter.items.ids, start=1)}
    assert got == slots


def test_round_trip_sessions(tmp_path: Path) -> None:
    (tmp_path / "s.txt").write_text("5 6 7\n\n6 5\n7 7 8\n")
    seqs, vocab = read_sessions(tmp_path / "s.txt")
    assert [vocab.decode(s).tolist() for s in seqs] == [[5, 6, 7], [6, 5], [7, 7, 8]]
    assert seqs.owners.tolist() == [1, 2, 3]
    test, _ = read_sessions(tmp_path / "s.txt", vocab)
    assert test.to_lists() == seqs.to_lists()
    inter = read_interactions(tmp_path / "s.txt", "sessions")
    assert [inter.items.decode(s).tolist() for s in inter.to_sequences()] == [[5, 6, 7], [6, 5], [7, 7, 8]]


def test_sessions_vocab_is_not_sized_by_the_largest_id(tmp_path: Path) -> None:
    (tmp_path / "s.txt").write_text("5 1000000000000\n1000000000000 5\n")
    seqs, vocab = read_sessions(tmp_path / "s.txt")
    assert vocab.size == 2 and seqs.num_items == 2
    (tmp_path / "c.txt").write_text("1 2\n3 2\n")
    seqs, vocab = read_sessions(tmp_path / "c.txt")
    assert vocab.ids.tolist() == [1, 2, 3] and seqs.to_lists() == [[1, 2], [3, 2]]  # contiguous ids kept as is


def test_sessions_with_an_unknown_id_against_a_vocab(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("1 3\n")
    with pytest.raises(UnknownIdError, match=r"unknown item id\(s\) \[3\]"):
        read_sessions(tmp_path / "t.txt", ItemVocab([1, 2]))


# ---------------------------------------------------------------------- encodings, order, mapping
def test_utf8_is_read_as_is_without_warning(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text("user,item\nzoë,café\nzoë,naïve\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inter = read_interactions(tmp_path / "log.csv")
    assert inter.items.ids.tolist() == ["café", "naïve"] and inter.users.ids.tolist() == ["zoë"]


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_bytes("\ufeffuser,item\na,b\n".encode())
    assert read_interactions(tmp_path / "log.csv").users.ids.tolist() == ["a"]


def test_latin1_fallback_warns_and_decodes(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_bytes("user,item\nzoë,café\n".encode("latin-1"))
    with pytest.warns(UserWarning, match=r"log.csv is not valid UTF-8 \(byte 12\); decoded as latin-1"):
        inter = read_interactions(tmp_path / "log.csv")
    assert inter.items.ids.tolist() == ["café"] and inter.users.ids.tolist() == ["zoë"]


def test_utf16_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_bytes("user,item\na,b\n".encode("utf-16"))
    with pytest.raises(DataError, match="log.csv is not UTF-8 or latin-1 text.*UTF-16"):
        read_interactions(tmp_path / "log.csv")


def test_timestamp_ties_keep_original_row_order(tmp_path: Path) -> None:
    n = 200
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"user": rng.integers(0, 5, n), "item": np.arange(n), "timestamp": rng.integers(0, 3, n)})
    f.to_csv(tmp_path / "ties.csv", index=False)
    inter = read_interactions(tmp_path / "ties.csv")
    got = sequences_by_user(inter)
    for u, g in f.groupby("user", sort=False):
        expect = g.sort_values("timestamp", kind="stable")["item"].tolist()
        assert got[u] == expect


@pytest.mark.parametrize(
    ("header", "mapping"),
    [
        ("user_id,item_id,timestamp,rating", {}),
        ("UserID,MovieID,Time,Score", {}),
        ("visitorid,itemid,ts,count", {}),
        ("who,what,when,how_much", {"user": "who", "item": "what", "timestamp": "when", "weight": "how_much"}),
    ],
)
def test_column_auto_detection_and_explicit_mapping(tmp_path: Path, header: str, mapping: dict) -> None:
    body = "".join(f"{u},{i},{t},{r}\n" for u, i, t, r in LOG.itertuples(index=False))
    (tmp_path / "log.csv").write_text(header + "\n" + body)
    _check(read_interactions(tmp_path / "log.csv", columns=ColumnMap(**mapping)))


def test_explicit_mapping_beats_auto_detection(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text("user,item,other_item\nu,a,x\nu,b,y\n")
    inter = read_interactions(tmp_path / "log.csv", columns=ColumnMap(item="other_item"))
    assert inter.items.ids.tolist() == ["x", "y"]


def test_event_and_session_columns(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text("user_id,item_id,time,action,session_id\n"
                                      "u,a,1,click,s1\nu,b,2,skip,s1\nu,c,3,like,s2\n")
    inter = read_interactions(tmp_path / "log.csv")
    assert inter.event_names == ("click", "like", "skip") and inter.negative_events == (2,)
    assert inter.to_sequences("session").to_lists() == [[1, 2], [3]]


def test_misnamed_column_gets_a_hint(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text("user_id,item_id\n1,2\n")
    with pytest.raises(DataError, match=r"no column 'usr_id' for user \(did you mean 'user_id'\?\)"):
        read_interactions(tmp_path / "log.csv", columns=ColumnMap(user="usr_id"))


def test_infer_format() -> None:
    expect = {"a.csv": "csv", "a.tsv": "tsv", "a.parquet": "parquet", "a.inter": "recbole", "ratings.dat": "movielens",
              "a.txt": "sasrec", "a.log": "behaviour-log"}
    assert {k: infer_format(k) for k in expect} == expect
    with pytest.raises(DataError, match="cannot infer the format of a.xyz"):
        infer_format("a.xyz")
    assert set(expect.values()) <= set(FORMATS)


def test_read_text_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_text(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a directory"):
        read_text(tmp_path)
    (tmp_path / "blank.txt").write_text("  \n\n")
    with pytest.raises(DataError, match="blank.txt is empty"):
        read_text(tmp_path / "blank.txt")


# ---------------------------------------------------------------------- side information
def test_item2attributes_json(tmp_path: Path) -> None:
    (tmp_path / "x_item2attributes.json").write_text(json.dumps({"1": [4, 9], "2": [9], "77": [1], "3": 5}))
    vocab = ItemVocab([1, 2, 3])
    side = read_item2attributes(tmp_path / "x_item2attributes.json", vocab)
    f = side["attribute"]
    values = {i: sorted(f.names[f.values[f.offsets[i]:f.offsets[i + 1]] - 1].tolist()) for i in (1, 2, 3)}
    assert values == {1: ["4", "9"], 2: ["9"], 3: ["5"]}  # item 77 is not in the vocabulary
    assert f.offsets[0] == f.offsets[1] == 0  # padding row is empty
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="bad.json is not valid JSON"):
        read_item2attributes(tmp_path / "bad.json", vocab)


def test_movies_dat_genres_latin1(tmp_path: Path) -> None:
    text = "10::Les Misérables (1995)::Drama|Musical\n20::Toy Story (1995)::Animation|Children's\n"
    (tmp_path / "movies.dat").write_bytes(text.encode("latin-1"))
    with pytest.warns(UserWarning, match="latin-1"):
        side = read_movielens_genres(tmp_path / "movies.dat", ItemVocab([20, 10]))
    g = side["genre"]
    assert g.names.tolist() == ["Animation", "Children's", "Drama", "Musical"]
    assert g.offsets.tolist() == [0, 0, 2, 4]
    assert g.values.tolist() == [1, 2, 3, 4]


def test_movielens_reader_picks_up_movies_dat(tmp_path: Path) -> None:
    (tmp_path / "ratings.dat").write_text("1::10::5::978300760\n1::20::3::978300700\n")
    (tmp_path / "movies.dat").write_bytes("10::Les Misérables::Drama\n20::Toy::Animation\n".encode("latin-1"))
    with pytest.warns(UserWarning, match="latin-1"):
        inter, side = read_data(tmp_path / "ratings.dat")
    assert side is not None and side["genre"].num_values == 2


def test_recbole_item_token_seq(tmp_path: Path) -> None:
    (tmp_path / "d.inter").write_text("user_id:token\titem_id:token\n1\t10\n1\t20\n")
    (tmp_path / "d.item").write_text("item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
                                     "10\tA B\t1995\tAction Comedy\n20\tC\t1990\tDrama\n30\tD\t1980\tWar\n")
    inter, side = read_data(tmp_path / "d.inter")
    assert side is not None and side.field_names == ["release_year", "class"]
    c = side["class"]
    assert c.names.tolist() == ["Action", "Comedy", "Drama"]  # item 30 has no interaction
    assert c.offsets.tolist() == [0, 0, 2, 3]
    assert side["release_year"].first_value().tolist() == [0, 2, 1]


def test_recbole_header_must_be_typed(tmp_path: Path) -> None:
    (tmp_path / "d.inter").write_text("user_id\titem_id:token\n1\t2\n")
    with pytest.raises(DataError, match="name:type.*'user_id'"):
        read_data(tmp_path / "d.inter")


def test_side_info_table_multivalued(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text("item_id,category,tags\n1,c1,a|b\n2,c2,\n3,c1,b\n")
    side = read_side_info(tmp_path / "items.csv", ItemVocab(["2", "1"]))
    assert side.field_names == ["category", "tags"]
    assert side["category"].first_value().tolist() == [0, 2, 1]
    tags = side["tags"]
    assert tags.offsets.tolist() == [0, 0, 0, 2]  # item "2" has no tags, item "1" has a and b


def test_side_info_table_needs_an_item_column(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text("thing,category\n1,c1\n")
    with pytest.raises(DataError, match="no item column"):
        read_side_info(tmp_path / "items.csv", ItemVocab([1]))


@pytest.mark.dataset
def test_real_side_info_files(public) -> None:  # noqa: ANN001
    ds = public("lastfm")
    assert ds.side_info is not None
    raw = json.loads((Path(next(iter(ds.files))).parent / "LastFM_item2attributes.json").read_text())
    f = ds.side_info["attribute"]
    for key in ("1", "2", str(ds.vocab.size)):
        i = int(ds.vocab.encode([int(key)])[0])
        got = sorted(f.names[f.values[f.offsets[i]:f.offsets[i + 1]] - 1].tolist())
        assert got == sorted({str(v) for v in raw[key]})


@pytest.mark.dataset
def test_real_movies_dat(public_path) -> None:  # noqa: ANN001
    path = public_path("ml-1m/movies.dat")
    with pytest.warns(UserWarning, match="latin-1"):
        side = read_movielens_genres(path, ItemVocab(np.arange(1, 3953)))
    g = side["genre"]
    assert g.num_values == 18
    assert int((np.diff(g.offsets) > 0).sum()) == 3883
    with pytest.warns(UserWarning):
        assert "Misérables" in read_text(path)


# ---------------------------------------------------------------------- edge lists
def _edges(g) -> dict:  # noqa: ANN001
    rows = np.repeat(np.arange(g.num_nodes), g.degree())
    ids = g.vocab.ids
    return {(_plain(ids[a - 1]), _plain(ids[b - 1])): float(w) for a, b, w in zip(rows, g.indices, g.weights,
                                                                                  strict=True)}


def test_edgelist_whitespace_comma_comments_weights(tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_text("# a comment\na b 2.0\nb,c,1.5\n\n  d\ta   # trailing comment\nb c 0.5\n")
    g = read_edgelist(tmp_path / "e.txt", directed=True)
    assert g.directed
    assert _edges(g) == {("a", "b"): 2.0, ("b", "c"): 2.0, ("d", "a"): 1.0}  # repeated edges add up


def test_edgelist_undirected_doubling_and_self_loops(tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_text("1 2 3\n2 3\n4 4 5\n")
    g = read_edgelist(tmp_path / "e.txt")
    assert not g.directed
    assert _edges(g) == {(1, 2): 3.0, (2, 1): 3.0, (2, 3): 1.0, (3, 2): 1.0, (4, 4): 5.0}
    d = g.to_scipy().toarray()
    np.testing.assert_array_equal(d, d.T)


def test_edgelist_explicit_separator(tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_text("new york;boston;2\nboston ; new york ; 1\n")
    g = read_edgelist(tmp_path / "e.txt", directed=True, sep=";")
    assert _edges(g) == {("new york", "boston"): 2.0, ("boston", "new york"): 1.0}
    assert g.vocab.size == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a b c d\n", "line 1 must be 'src dst \\[weight\\]' \\(got 4 fields\\)"),
        ("a b 1\nb\n", "line 2 must be"),
        ("a b heavy\n", "line 1: weight 'heavy' is not a number"),
        ("a b -1\n", r"line 1: weight must be finite and >= 0 \(got -1\)"),
        ("a b nan\n", r"got nan"),
        ("a b inf\n", r"got inf"),
        ("# only a comment\n", "has no edges"),
    ],
)
def test_edgelist_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "e.txt").write_text(text)
    with pytest.raises(DataError, match=message):
        read_edgelist(tmp_path / "e.txt")
