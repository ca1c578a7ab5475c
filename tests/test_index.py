"""FaissIndex: exact results against numpy brute force, approximate recall sanity, exclusions, persistence."""

from __future__ import annotations

import json
from collections.abc import Iterator

import faiss
import numpy as np
import pytest

from graphrec import Embeddings, ItemVocab, Sequences
from graphrec.errors import ArtifactError, ConfigError, DataError, UnknownIdError
from graphrec.index import FLAT_MAX_ITEMS, FaissIndex, IndexConfig, auto_index_params

N, DIM = 300, 16


@pytest.fixture(autouse=True)
def one_faiss_thread() -> Iterator[None]:
    """Tiny indexes: OpenMP only adds overhead, and on shared cores its spinning threads stall badly."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def make_embeddings(n: int = N, dim: int = DIM, ids: object = None, seed: int = 0,
                    known: np.ndarray | None = None) -> Embeddings:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n + 1, dim)).astype(np.float32)
    vectors[0] = 0.0
    vocab = ItemVocab(ids if ids is not None else [f"i{j}" for j in range(n)])
    return Embeddings(vocab, vectors, known=known)


def brute_force(vectors: np.ndarray, queries: np.ndarray, metric: str, k: int,
                exclude: list[list[int]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k item indices (1..N) and scores by numpy, rows 0 never considered."""
    x, q = vectors[1:].astype(np.float64), queries.astype(np.float64)
    if metric == "cosine":
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
    scores = -((q[:, None, :] - x[None]) ** 2).sum(-1) if metric == "l2" else q @ x.T
    if exclude is not None:
        for row, items in enumerate(exclude):
            scores[row, np.asarray(items, dtype=np.int64) - 1] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return order + 1, np.take_along_axis(scores, order, axis=1)


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(np.intersect1d(a[a > 0], b)) / len(b) for a, b in zip(found, truth, strict=True)]))


@pytest.fixture(scope="module")
def emb() -> Embeddings:
    return make_embeddings()


@pytest.fixture(scope="module")
def queries() -> np.ndarray:
    return np.random.default_rng(1).standard_normal((20, DIM)).astype(np.float32)


@pytest.mark.parametrize("metric", ["ip", "cosine", "l2"])
def test_flat_matches_numpy(emb: Embeddings, queries: np.ndarray, metric: str) -> None:
    index = FaissIndex(metric=metric, index_type="flat").fit(emb)
    items, scores = index.search(queries, 10)
    want_items, want_scores = brute_force(emb.vectors, queries, metric, 10)
    assert items.dtype == np.int32 and scores.dtype == np.float32
    np.testing.assert_array_equal(items, want_items)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("metric", ["ip", "cosine", "l2"])
def test_ivf_flat_probing_every_list_is_exact(emb: Embeddings, queries: np.ndarray, metric: str) -> None:
    index = FaissIndex(metric=metric, index_type="ivf_flat", nlist=8, nprobe=8).fit(emb)
    items, _ = index.search(queries, 10)
    np.testing.assert_array_equal(items, brute_force(emb.vectors, queries, metric, 10)[0])


def test_hnsw_and_ivf_recall_sanity() -> None:
    big = make_embeddings(n=3000, seed=2)
    q = np.random.default_rng(3).standard_normal((50, DIM)).astype(np.float32)
    truth = brute_force(big.vectors, q, "cosine", 10)[0]
    hnsw = FaissIndex(metric="cosine", index_type="hnsw", hnsw_m=16, ef_search=64).fit(big)
    ivf = FaissIndex(metric="cosine", index_type="ivf_flat", nlist=32, nprobe=8).fit(big)
    pq = FaissIndex(metric="cosine", index_type="ivf_pq", nlist=16, nprobe=16, pq_m=8, pq_nbits=6).fit(big)
    assert recall_at(hnsw.search(q, 10)[0], truth) >= 0.9
    assert recall_at(ivf.search(q, 10)[0], truth) >= 0.6
    assert recall_at(pq.search(q, 10)[0], truth) >= 0.5
    assert hnsw.params_ == {"index_type": "hnsw", "hnsw_m": 16, "ef_construction": 100, "ef_search": 64}


