"""The evaluator: hand-computed metrics (ties, K beyond the catalogue, empty histories, repeats, several targets),
list metrics, evaluate_topk, and an independent brute-force check on real data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphrec.baselines import ItemKNN, Popular
from graphrec.errors import ConfigError, DataError
from graphrec.evaluate import evaluate, evaluate_topk, rank_metrics
from graphrec.sequences import Sequences
from graphrec.split import EvalCases

N = 6  # catalogue size of the hand-made cases


class Table:
    """Scores looked up by the owner id of each history (so batching cannot reorder them)."""

    def __init__(self, rows: list[list[float]]) -> None:
        self.rows = np.asarray([[0.0, *r] for r in rows], dtype=np.float32)
        self.calls = 0

    def score(self, histories: Sequences) -> np.ndarray:
        self.calls += 1
        return self.rows[histories.owners - 1]


def cases(histories: list[list[int]], targets: list[list[int]], negatives: list[list[int]] | None = None,
          exclude: bool = True) -> EvalCases:
    h = Sequences.from_lists(histories, N)
    t = Sequences.from_lists(targets, N)
    f = None if negatives is None else Sequences.from_lists(negatives, N)
    return EvalCases(h, t, exclude, f)


# A: history [1], target 4; items 2 and 3 score higher (1 is excluded)  -> rank 3
# B: empty history, target 2 ties with 1, 3, 4, 5 and 6 is above         -> pessimistic rank 6
# C: history [3, 5], target 3 repeats a history item and stays rankable  -> rank 1
SCORES = [[10, 9, 8, 7, 1, 0], [5, 5, 5, 5, 5, 9], [7, 1, 9, 2, 8, 3]]
ABC = ([[1], [], [3, 5]], [[4], [2], [3]])
L2 = 1 / math.log2(7)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("HR@1", 1 / 3), ("HR@3", 2 / 3), ("HR@5", 2 / 3), ("HR@10", 1.0),
        ("Recall@1", 1 / 3), ("Recall@3", 2 / 3), ("Recall@10", 1.0),
        ("Precision@1", 1 / 3), ("Precision@3", 2 / 9), ("Precision@5", 2 / 15), ("Precision@10", 0.1),
        ("NDCG@1", 1 / 3), ("NDCG@3", 0.5), ("NDCG@5", 0.5), ("NDCG@10", (0.5 + L2 + 1) / 3),
        ("MRR@1", 1 / 3), ("MRR@3", 4 / 9), ("MRR@5", 4 / 9), ("MRR@10", 0.5),
    ],
)
def test_hand_computed_accuracy_metrics(key: str, value: float) -> None:
    m = evaluate(Table(SCORES), cases(*ABC), ks=(1, 3, 5, 10))
    assert m[key] == pytest.approx(value, abs=1e-12)
    assert m["num_cases"] == 3


def test_without_history_exclusion() -> None:
    # A: item 1 now ranks above the target -> rank 4; C: target 3 still first; B unchanged
    m = evaluate(Table(SCORES), cases(*ABC), ks=(3, 5), exclude_history=False)
    assert m["HR@3"] == pytest.approx(1 / 3) and m["HR@5"] == pytest.approx(2 / 3)
    assert m["MRR@5"] == pytest.approx((1 / 4 + 1) / 3)
    # the protocol default comes from the cases
    m2 = evaluate(Table(SCORES), cases(*ABC, exclude=False), ks=(3, 5))
    assert m2["MRR@5"] == m["MRR@5"]


def test_everything_tied_earns_nothing() -> None:
    m = evaluate(Table([[1.0] * N] * 3), cases([[], [], []], [[1], [3], [6]]), ks=(1, 5, 6))
    assert m["HR@5"] == 0.0 and m["MRR@5"] == 0.0
    assert m["HR@6"] == 1.0 and m["MRR@6"] == pytest.approx(1 / 6)  # the last place, for everyone


def test_repeated_target_is_excluded_only_when_not_a_target() -> None:
    # history [2, 2, 4]; targets 2 (a repeat) and 5; 4 is masked, 2 is not
    m = evaluate(Table([[1, 9, 2, 8, 7, 3]]), cases([[2, 2, 4]], [[2, 5]]), ks=(1, 2))
    assert m["Recall@1"] == 0.5 and m["Recall@2"] == 1.0  # ranks 1 and 2 because 4 (score 8) is masked


def test_multi_target_ndcg_uses_the_ideal_dcg_of_min_targets_k() -> None:
    # targets {2, 4}; ranking 2 (9), 1 (8), 4 (7), ...
    m = evaluate(Table([[8, 9, 1, 7, 0.5, 0.2]]), cases([[]], [[2, 4]]), ks=(1, 2, 3))
    idcg2 = 1 + 1 / math.log2(3)
    assert m["NDCG@1"] == pytest.approx(1.0)
    assert m["NDCG@2"] == pytest.approx(1 / idcg2)
    assert m["NDCG@3"] == pytest.approx((1 + 1 / math.log2(4)) / idcg2)
    assert m["Recall@2"] == 0.5 and m["Recall@3"] == 1.0
    assert m["Precision@3"] == pytest.approx(2 / 3) and m["HR@1"] == 1.0 and m["MRR@3"] == 1.0


def test_k_larger_than_the_catalogue() -> None:
    m = evaluate(Table([[6, 5, 4, 3, 2, 1]]), cases([[1, 2]], [[6]]), ks=(50,))
    assert m["HR@50"] == 1.0 and m["MRR@50"] == pytest.approx(1 / 4)
    assert m["Precision@50"] == pytest.approx(1 / 50)
    # the two history items are not recommendations: 4 of 6 items are covered, not 6
    assert m["Coverage@50"] == pytest.approx(4 / 6)


def test_empty_histories_are_ranked_over_everything() -> None:
    m = evaluate(Table([[1, 2, 3, 4, 5, 6]] * 2), cases([[], []], [[6], [1]]), ks=(1, 6))
    assert m["HR@1"] == 0.5 and m["MRR@6"] == pytest.approx((1 + 1 / 6) / 2)


def test_target_with_minus_inf_score_is_never_a_hit() -> None:
    m = evaluate(Table([[1, 2, 3, -np.inf, 5, 6]]), cases([[]], [[4]]), ks=(6,))
    assert m["HR@6"] == 0.0


def test_nan_scores_are_rejected() -> None:
    with pytest.raises(DataError, match="NaN"):
        evaluate(Table([[1, np.nan, 3, 4, 5, 6]]), cases([[]], [[4]]), ks=(6,))


# ---------------------------------------------------------------------- list metrics
FOUR = ([[1], [], [1], []], [[2], [6], [4], [1]])
DESC, ASC = [6, 5, 4, 3, 2, 1], [1, 2, 3, 4, 5, 6]
COUNTS = np.array([0, 3, 4, 1, 0, 2, 0])


def test_coverage_novelty_avgpop_by_hand() -> None:
    # top lists: [2, 3, ...] for the cases with history [1], [6, 5, ...] for the empty ones
    m = evaluate(Table([DESC, ASC, DESC, ASC]), cases(*FOUR), ks=(1, 2), item_counts=COUNTS)
    assert m["Coverage@1"] == pytest.approx(2 / 6) and m["Coverage@2"] == pytest.approx(4 / 6)
    # self-information -log2(max(count, 1) / num_cases): item 2 -> 0, 3 -> 2, 5 -> 1, 6 -> 2 bits
    assert m["Novelty@1"] == pytest.approx((0 + 2 + 0 + 2) / 4)
    assert m["Novelty@2"] == pytest.approx((0 + 2 + 2 + 1) * 2 / 8)
    assert m["AvgPop@1"] == pytest.approx((4 + 0 + 4 + 0) / 4)
    assert m["AvgPop@2"] == pytest.approx((4 + 1 + 0 + 2) * 2 / 8)
    assert "Novelty@1" not in evaluate(Table([DESC, ASC, DESC, ASC]), cases(*FOUR), ks=(1,))
    with pytest.raises(DataError, match="item_counts must have num_items \\+ 1 = 7 entries \\(got 3\\)"):
        evaluate(Table([DESC, ASC, DESC, ASC]), cases(*FOUR), ks=(1,), item_counts=np.ones(3))


def test_pos_neg_by_hand() -> None:
    # case 1: history [1], targets {2, 4}, later skipped 3 -> top-3 [2, 3, 4]; case 2: top-3 [6, 5, 4]
    c = cases([[1], []], [[2, 4], [6]], negatives=[[3], []])
    m = evaluate(Table([DESC, ASC]), c, ks=(1, 3))
    assert m["POS@1"] == 1.0 and m["NEG@1"] == 0.0
    assert m["POS@3"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert m["NEG@3"] == pytest.approx((1 / 3 + 0) / 2)
    assert "POS@1" not in evaluate(Table([DESC, ASC]), cases([[1], []], [[2, 4], [6]]), ks=(1,))


def test_evaluate_topk_matches_evaluate_on_the_same_lists() -> None:
    rng = np.random.default_rng(0)
    n_cases, n = 40, 30
    scores = rng.permutation(np.tile(np.arange(n, dtype=np.float32), (n_cases, 1)).T).T  # distinct per row
    hist = [rng.choice(np.arange(1, n + 1), rng.integers(0, 5), replace=False).tolist() for _ in range(n_cases)]
    targ = [rng.choice(np.arange(1, n + 1), rng.integers(1, 4), replace=False).tolist() for _ in range(n_cases)]
    h, t = Sequences.from_lists(hist, n), Sequences.from_lists(targ, n)
    c = EvalCases(h, t)
    table = Table(scores.tolist())
    counts = rng.integers(0, 50, n + 1)
    full = evaluate(table, c, ks=(1, 5, 10), item_counts=counts)
    lists = []
    for r in range(n_cases):
        s = np.concatenate([[-np.inf], scores[r]])
        s[[i for i in hist[r] if i not in targ[r]]] = -np.inf
        order = np.argsort(-s, kind="stable")
        lists.append([i if np.isfinite(s[i]) else -1 for i in order[:10]])
    topk = evaluate_topk(np.asarray(lists), c, ks=(1, 5, 10), item_counts=counts)
    for key, value in topk.items():
        assert full[key] == pytest.approx(value, abs=1e-12), key


def test_evaluate_topk_padding_and_misses() -> None:
    c = cases([[], []], [[3], [5]])
    m = evaluate_topk(np.array([[3, -1, 0], [1, 2, 0]]), c, ks=(1, 3))
    assert m["HR@1"] == 0.5 and m["HR@3"] == 0.5 and m["Coverage@3"] == pytest.approx(3 / 6)
    with pytest.raises(DataError, match=r"topk must be \[num_cases=2, L\] \(got \(3,\)\)"):
        evaluate_topk(np.array([1, 2, 3]), c)


def test_rank_metrics_directly() -> None:
    m = rank_metrics(np.array([1.0, np.inf, 2.0, 5.0]), np.array([0, 2, 4]), ks=(2,))
    # case 1 targets ranked 1 and never; case 2 ranked 2 and 5
    assert m["HR@2"] == 1.0 and m["Recall@2"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert m["MRR@2"] == pytest.approx((1 + 1 / 2) / 2)
    idcg = 1 + 1 / math.log2(3)
    assert m["NDCG@2"] == pytest.approx((1 / idcg + (1 / math.log2(3)) / idcg) / 2)
    with pytest.raises(DataError, match="at least one target"):
        rank_metrics(np.array([1.0]), np.array([0, 1, 1]), ks=(1,))


def test_batching_does_not_change_anything() -> None:
    rng = np.random.default_rng(1)
    rows = rng.random((25, N)).round(1).tolist()  # plenty of ties
    hist = [rng.choice(np.arange(1, N + 1), rng.integers(0, 3), replace=False).tolist() for _ in range(25)]
    targ = [[int(rng.integers(1, N + 1))] for _ in range(25)]
    c = EvalCases(Sequences.from_lists(hist, N), Sequences.from_lists(targ, N))
    table = Table(rows)
    a = evaluate(table, c, ks=(1, 3), batch_size=1)
    assert table.calls == 25
    b = evaluate(table, c, ks=(1, 3), batch_size=1000)
    for key in a:
        if key != "seconds" and not key.startswith("Coverage"):  # coverage depends on how ties are listed
            assert a[key] == b[key], key


def test_sampled_metrics_are_labelled_legacy() -> None:
    m = evaluate(Table(SCORES), cases(*ABC), ks=(1, 3), sampled=3, seed=0)
    assert {"sampled3_HR@1", "sampled3_NDCG@3", "sampled3_MRR@3"} <= set(m)
    assert not any(k.startswith("sampled3_Precision") for k in m)
    for k in (1, 3):
        assert m[f"sampled3_HR@{k}"] >= m[f"HR@{k}"]  # fewer competitors can only help
    assert evaluate(Table(SCORES), cases(*ABC), ks=(3,), sampled=3, seed=0)["sampled3_HR@3"] == m["sampled3_HR@3"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"ks": ()}, ConfigError, "every K must be >= 1"),
        ({"ks": (0, 5)}, ConfigError, r"got \(0, 5\)"),
        ({"batch_size": 0}, ConfigError, r"batch_size must be >= 1 \(got 0\)"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        evaluate(Table(SCORES), cases(*ABC), **kwargs)


def test_wrong_score_shape_and_no_cases() -> None:
    class Bad:
        def score(self, histories: Sequences) -> np.ndarray:
            return np.zeros((len(histories), N))

    with pytest.raises(DataError, match=r"scorer returned shape \(3, 6\), expected \(3, 7\)"):
        evaluate(Bad(), cases(*ABC))
    with pytest.raises(DataError, match="no evaluation cases"):
        evaluate(Table(SCORES), cases([], []))


# ---------------------------------------------------------------------- real data, independent computation
def brute_force(model, c: EvalCases, ks: tuple[int, ...], exclude: bool) -> dict[str, float]:  # noqa: ANN001
    """Plain loop over cases: pessimistic ranks, then the textbook definitions."""
    out = {f"{m}@{k}": 0.0 for m in ("HR", "Recall", "Precision", "NDCG", "MRR") for k in ks}
    n = len(c)
    for start in range(0, n, 256):
        chunk = c.take(np.arange(start, min(start + 256, n)))
        scores = np.asarray(model.score(chunk.histories), dtype=np.float32)
        for r in range(len(chunk)):
            s = scores[r].astype(np.float64)
            s[0] = -np.inf
            targets = chunk.targets[r].tolist()
            if exclude:
                for i in chunk.histories[r].tolist():
                    if i not in targets:
                        s[i] = -np.inf
            ranks = sorted(int(np.sum(s >= s[t])) for t in targets)
            for k in ks:
                hits = [rk for rk in ranks if rk <= k]
                idcg = sum(1 / math.log2(i + 2) for i in range(min(len(targets), k)))
                out[f"HR@{k}"] += float(bool(hits)) / n
                out[f"Recall@{k}"] += len(hits) / len(targets) / n
                out[f"Precision@{k}"] += len(hits) / k / n
                out[f"NDCG@{k}"] += sum(1 / math.log2(rk + 1) for rk in hits) / idcg / n
                out[f"MRR@{k}"] += (1 / ranks[0] if ranks[0] <= k else 0.0) / n
    return out


@pytest.mark.dataset
def test_itemknn_on_lastfm_matches_a_brute_force_loop(public) -> None:  # noqa: ANN001
    sp = public("lastfm").split()
    model = ItemKNN().fit(sp)
    ks = (1, 5, 10, 20)
    got = evaluate(model, sp.test, ks, item_counts=sp.train_full.item_counts())
    expect = brute_force(model, sp.test, ks, exclude=True)
    for key, value in expect.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key
    assert got["HR@10"] > 0.02  # a real signal, not an artefact of ties
    got_valid = evaluate(model, sp.valid, (10,), exclude_history=False)
    expect_valid = brute_force(model, sp.valid, (10,), exclude=False)
    assert got_valid["NDCG@10"] == pytest.approx(expect_valid["NDCG@10"], abs=1e-9)


@pytest.mark.dataset
def test_ml1m_every_user_is_evaluated(public) -> None:  # noqa: ANN001
    ds = public("ml-1m")
    sp = ds.split()
    model = Popular().fit(sp)
    m = evaluate(model, sp.test, (10,))
    assert m["num_cases"] == len(sp.test) == 6040
    # independent: Popular ranks by train counts; a target's rank is 1 + the unseen items counted >= it
    counts = sp.train.item_counts().astype(np.float64)
    hits, mrr = 0, 0.0
    for r in range(len(sp.test)):
        seen = np.zeros(len(counts), bool)
        seen[sp.test.histories[r]] = True
        t = int(sp.test.targets[r][0])
        seen[t] = False
        seen[0] = True
        rank = int(np.sum((counts >= counts[t]) & ~seen))
        hits += rank <= 10
        mrr += 1 / rank if rank <= 10 else 0.0
    assert m["HR@10"] == pytest.approx(hits / 6040, abs=1e-12)
    assert m["MRR@10"] == pytest.approx(mrr / 6040, abs=1e-12)


@pytest.mark.dataset
def test_session_protocol_keeps_history_items_rankable(public) -> None:  # noqa: ANN001
    sp = public("diginetica-sample").split()
    model = ItemKNN().fit(sp)
    got = evaluate(model, sp.test, (20,))
    expect = brute_force(model, sp.test, (20,), exclude=False)
    assert got["HR@20"] == pytest.approx(expect["HR@20"], abs=1e-9)
    assert got["MRR@20"] == pytest.approx(expect["MRR@20"], abs=1e-9)
