"""ItemVocab / UserVocab: external ids of any kind <-> 1..N (0 = padding), unknown-id policies, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec.errors import ArtifactError, DataError, UnknownIdError
from graphrec.vocab import PAD, ItemVocab, UserVocab, Vocab

BIG_INT64 = [2**63 - 1, -(2**63), 2**63 - 2, 0, 7]
BIG_UINT64 = np.array([2**64 - 1, 2**63, 2**63 + 12345, 5], dtype=np.uint64)


def test_padding_is_zero_and_indices_are_contiguous() -> None:
    v = ItemVocab(["b", "a", "c"])
    assert PAD == 0
    assert v.size == len(v) == 3
    assert v.encode(["b", "a", "c"]).tolist() == [1, 2, 3]
    assert v.decode([3, 1]).tolist() == ["c", "b"]
    assert "a" in v and "z" not in v


def test_from_values_orders_by_first_appearance_and_returns_codes() -> None:
    v, codes = ItemVocab.from_values(["x", "y", "x", "z", "y"])
    assert v.ids.tolist() == ["x", "y", "z"]
    assert codes.dtype == np.int32
    assert codes.tolist() == [1, 2, 1, 3, 2]


@pytest.mark.parametrize("ids", [["song-é", "ünïcode", "a b", ""], BIG_INT64], ids=["strings", "int64-extremes"])
def test_round_trip_encode_decode(ids: list) -> None:
    v = ItemVocab(ids)
    idx = v.encode(ids)
    assert idx.tolist() == list(range(1, len(ids) + 1))
    assert v.decode(idx).tolist() == ids


def test_int64_near_2_63_are_not_used_as_array_sizes() -> None:
    v = ItemVocab(BIG_INT64)
    assert v.ids.dtype == np.int64
    assert v.encode([2**63 - 1])[0] == 1
    assert v.encode([-(2**63)])[0] == 2
    # strings from a command line match integer ids
    assert v.encode(["9223372036854775807", "7"]).tolist() == [1, 5]


def test_uint64_above_int64_round_trip(tmp_path) -> None:
    v = ItemVocab(BIG_UINT64)
    assert v.encode(BIG_UINT64).tolist() == [1, 2, 3, 4]
    assert v.encode([2**64 - 1, 5]).tolist() == [1, 4]
    assert [int(x) for x in v.decode([1, 2, 3, 4])] == [int(x) for x in BIG_UINT64]
    assert v.encode(["18446744073709551615"]).tolist() == [1]  # as typed on a command line
    v.save(tmp_path / "v.npz")
    w = ItemVocab.load(tmp_path / "v.npz")
    assert w == v
    assert w.encode([2**64 - 1, 2**63]).tolist() == [1, 2]
    assert [int(x) for x in w.decode([1, 2, 3, 4])] == [int(x) for x in BIG_UINT64]


@pytest.mark.parametrize("ids", [["a", "b", "é"], BIG_INT64, list(range(1, 50))], ids=["str", "int64", "small"])
def test_save_load_round_trip(tmp_path, ids: list) -> None:
    v = UserVocab(ids)
    path = v.save(tmp_path / "users.npz")
    w = UserVocab.load(path)
    assert w == v
    assert w.ids.tolist() == ids
    assert w.encode(ids).tolist() == v.encode(ids).tolist()


def test_saved_file_has_no_pickle(tmp_path) -> None:
    ItemVocab(["a", "b"]).save(tmp_path / "v.npz")
    with np.load(tmp_path / "v.npz", allow_pickle=False) as z:
        for name in z.files:
            assert z[name].dtype != object


def test_unknown_error_names_the_id() -> None:
    v = ItemVocab(["a", "b"])
    with pytest.raises(UnknownIdError, match="'zz'") as info:
        v.encode(["a", "zz"])
    assert isinstance(info.value, KeyError)  # also catchable as KeyError
    assert "1 of 2" in str(info.value)


def test_unknown_skip_and_pad() -> None:
    v = ItemVocab(["a", "b", "c"])
    assert v.encode(["c", "zz", "a"], unknown="skip").tolist() == [3, 1]
    assert v.encode(["c", "zz", "a"], unknown="pad").tolist() == [3, 0, 1]
    assert v.encode(["zz"], unknown="skip").tolist() == []


def test_unknown_policy_is_validated() -> None:
    v = ItemVocab(["a"])
    with pytest.raises(ValueError, match="'drop'"):
        v.encode(["zz"], unknown="drop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'drop'"):
        v.encode(["a"], unknown="drop")  # type: ignore[arg-type]


def test_non_integer_strings_against_int_vocab_are_unknown_not_crashes() -> None:
    v = ItemVocab([1, 2, 3])
    with pytest.raises(UnknownIdError, match="1.5"):
        v.encode(["1.5"])
    assert v.encode(["2", "1.5", "abc", "3"], unknown="skip").tolist() == [2, 3]


def test_membership_matches_like_encode() -> None:
    v = ItemVocab([5, 6, 2**63 - 1])
    assert 5 in v and "5" in v and str(2**63 - 1) in v
    assert "x" not in v and 7 not in v and None not in v and 1.5 not in v
    w = ItemVocab(["a", "10"])
    assert 10 in w and "a" in w and "b" not in w


def test_int_queries_match_string_vocab() -> None:
    v = ItemVocab(["10", "20"])
    assert v.encode(np.array([20, 10])).tolist() == [2, 1]


def test_decode_rejects_padding_and_out_of_range() -> None:
    v = ItemVocab(["a", "b"])
    with pytest.raises(UnknownIdError, match="index 0"):
        v.decode([0])
    with pytest.raises(UnknownIdError, match="index 3 is outside 1..2"):
        v.decode([1, 3])


def test_duplicates_and_nulls_are_rejected() -> None:
    with pytest.raises(DataError, match="first duplicate: 'a'"):
        Vocab(["a", "b", "a"])
    with pytest.raises(DataError, match="null"):
        Vocab(np.array([1.0, np.nan]))
    with pytest.raises(DataError, match="null ids"):
        ItemVocab.from_values(np.array(["a", None], dtype=object))


def test_float_integral_ids_become_int64() -> None:
    v = ItemVocab(np.array([3.0, 1.0]))
    assert v.ids.dtype == np.int64
    assert v.encode([1]).tolist() == [2]


def test_load_rejects_bad_files(tmp_path) -> None:
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ArtifactError, match="junk.npz"):
        ItemVocab.load(tmp_path / "junk.npz")
    ItemVocab(["a", "b"]).save(tmp_path / "v.npz")
    data = (tmp_path / "v.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="cut.npz"):
        ItemVocab.load(tmp_path / "cut.npz")
    with pytest.raises(ArtifactError, match="missing.npz"):
        ItemVocab.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "v9.npz", kind=np.array("item"), version=np.array(9), str_ids=np.array(["a"]))
    with pytest.raises(ArtifactError, match="version 9"):
        ItemVocab.load(tmp_path / "v9.npz")