def test_calibration_picks_search_params_or_falls_back_to_exact(monkeypatch: pytest.MonkeyPatch,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(6)
    centres = rng.standard_normal((30, DIM)).astype(np.float32) * 3
    clustered = make_embeddings(n=3000, seed=6)
    clustered.vectors[1:] += centres[rng.integers(0, 30, 3000)]
    q = clustered.vectors[1:][rng.choice(3000, 100, replace=False)] + 0.1
    truth = brute_force(clustered.vectors, q, "cosine", 50)[0]
    ivf = FaissIndex(metric="cosine", index_type="ivf_flat", nlist=128).fit(clustered)
    assert ivf.params_["calibrated_recall"] >= 0.98 and 1 < ivf.params_["nprobe"] <= 32
    assert recall_at(ivf.search(q, 50)[0], truth) >= 0.95
    hnsw = FaissIndex(metric="cosine", index_type="hnsw", hnsw_m=8).fit(clustered)
    assert hnsw.params_["calibrated_recall"] >= 0.98 and hnsw.params_["ef_search"] >= 64
    monkeypatch.setattr("graphrec.index_config.FLAT_MAX_ITEMS", 1000)
    structureless = make_embeddings(n=3000, dim=64, seed=7)
    auto = FaissIndex(metric="cosine").fit(structureless)  # IVF cannot reach 0.98 here: exact search instead
    assert auto.params_["index_type"] == "flat" and auto.params_["fallback_from"]["index_type"] == "ivf_flat"
    assert "using exact search instead" in caplog.text
    q64 = rng.standard_normal((5, 64)).astype(np.float32)
    np.testing.assert_array_equal(auto.search(q64, 10)[0], brute_force(structureless.vectors, q64, "cosine", 10)[0])
    assert "calibrated_recall" not in FaissIndex(index_type="ivf_flat", nprobe=4, nlist=64).fit(structureless).params_


def test_cosine_leaves_caller_arrays_unchanged(emb: Embeddings, queries: np.ndarray) -> None:
    vectors_before, queries_before = emb.vectors.copy(), queries.copy()
    index = FaissIndex(metric="cosine").fit(emb)
    index.search(queries, 5)
    index.search_items(["i1"], 5)
    np.testing.assert_array_equal(emb.vectors, vectors_before)
    np.testing.assert_array_equal(queries, queries_before)


def test_k_is_clamped_to_the_catalogue_and_padding_is_never_returned(queries: np.ndarray) -> None:
    e = make_embeddings(n=40)
    e.vectors[0] = 100.0  # a padding row that would win every inner product if it were indexed
    index = FaissIndex(metric="ip").fit(e)
    items, scores = index.search(queries, 1000)
    assert items.shape == scores.shape == (len(queries), 40)
    assert (items >= 1).all() and np.isfinite(scores).all()
    assert all(sorted(row) == list(range(1, 41)) for row in items.tolist())
    items, scores = index.search(queries, 1000, exclude=[[1, 2, 3]] * len(queries))
    assert (items[:, -3:] == -1).all() and np.isneginf(scores[:, -3:]).all()
    assert not np.isin(items, [0, 1, 2, 3]).any()


def test_unknown_rows_are_not_indexed_unless_asked(queries: np.ndarray) -> None:
    known = np.ones(N + 1, dtype=bool)
    known[[5, 6, 7]] = False
    e = make_embeddings(known=known)
    index = FaissIndex(metric="l2").fit(e)
    assert len(index) == N - 3
    items, _ = index.search(queries, N)
    assert items.shape == (len(queries), N - 3) and not np.isin(items, [0, 5, 6, 7]).any()
    assert len(FaissIndex(metric="l2", include_unknown=True).fit(e)) == N


def test_exclude_layouts_agree_with_brute_force(emb: Embeddings, queries: np.ndarray) -> None:
    rng = np.random.default_rng(4)
    lists = [rng.choice(np.arange(1, N + 1), size=int(rng.integers(0, 60)), replace=False).tolist()
             for _ in range(len(queries))]
    lists[0] = list(range(1, N - 4))  # leaves only 5 candidates for k = 10
    index = FaissIndex(metric="cosine", index_type="flat").fit(emb)
    seqs = Sequences.from_lists(lists, num_items=N)
    csr = (seqs.offsets, seqs.items)
    by_list, by_seqs, by_csr = (index.search(queries, 10, exclude=x)[0] for x in (lists, seqs, csr))
    np.testing.assert_array_equal(by_list, by_seqs)
    np.testing.assert_array_equal(by_list, by_csr)
    want = brute_force(emb.vectors, queries, "cosine", 10, exclude=lists)[0]
    np.testing.assert_array_equal(by_list[1:], want[1:])
    np.testing.assert_array_equal(by_list[0, :5], want[0, :5])
    assert (by_list[0, 5:] == -1).all()
    for row, items in zip(by_list, lists, strict=True):
        assert not np.isin(row, items).any()


def test_ivf_probes_more_lists_when_exclusions_are_large(emb: Embeddings, queries: np.ndarray) -> None:
    index = FaissIndex(metric="cosine", index_type="ivf_flat", nlist=8, nprobe=1).fit(emb)
    seen = [list(range(1, 151))] * len(queries)  # more than a whole list (~38 items) of candidates
    items, _ = index.search(queries, 20, exclude=seen)
    assert (items > 150).all()


def test_exclude_bad_layouts(emb: Embeddings, queries: np.ndarray) -> None:
    index = FaissIndex(index_type="flat").fit(emb)
    with pytest.raises(DataError, match="2 rows for 20 queries"):
        index.search(queries, 5, exclude=[[1], [2]])
    with pytest.raises(DataError, match="outside 0..300"):
        index.search(queries[:1], 5, exclude=[[301]])
    with pytest.raises(DataError, match="offsets"):
        index.search(queries[:2], 5, exclude=(np.array([0, 2, 1]), np.array([1])))


def test_multi_interest_merge_deduplicates(emb: Embeddings) -> None:
    rng = np.random.default_rng(5)
    base = rng.standard_normal((4, DIM)).astype(np.float32)
    # interests 0 and 1 of each user are near-duplicates, so their result lists overlap heavily
    multi = np.stack([base, base + 0.01, rng.standard_normal((4, DIM)).astype(np.float32)], axis=1)
    index = FaissIndex(metric="ip", index_type="flat").fit(emb)
    items, scores = index.search_multi(multi, 15)
    x = emb.vectors[1:]
    best = np.max(np.einsum("bid,nd->bin", multi, x), axis=1)  # max over interests
    want = np.argsort(-best, axis=1, kind="stable")[:, :15] + 1
    np.testing.assert_array_equal(items, want)
    np.testing.assert_allclose(scores, np.take_along_axis(best, want - 1, axis=1), rtol=1e-4, atol=1e-4)
    assert all(len(set(row)) == 15 for row in items.tolist())
    ragged = [multi[0], multi[1, :1], np.zeros((0, DIM), np.float32)]
    items_r, scores_r = index.search_multi(ragged, 15, exclude=[[int(want[0, 0])], [], []])
    want16 = np.argsort(-best[0], kind="stable")[:16] + 1
    np.testing.assert_array_equal(items_r[0], want16[1:])
    assert int(want[0, 0]) not in items_r[0] and (items_r[2] == -1).all() and np.isneginf(scores_r[2]).all()
    np.testing.assert_array_equal(items_r[1], index.search(multi[1, :1], 15)[0][0])


def test_search_items_external_ids_strings_and_huge_int64() -> None:
    huge = np.array([2**63 - 1, -(2**63), 2**62 + 7, 0, 1234567890123456789] + list(range(10, 45)),
                    dtype=np.int64)
    e = make_embeddings(n=len(huge), ids=huge)
    index = FaissIndex(metric="cosine").fit(e)
    frame = index.search_items([2**63 - 1, -(2**63)], 5)
    assert frame["item"].dtype == np.int64 and frame["query"].dtype == np.int64
    want = brute_force(e.vectors, e.vectors[[1, 2]], "cosine", 6, exclude=[[1], [2]])[0][:, :5]
    assert frame["item"].tolist() == huge[want.ravel() - 1].tolist()
    assert frame["rank"].tolist() == [1, 2, 3, 4, 5] * 2
    assert 2**63 - 1 not in frame.loc[frame["query"] == 2**63 - 1, "item"].tolist()
    strings = FaissIndex(metric="l2").fit(make_embeddings(n=30, ids=[f"item-{j}" for j in range(30)]))
    out = strings.search_items(["item-3"], 3, exclude_self=False)
    assert out["item"].tolist()[0] == "item-3" and out["query"].tolist() == ["item-3"] * 3


def test_search_items_unknown_ids(emb: Embeddings) -> None:
    index = FaissIndex().fit(emb)
    with pytest.raises(UnknownIdError, match="nope"):
        index.search_items(["i1", "nope"], 3)
    frame = index.search_items(["i1", "nope", "i2"], 3, unknown="skip")
    assert frame["query"].unique().tolist() == ["i1", "i2"]
    with pytest.raises(ValueError, match="'error' or 'skip'"):
        index.search_items(["i1"], 3, unknown="pad")


@pytest.mark.parametrize("index_type", ["flat", "hnsw", "ivf_flat", "ivf_pq"])
def test_save_load_round_trip(tmp_path, emb: Embeddings, queries: np.ndarray, index_type: str) -> None:
    params = {"nlist": 4, "nprobe": 2, "pq_m": 4, "pq_nbits": 4} if index_type.startswith("ivf") else {}
    index = FaissIndex(metric="cosine", index_type=index_type, ef_search=32, **params).fit(emb)
    before = index.search(queries, 7, exclude=[[1, 2]] * len(queries))
    index.save(tmp_path / "ix")
    meta = json.loads((tmp_path / "ix" / "index.json").read_text())
    assert meta["format_version"] == 1 and meta["metric"] == "cosine" and meta["index_type"] == index_type
    loaded = FaissIndex.load(tmp_path / "ix")
    after = loaded.search(queries, 7, exclude=[[1, 2]] * len(queries))
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_allclose(before[1], after[1], rtol=1e-5)
    assert loaded.params_ == index.params_ and loaded.vocab_ == emb.vocab
    if index_type != "ivf_pq":  # reconstructed vectors are exact except for PQ codes
        want = index.search_items(["i3", "i4"], 5)
        got = loaded.search_items(["i3", "i4"], 5)
        assert got["item"].tolist() == want["item"].tolist()


def test_load_rejects_missing_truncated_and_future_files(tmp_path, emb: Embeddings) -> None:
    FaissIndex(index_type="flat").fit(emb).save(tmp_path / "ix")
    path = tmp_path / "ix" / "index.faiss"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="truncated"):
        FaissIndex.load(tmp_path / "ix")
    meta_path = tmp_path / "ix" / "index.json"
    meta = json.loads(meta_path.read_text())
    meta["index_bytes"] = len(data) // 2  # a truncated file that the size check cannot catch
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="cannot read"):
        FaissIndex.load(tmp_path / "ix")
    path.unlink()
    with pytest.raises(ArtifactError, match="missing file"):
        FaissIndex.load(tmp_path / "ix")
    meta["format_version"] = 99
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="format version 99"):
        FaissIndex.load(tmp_path / "ix")
    meta_path.unlink()
    with pytest.raises(ArtifactError, match="missing file"):
        FaissIndex.load(tmp_path / "ix")


