"""recall_items / recall_users / write_recall against hand-made and brute-force answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
import pandas as pd
import pytest

from graphrec import Embeddings, ItemVocab, Sequences
from graphrec.errors import DataError, UnknownIdError
from graphrec.index import FaissIndex
from graphrec.recall import recall_items, recall_users, to_records, write_recall

N, DIM = 200, 8


@pytest.fixture(autouse=True)
def one_faiss_thread() -> Iterator[None]:
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


@pytest.fixture(scope="module")
def emb() -> Embeddings:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((N + 1, DIM)).astype(np.float32)
    vectors[0] = 0
    return Embeddings(ItemVocab([f"m{j}" for j in range(N)]), vectors)


def top_items(emb: Embeddings, query: np.ndarray, k: int, exclude: list[int], metric: str = "ip") -> list[str]:
    x = emb.vectors[1:].astype(np.float64)
    q = query.astype(np.float64)
    if metric == "cosine":
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        q = q / np.linalg.norm(q)
    s = x @ q
    s[np.asarray(exclude, dtype=np.int64) - 1] = -np.inf
    return [f"m{j}" for j in np.argsort(-s, kind="stable")[:k]]


def test_recall_items_from_embeddings_uses_cosine_and_excludes_self(emb: Embeddings) -> None:
    frame = recall_items(emb, ["m3", "m7"], k=5)
    assert list(frame.columns) == ["query", "rank", "item", "score"]
    for q in (3, 7):
        got = frame.loc[frame["query"] == f"m{q}", "item"].tolist()
        assert got == top_items(emb, emb.vectors[q + 1], 5, [q + 1], metric="cosine")
    with_self = recall_items(emb, ["m3"], k=1, exclude_self=False)
    assert with_self["item"].tolist() == ["m3"]
    assert recall_items(emb, ["m3"], k=500)["rank"].max() == N - 1


def test_recall_items_unknown_policy(emb: Embeddings) -> None:
    index = FaissIndex(metric="ip").fit(emb)
    with pytest.raises(UnknownIdError, match="ghost"):
        recall_items(index, ["m1", "ghost"], k=3)
    frame = recall_items(index, ["ghost", "m1"], k=3, unknown="skip")
    assert frame["query"].tolist() == ["m1"] * 3
    with pytest.raises(ValueError, match="only when building"):
        recall_items(index, ["m1"], k=3, metric="l2")


@pytest.mark.parametrize("pooling", ["mean", "last", "mean_recent"])
def test_recall_users_from_histories(emb: Embeddings, pooling: str) -> None:
    index = FaissIndex(metric="ip", index_type="flat").fit(emb)
    histories = [["m1", "m2", "m3", "m4"], ["m10"], ["m5", "m6"]]
    frame = recall_users(index, histories=histories, pooling=pooling, num_recent=2, k=6, query_ids=["u1", "u2", "u3"])
    for user, hist in zip(["u1", "u2", "u3"], histories, strict=True):
        idx = [int(h[1:]) + 1 for h in hist]
        chosen = {"mean": idx, "last": idx[-1:], "mean_recent": idx[-2:]}[pooling]
        want = top_items(emb, emb.vectors[chosen].mean(axis=0), 6, idx)
        assert frame.loc[frame["query"] == user, "item"].tolist() == want
        assert not set(hist) & set(frame.loc[frame["query"] == user, "item"])


def test_recall_users_unknown_ids_and_empty_histories(emb: Embeddings, caplog: pytest.LogCaptureFixture) -> None:
    index = FaissIndex(metric="cosine").fit(emb)
    with pytest.raises(UnknownIdError, match=r"'zzz' in the history of user 'bob'"):
        recall_users(index, histories=[["m1"], ["m2", "zzz"]], query_ids=["ann", "bob"])
    frame = recall_users(index, histories=[["m1", "zzz"], ["zzz"], []], unknown="skip", k=4)
    assert frame["query"].unique().tolist() == [0]
    assert "2 of 3 users have no history item" in caplog.text
    same = recall_users(index, histories=[["m1"]], k=4)
    pd.testing.assert_frame_equal(frame, same)


def test_recall_users_with_vectors_and_multi_interest(emb: Embeddings) -> None:
    index = FaissIndex(metric="ip", index_type="flat").fit(emb)
    rng = np.random.default_rng(1)
    users = rng.standard_normal((3, DIM)).astype(np.float32)
    frame = recall_users(index, users, histories=[["m0"], [], ["m1"]], k=4)
    assert frame.loc[frame["query"] == 0, "item"].tolist() == top_items(emb, users[0], 4, [1])
    assert frame.loc[frame["query"] == 1, "item"].tolist() == top_items(emb, users[1], 4, [])
    no_exclusion = recall_users(index, list(users), histories=[["m0"], [], ["m1"]], exclude_seen=False, k=4)
    assert no_exclusion.loc[no_exclusion["query"] == 0, "item"].tolist() == top_items(emb, users[0], 4, [])
    multi = rng.standard_normal((2, 3, DIM)).astype(np.float32)
    frame = recall_users(index, multi, k=5, query_ids=["a", "b"])
    best = np.max(np.einsum("bid,nd->bin", multi, emb.vectors[1:]), axis=1)
    assert frame.loc[frame["query"] == "a", "item"].tolist() == [f"m{j}" for j in np.argsort(-best[0])[:5]]
    assert frame.groupby("query")["item"].nunique().tolist() == [5, 5]
    with pytest.raises(DataError, match="needs query_vectors or histories"):
        recall_users(index)
    with pytest.raises(DataError, match="query_ids has 1 entries for 3 users"):
        recall_users(index, users, query_ids=["x"])


def test_recall_users_after_load_without_embeddings(tmp_path: Path, emb: Embeddings) -> None:
    index = FaissIndex(metric="cosine", index_type="flat").fit(emb)
    want = recall_users(index, histories=[["m1", "m9"], ["m4"]], k=5)
    index.save(tmp_path / "ix")
    loaded = FaissIndex.load(tmp_path / "ix")  # history vectors are reconstructed from the index
    got = recall_users(loaded, histories=[["m1", "m9"], ["m4"]], k=5)
    assert got["item"].tolist() == want["item"].tolist()
    np.testing.assert_allclose(got["score"], want["score"], rtol=1e-5)


@pytest.mark.parametrize("suffix", [".parquet", ".json", ".jsonl"])
def test_write_recall_round_trip(tmp_path: Path, suffix: str) -> None:
    huge = np.array([2**63 - 1, 5, -(2**63)] + list(range(10, 30)), dtype=np.int64)
    rng = np.random.default_rng(2)
    e = Embeddings(ItemVocab(huge), rng.standard_normal((len(huge) + 1, DIM)).astype(np.float32))
    frame = recall_items(e, [2**63 - 1, 5, 2**63 - 1], k=3)
    path = write_recall(frame, tmp_path / "out" / f"recall{suffix}")
    assert sorted(p.name for p in path.parent.iterdir()) == [f"recall{suffix}"]  # no temporary file left
    if suffix == ".parquet":
        back = pd.read_parquet(path)
        assert back["item"].tolist() == frame["item"].tolist() and back["item"].dtype == np.int64
    else:
        text = path.read_text()
        records = json.loads(text) if suffix == ".json" else [json.loads(line) for line in text.splitlines()]
        assert records == to_records(frame) and len(records) == 3  # repeated query ids stay separate blocks
        assert records[0]["query"] == 2**63 - 1 and all(isinstance(x, int) for x in records[0]["items"])
    with pytest.raises(ValueError, match="cannot tell the output format"):
        write_recall(frame, tmp_path / "recall.csv")


# ---------------------------------------------------------------------- graphrec recall (recall_cli)
def test_recall_cli_answers_from_the_index_as_the_model_scores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               vector_model) -> None:  # noqa: ANN001
    from graphrec.recall_cli import run_recall

    model = vector_model()
    index = model.build_index(index_type="flat")
    index.save(tmp_path / "index")
    monkeypatch.setattr("graphrec.recall_cli.load_model", lambda _: model)
    full_scores = model.score
    monkeypatch.setattr(model, "score", lambda h: pytest.fail("the index path must not score exactly"))
    items = run_recall(tmp_path, ["m3", "nope"], None, None, 4, unknown="skip")
    pd.testing.assert_frame_equal(items, recall_items(index, ["m3"], k=4))
    hist = run_recall(tmp_path, [], "m1,m9", None, 5)
    assert hist["query"].tolist() == ["m1,m9"] * 5 and hist["rank"].tolist() == [1, 2, 3, 4, 5]
    s = full_scores(Sequences.from_lists([model.vocab_.encode(["m1", "m9"]).tolist()], N))[0]
    s[0] = -np.inf
    s[model.vocab_.encode(["m1", "m9"])] = -np.inf
    assert hist["item"].tolist() == model.vocab_.decode(np.argsort(-s, kind="stable")[:5]).tolist()
    with pytest.raises(UnknownIdError, match="'nope'"):
        run_recall(tmp_path, [], "m1,nope", None, 5)


def test_package_exports_faiss_names_lazily() -> None:
    import subprocess
    import sys

    import graphrec
    import graphrec.index
    import graphrec.recall

    assert graphrec.FaissIndex is graphrec.index.FaissIndex and graphrec.recall_users is graphrec.recall.recall_users
    assert {"FaissIndex", "recall_items", "recall_users"} <= set(dir(graphrec)) & set(graphrec.__all__)
    with pytest.raises(AttributeError, match="no attribute 'FaissIndx'"):
        graphrec.FaissIndx  # noqa: B018
    code = ("import sys, graphrec; heavy = [m for m in ('faiss', 'torch', 'graphrec.index') if m in sys.modules]; "
            "from graphrec import recall_items; print(heavy, 'faiss' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] True"  # import graphrec stays light; the first use imports Faiss
