"""Interactions: validation and encoding of a log, stable time order, and the preprocessing steps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphrec.errors import ConfigError, DataError
from graphrec.interactions import Interactions


def frame(**cols) -> pd.DataFrame:  # noqa: ANN003
    return pd.DataFrame(cols)


def test_encoding_and_sorting_by_user_then_time() -> None:
    f = frame(user=["b", "a", "b", "a"], item=["x", "y", "y", "z"], timestamp=[5, 3, 1, 2])
    inter = Interactions.from_frame(f)
    assert inter.users.ids.tolist() == ["b", "a"] and inter.items.ids.tolist() == ["x", "y", "z"]
    seqs = inter.to_sequences()
    # b: y (t=1), x (t=5); a: z (t=2), y (t=3)
    assert [inter.items.decode(s).tolist() for s in seqs] == [["y", "x"], ["z", "y"]]
    assert seqs.timestamps.tolist() == [1, 5, 2, 3]
    assert inter.users.decode(seqs.owners).tolist() == ["b", "a"]
    assert inter.has_time


def test_timestamp_ties_keep_file_order() -> None:
    f = frame(user=["u"] * 5, item=["c", "a", "e", "b", "d"], timestamp=[7, 7, 7, 1, 7])
    inter = Interactions.from_frame(f)
    assert inter.items.decode(inter.to_sequences()[0]).tolist() == ["b", "c", "a", "e", "d"]


def test_without_timestamps_file_order_is_the_order() -> None:
    inter = Interactions.from_frame(frame(user=[1, 2, 1, 1], item=[9, 8, 7, 9]))
    assert not inter.has_time
    assert [inter.items.decode(s).tolist() for s in inter.to_sequences()] == [[9, 7, 9], [8]]


def test_date_string_timestamps() -> None:
    f = frame(user=[1, 1], item=[1, 2], timestamp=["2016-01-02", "2016-01-01 12:00:00"])
    inter = Interactions.from_frame(f)
    assert inter.frame["timestamp"].tolist() == [1451649600.0, 1451692800.0]
    assert inter.items.decode(inter.to_sequences()[0]).tolist() == [2, 1]


def test_datetime_columns_are_seconds_like_date_strings() -> None:
    times = pd.to_datetime(["2016-01-02 00:00:00", "2016-01-01 12:00:00"])
    naive = Interactions.from_frame(frame(user=[1, 1], item=[1, 2], timestamp=times))
    assert naive.frame["timestamp"].tolist() == [1451649600.0, 1451692800.0]
    paris = Interactions.from_frame(frame(user=[1, 1], item=[1, 2], timestamp=times.tz_localize("Europe/Paris")))
    assert paris.frame["timestamp"].tolist() == [1451649600.0 - 3600, 1451692800.0 - 3600]
    # a 30-minute gap means 30 minutes whatever the column's type
    ten_minutes = pd.to_datetime(["2020-01-01 00:00", "2020-01-01 00:10", "2020-01-01 02:00"])
    inter = Interactions.from_frame(frame(user=[1, 1, 1], item=[1, 2, 3], timestamp=ten_minutes)).sessionize(1800)
    assert inter.frame["session"].tolist() == [0, 0, 1]


def test_weights_events_and_negative_codes() -> None:
    f = frame(user=[1, 1, 1], item=[1, 2, 3], weight=["1.5", "0", "2"], event=[" Click", "SKIP", "like"])
    inter = Interactions.from_frame(f)
    assert inter.frame["weight"].dtype == np.float32
    assert inter.event_names == ("click", "like", "skip")
    assert inter.negative_events == (2,)
    seqs = inter.to_sequences()
    assert seqs.positive_mask().tolist() == [True, False, True]
    assert seqs.weights.tolist() == [1.5, 0.0, 2.0]


@pytest.mark.parametrize(
    ("f", "message"),
    [
        (frame(user=[], item=[]), "no interactions"),
        (frame(usr=[1], item=[1]), r"missing column 'user' \(columns: \['usr', 'item'\]\)"),
        (frame(user=[1], iid=[1]), "missing column 'item'"),
        (frame(user=[1, None], item=[1, 2]), r"'user' has 1 null id\(s\) \(first at row 1\)"),
        (frame(user=[1, 2], item=[np.nan, 2]), r"'item' has 1 null id\(s\) \(first at row 0\)"),
        (frame(user=[1, 1], item=[1, 2], timestamp=[1, None]), r"'timestamp' has 1 missing value\(s\)"),
        (frame(user=[1, 1], item=[1, 2], timestamp=["12", "yesterday-ish"]), "neither numeric nor a date.*yesterday"),
        (frame(user=[1, 1], item=[1, 2], timestamp=[1.0, np.inf]), "infinite"),
        (frame(user=[1, 1], item=[1, 2], weight=[1, -2]), "negative value -2.0 at row 1"),
        (frame(user=[1, 1], item=[1, 2], weight=[1, np.inf]),
         r"non-numeric, NaN or infinite value\(s\) \(first at row 1: inf\)"),
        (frame(user=[1, 1], item=[1, 2], weight=["1", "lots"]), "row 1: 'lots'"),
    ],
)
def test_from_frame_rejects(f: pd.DataFrame, message: str) -> None:
    with pytest.raises(DataError, match=message):
        Interactions.from_frame(f, source="log.csv")


def test_null_ids_can_be_dropped_and_counted() -> None:
    f = frame(user=["a", None, "b", "b", None], item=[1, 2, np.nan, 3, np.nan], timestamp=[5, 4, 3, 2, 1])
    inter = Interactions.from_frame(f, null_ids="drop")
    assert inter.null_id_rows == 3 and len(inter) == 2 and inter.report()["rows_with_null_ids"] == 3
    assert inter.users.decode(inter.frame["user"].to_numpy()).tolist() == ["a", "b"]
    assert Interactions.from_frame(frame(user=[1], item=[1])).report()["rows_with_null_ids"] == 0
    with pytest.raises(DataError, match="every row has a null user or item id"):
        Interactions.from_frame(frame(user=[None], item=[1]), null_ids="drop")
    with pytest.raises(ConfigError, match="null_ids must be 'error' or 'drop'"):
        Interactions.from_frame(f, null_ids="skip")  # type: ignore[arg-type]


def test_error_names_the_source() -> None:
    with pytest.raises(DataError, match="^mylog.csv: no interactions"):
        Interactions.from_frame(frame(user=[], item=[]), source="mylog.csv")


DUPS = frame(user=["a", "a", "a", "b"], item=[1, 2, 1, 1], timestamp=[1, 2, 3, 4], weight=[1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize(
    ("policy", "items", "weights"),
    [("keep", [1, 2, 1, 1], [1, 2, 3, 4]), ("first", [1, 2, 1], [1, 2, 4]), ("last", [2, 1, 1], [2, 3, 4]),
     ("sum", [1, 2, 1], [4, 2, 4])],
)
def test_duplicate_policies(policy: str, items: list[int], weights: list[float]) -> None:
    inter = Interactions.from_frame(DUPS).deduplicate(policy)  # type: ignore[arg-type]
    seqs = inter.to_sequences()
    assert inter.items.decode(seqs.items).tolist() == items
    assert seqs.weights.tolist() == weights
    assert inter.report()["duplicate_user_item_rows"] == (1 if policy == "keep" else 0)


def test_duplicate_policy_is_validated() -> None:
    with pytest.raises(ConfigError, match="'newest'"):
        Interactions.from_frame(DUPS).deduplicate("newest")  # type: ignore[arg-type]


def test_threshold_keeps_ratings_at_or_above_and_reencodes() -> None:
    f = frame(user=["a", "a", "b", "c"], item=["x", "y", "y", "z"], weight=[5, 3, 4, 1])
    inter = Interactions.from_frame(f).threshold(4)
    assert inter.users.ids.tolist() == ["a", "b"] and inter.items.ids.tolist() == ["x", "y"]
    assert inter.frame["user"].tolist() == [1, 2] and inter.frame["item"].tolist() == [1, 2]
    with pytest.raises(DataError, match="weight/rating column"):
        Interactions.from_frame(frame(user=[1], item=[1])).threshold(4)


def test_kcore_is_iterative() -> None:
    # 2-core: item z (1 user) goes first, which leaves user c with one interaction, which removes item w
    f = frame(user=["a", "a", "b", "b", "c", "c"], item=["x", "y", "x", "y", "z", "w"])
    f = pd.concat([f, frame(user=["d"], item=["w"])], ignore_index=True)
    inter = Interactions.from_frame(f).kcore(2, 2)
    assert sorted(inter.users.ids.tolist()) == ["a", "b"]
    assert sorted(inter.items.ids.tolist()) == ["x", "y"]
    assert len(inter) == 4
    seqs = inter.to_sequences()
    assert (seqs.lengths >= 2).all() and (np.bincount(seqs.items)[1:] >= 2).all()


def test_kcore_matches_a_plain_loop(synth) -> None:  # noqa: ANN001
    inter = synth.interactions
    k = inter.kcore(20, 30)
    u, i = inter.frame["user"].to_numpy(), inter.frame["item"].to_numpy()
    keep = np.ones(len(u), bool)
    while True:
        uc = np.bincount(u[keep], minlength=u.max() + 1)
        ic = np.bincount(i[keep], minlength=i.max() + 1)
        new = keep & (uc[u] >= 20) & (ic[i] >= 30)
        if (new == keep).all():
            break
        keep = new
    assert len(k) == int(keep.sum())
    assert k.num_users == len(np.unique(u[keep])) and k.num_items == len(np.unique(i[keep]))


def test_kcore_errors() -> None:
    inter = Interactions.from_frame(frame(user=[1, 2], item=[1, 2]))
    with pytest.raises(DataError, match="removed every interaction"):
        inter.kcore(2, 2)
    with pytest.raises(ConfigError, match=r"got user=0"):
        inter.kcore(0, 1)


def test_sessionize_by_gap() -> None:
    f = frame(user=[1, 1, 1, 1, 2, 2], item=[1, 2, 3, 4, 1, 2], timestamp=[0, 10, 100, 105, 106, 500])
    inter = Interactions.from_frame(f).sessionize(30)
    assert inter.frame["session"].tolist() == [0, 0, 1, 1, 2, 3]
    sess = inter.to_sequences("session")
    assert sess.to_lists() == [[1, 2], [3, 4], [1], [2]]
    assert sess.owners.tolist() == [1, 1, 2, 2]
    with pytest.raises(ConfigError, match=r"gap must be > 0 \(got 0\)"):
        inter.sessionize(0)


def test_session_column_and_by_session_needs_it() -> None:
    f = frame(user=[1, 1, 1], item=[1, 2, 3], session=["s2", "s1", "s2"], timestamp=[3, 1, 2])
    inter = Interactions.from_frame(f)
    assert inter.to_sequences("session").to_lists() == [[3, 1], [2]]
    with pytest.raises(DataError, match="no session column"):
        Interactions.from_frame(frame(user=[1], item=[1])).to_sequences("session")
    with pytest.raises(ConfigError, match="'day'"):
        inter.to_sequences("day")  # type: ignore[arg-type]


def test_report_numbers() -> None:
    f = frame(user=["a", "a", "a", "b", "c", "c"], item=[1, 2, 1, 3, 1, 3], timestamp=[1, 1, 2, 5, 6, 7],
              event=["click", "skip", "click", "click", "like", "click"])
    r = Interactions.from_frame(f).report()
    assert r["rows"] == 6 and r["users"] == 3 and r["items"] == 3
    assert r["density"] == pytest.approx(6 / 9)
    assert r["duplicate_user_item_rows"] == 1 and r["timestamp_ties"] == 1
    assert r["seq_len_min"] == 1 and r["seq_len_max"] == 3 and r["seq_len_mean"] == 2.0
    assert r["users_with_1_interaction"] == 1 and r["users_below_3"] == 2
    assert r["events"] == {"click": 4, "like": 1, "skip": 1}
    assert r["time_min"] == 1.0 and r["time_max"] == 7.0