def test_bad_input_matrix(emb: Embeddings, queries: np.ndarray) -> None:
    with pytest.raises(ConfigError, match="did you mean 'metric'"):
        FaissIndex(metrc="ip")
    with pytest.raises(ConfigError, match="did you mean 'cosine'"):
        FaissIndex(metric="cosin").fit(emb)
    with pytest.raises(ConfigError, match="nlist=512"):
        FaissIndex(index_type="ivf_flat", nlist=512).fit(emb)
    with pytest.raises(ConfigError, match="pq_m must divide"):
        FaissIndex(index_type="ivf_pq", pq_m=5).fit(emb)
    with pytest.raises(ConfigError, match="hnsw_m must be"):
        FaissIndex(hnsw_m=0).fit(emb)
    with pytest.raises(ConfigError, match="not built"):
        FaissIndex().search(queries, 3)
    index = FaissIndex().fit(emb)
    for k in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="k must be"):
            index.search(queries, k)
    with pytest.raises(DataError, match=r"\[batch, 16\]"):
        index.search(queries[:, :8], 3)
    bad = queries.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        index.search(bad, 3)
    with pytest.raises(DataError, match="no item vector"):
        FaissIndex().fit(make_embeddings(n=5, known=np.zeros(6, dtype=bool)))


def test_auto_rule_and_thread_count(emb: Embeddings, queries: np.ndarray) -> None:
    assert auto_index_params(FLAT_MAX_ITEMS, 64)["index_type"] == "flat"
    big = auto_index_params(FLAT_MAX_ITEMS + 1, 64)
    assert big["index_type"] != "flat"
    assert auto_index_params(10**6, 64, IndexConfig(index_type="ivf_pq")) == {
        "index_type": "ivf_pq", "nlist": 4096, "nprobe": 16, "pq_m": 16, "pq_nbits": 8}
    assert auto_index_params(10**6, 64) == {"index_type": "ivf_flat", "nlist": 4096, "nprobe": 16}
    one = FaissIndex(num_threads=1).fit(emb).search(queries, 10)
    two = FaissIndex(num_threads=2).fit(emb).search(queries, 10)
    np.testing.assert_array_equal(one[0], two[0])
    batched = FaissIndex(batch_size=3).fit(emb).search(queries, 10)
    np.testing.assert_array_equal(one[0], batched[0])


def test_split_modules_keep_the_old_import_paths() -> None:
    import subprocess
    import sys

    import graphrec.index as index
    import graphrec.index_config as index_config
    import graphrec.results as results

    assert index.IndexConfig is index_config.IndexConfig and index.auto_index_params is index_config.auto_index_params
    assert index.results_frame is results.results_frame and index.FLAT_MAX_ITEMS == index_config.FLAT_MAX_ITEMS
    code = "import sys, graphrec.index_config, graphrec.results; print('faiss' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"  # index parameters and result frames do not need Faiss
