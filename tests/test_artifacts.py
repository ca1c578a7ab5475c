"""Artifacts: atomic run directories, JSON helpers, environment records, and the Embeddings bundle on disk."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from graphrec.artifacts import FORMAT_VERSION, atomic_dir, environment, file_md5, read_json, write_json
from graphrec.embeddings import Embeddings
from graphrec.errors import ArtifactError, DataError
from graphrec.vocab import ItemVocab


def _leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def test_atomic_dir_creates_target_on_success(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "a"
    with atomic_dir(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        assert not target.exists()  # nothing visible until the block succeeds
        (tmp / "x.txt").write_text("new")
    assert (target / "x.txt").read_text() == "new"
    assert _leftovers(target.parent, "a") == []


def test_atomic_dir_replaces_existing_target(tmp_path: Path) -> None:
    target = tmp_path / "a"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert _leftovers(tmp_path, "a") == []


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failed_write_keeps_the_old_target_intact(tmp_path: Path, exc: BaseException) -> None:
    target = tmp_path / "a"
    target.mkdir()
    (target / "model.npy").write_text("old weights")
    with pytest.raises(type(exc)):
        with atomic_dir(target) as tmp:
            (tmp / "model.npy").write_text("half")
            raise exc
    assert sorted(p.name for p in target.iterdir()) == ["model.npy"]
    assert (target / "model.npy").read_text() == "old weights"
    assert _leftovers(tmp_path, "a") == []


def test_failed_first_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no"):
        with atomic_dir(tmp_path / "fresh") as tmp:
            (tmp / "part").write_text("x")
            raise ValueError("no")
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_without_overwrite(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    with pytest.raises(ArtifactError, match="exists"):
        with atomic_dir(tmp_path / "a", overwrite=False):
            pass


def test_json_helpers(tmp_path: Path) -> None:
    obj = {"a": np.float32(0.5), "b": np.arange(3), "c": tmp_path, "d": np.int64(7), "e": "é"}
    write_json(tmp_path / "m.json", obj)
    assert read_json(tmp_path / "m.json") == {"a": 0.5, "b": [0, 1, 2], "c": str(tmp_path), "d": 7, "e": "é"}
    assert _leftovers(tmp_path, "m.json") == []
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        write_json(tmp_path / "x.json", {"x": object()})
    with pytest.raises(ArtifactError, match="missing file"):
        read_json(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(ArtifactError, match="bad.json is not valid JSON"):
        read_json(tmp_path / "bad.json")


def test_file_md5(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000
    (tmp_path / "f").write_bytes(data)
    assert file_md5(tmp_path / "f", chunk=1000) == hashlib.md5(data).hexdigest()


def test_environment_record() -> None:
    env = environment(seed=3, data_hash="abc")
    assert env["seed"] == 3 and env["data_hash"] == "abc" and env["format_version"] == FORMAT_VERSION
    assert {"numpy", "torch", "scipy"} <= set(env["versions"])
    json.dumps(env)  # serialisable as is


# ---------------------------------------------------------------------- Embeddings bundle
def _emb(ids: list) -> Embeddings:  # noqa: ANN001
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(ids) + 1, 4)).astype(np.float32)
    vectors[0] = 0
    known = np.ones(len(ids) + 1, bool)
    known[0] = False
    return Embeddings(ItemVocab(ids), vectors, {"model": "test"}, known)


@pytest.mark.parametrize("ids", [["a", "b", "c"], [2**63 - 1, 5, 6]], ids=["str", "int64"])
def test_embeddings_round_trip(tmp_path: Path, ids: list) -> None:
    e = _emb(ids)
    e.save(tmp_path / "emb")
    f = Embeddings.load(tmp_path / "emb")
    np.testing.assert_array_equal(f.vectors, e.vectors)
    np.testing.assert_array_equal(f.known, e.known)
    assert f.vocab == e.vocab and f.config == {"model": "test"} and f.dim == 4
    np.testing.assert_array_equal(f.vector(ids[1]), e.vectors[2])


def test_embeddings_validation_and_bad_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"vectors must be \[num_items \+ 1 = 3, dim\] \(got \(2, 4\)\)"):
        Embeddings(ItemVocab(["a", "b"]), np.zeros((2, 4)))
    with pytest.raises(DataError, match="NaN or inf"):
        Embeddings(ItemVocab(["a"]), np.array([[0.0], [np.nan]]))
    _emb(["a", "b"]).save(tmp_path / "emb")
    data = (tmp_path / "emb" / "embeddings.npy").read_bytes()
    (tmp_path / "emb" / "embeddings.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="embeddings.npy"):
        Embeddings.load(tmp_path / "emb")
    with pytest.raises(ArtifactError, match="missing file"):
        Embeddings.load(tmp_path / "nowhere")


def test_word2vec_export(tmp_path: Path) -> None:
    e = _emb(["a", "b", "c"])
    e.save_word2vec_format(tmp_path / "v.txt")
    lines = (tmp_path / "v.txt").read_text().splitlines()
    assert lines[0] == "3 4"
    assert [ln.split()[0] for ln in lines[1:]] == ["a", "b", "c"]
    np.testing.assert_allclose([float(x) for x in lines[2].split()[1:]], e.vectors[2], rtol=1e-5)
