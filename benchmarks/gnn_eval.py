"""Evaluation tables of the GNN recommenders -> benchmarks/results/gnn_<task>.{md,json}.

Tasks (``--task``):

* ``recall``: next-item recall (full ranking, shared evaluator, last item as query) on the test cases, beside
  item-KNN, popularity and DeepWalk, plus link-prediction AUC: for every test case, the score of (last history
  item, held-out next item) against (last history item, a uniformly drawn other item).
* ``cold``: inductive recall on synthetic data: 10% of the items lose every training event (their vectors come
  from side information only); test cases whose target is such an item are ranked among those items.
* ``ablation``: EdgeGNN with and without its edge attributes (zeroed), and the transformer variant.
* ``timing``: seconds per GraphSAGE epoch on the ML-1M item graph, one row per aggregator: wall seconds and the
  process CPU seconds (what the epoch costs on an idle core; the wall time includes waiting for shared cores).

    nice .venv/bin/python benchmarks/gnn_eval.py --task recall --datasets beauty lastfm --threads 1
    nice .venv/bin/python benchmarks/gnn_eval.py --task recall --models graphsage --set graphsage.epochs=5

Models with early stopping are fitted on train (validation drives the stop); the baselines without it are
refitted on train + validation (the ``graphrec bench`` convention); with ``--refit-gnn`` the GNNs are then retrained
on train + validation for the number of epochs early stopping chose. Test histories include the validation item.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import write_results  # noqa: E402

from graphrec import datasets  # noqa: E402
from graphrec.config import parse_overrides  # noqa: E402
from graphrec.evaluate import evaluate  # noqa: E402
from graphrec.model import get_model_class  # noqa: E402
from graphrec.split import EvalCases, Split, refit_split  # noqa: E402
from graphrec.training import set_seed  # noqa: E402

log = logging.getLogger("gnn_eval")
GNN = ("graphsage", "pinsage", "edge-gnn")
KS = (10, 20)


def link_auc(model: Any, cases: EvalCases, seed: int = 0, limit: int = 20000) -> float:
    """P(score(last item -> true next item) > score(last item -> random other trained item)), ties count half."""
    rng = np.random.default_rng(seed)
    rows = np.arange(len(cases)) if len(cases) <= limit else np.sort(rng.choice(len(cases), limit, replace=False))
    cases = cases.take(rows)
    targets = cases.targets.items[cases.targets.offsets[:-1]].astype(np.int64)
    pool = np.flatnonzero(np.asarray(model_counts(model, cases)) > 0)
    wins = 0.0
    for start in range(0, len(cases), 1024):
        chunk = cases.take(np.arange(start, min(start + 1024, len(cases))))
        s = np.asarray(model.score(chunk.histories), dtype=np.float64)
        t = targets[start:start + len(chunk)]
        neg = pool[rng.integers(0, len(pool), len(t))]
        neg = np.where(neg == t, pool[(np.searchsorted(pool, neg) + 1) % len(pool)], neg)
        st, sn = s[np.arange(len(t)), t], s[np.arange(len(t)), neg]
        wins += float(np.sum(st > sn) + 0.5 * np.sum(st == sn))
    return wins / len(cases)


def model_counts(model: Any, cases: EvalCases) -> np.ndarray:
    counts = getattr(model, "_train_counts", None)
    return counts if counts is not None else np.ones(cases.targets.num_items + 1)


def run_model(name: str, split: Split, cfg: dict[str, Any], seed: int, refit_gnn: bool = False) -> dict[str, Any]:
    cls = get_model_class(name)
    set_seed(seed)
    t0 = time.perf_counter()
    model = cls(**cfg).fit(split)
    fit_for_test = "train"
    if getattr(cls, "refit_on_full", False):
        set_seed(seed)
        model = cls(**cfg).fit(refit_split(split))
        fit_for_test = "train+valid"
    elif refit_gnn and name in GNN:  # the epoch count early stopping chose, retrained on train + validation
        hist = model.history_
        n = int(hist["best_epoch"]) + 1
        set_seed(seed)
        valid_history = hist
        model = cls(**{**cfg, "epochs": n, "patience": n, "eval_every": n}).fit(refit_split(split))
        model.history_ = {**valid_history, "refit_epochs": n}
        fit_for_test = f"train+valid ({n} epochs)"
    fit_seconds = time.perf_counter() - t0
    model._train_counts = split.train.item_counts()
    test = evaluate(model, split.test, KS, item_counts=split.train_full.item_counts())
    row = {"dataset": split.name, "model": name, **{k: v for k, v in test.items() if "@" in k},
           "LP-AUC": link_auc(model, split.test, seed), "fit_seconds": fit_seconds, "fit_for_test": fit_for_test,
           "config": cfg}
    hist = getattr(model, "history_", None) or {}
    if "epochs" in hist:
        row["epochs_run"] = len(hist["epochs"])
        row["best_epoch"] = hist.get("best_epoch")
        row["sec_per_epoch"] = float(np.mean([e["train_seconds"] for e in hist["epochs"]]))
    log.info("%s %s: HR@10 %.4f NDCG@10 %.4f LP-AUC %.4f (%.0fs)", split.name, name, row["HR@10"],
             row["NDCG@10"], row["LP-AUC"], fit_seconds)
    return row


def gnn_cfg(name: str, overrides: dict[str, dict[str, Any]], threads: int, progress: bool) -> dict[str, Any]:
    base = {"num_threads": threads, "progress": progress} if name in GNN else {}
    return {**base, **overrides.get(name, {})}


def table(rows: list[dict[str, Any]], keys: tuple[str, ...], extra: tuple[str, ...] = ()) -> str:
    head = "| dataset | model | " + " | ".join(keys + extra) + " | fit s |\n"
    head += "|---|---|" + "---|" * (len(keys) + len(extra)) + "---|\n"
    lines = []
    for r in rows:
        vals = [f"{r[k]:.4f}" if isinstance(r.get(k), float) else str(r.get(k, "")) for k in keys + extra]
        lines.append(f"| {r['dataset']} | {r['model']} | " + " | ".join(vals) + f" | {r.get('fit_seconds', 0):.0f} |")
    return head + "\n".join(lines) + "\n"


def task_recall(args: argparse.Namespace, overrides: dict[str, dict[str, Any]]) -> None:
    rows = []
    for ds in args.datasets:
        split = datasets.load(ds).split()
        for spec in args.models:  # "pinsage[loss=hinge]" runs pinsage with loss=hinge
            name, _, extra = spec.partition("[")
            cfg = {**gnn_cfg(name, overrides, args.threads, args.progress),
                   **dict(kv.split("=", 1) for kv in extra.rstrip("]").split(";") if kv)}
            row = run_model(name, split, cfg, args.seed, args.refit_gnn)
            row["model"] = spec
            rows.append(row)
            write_results(args.name or "gnn_recall", rows, table(rows, ("HR@10", "NDCG@10", "HR@20", "MRR@20",
                                                                          "LP-AUC"), ("epochs_run", "fit_for_test")))


def cold_split(split: Split, fraction: float, seed: int) -> tuple[Split, np.ndarray]:
    """Remove every training event of a random ``fraction`` of the trained items; keep their side info."""
    counts = split.train.item_counts()
    trained = np.flatnonzero(counts > 0)
    rng = np.random.default_rng(seed)
    held = np.sort(rng.choice(trained, int(len(trained) * fraction), replace=False))
    keep = ~np.isin(split.train.items, held)
    train = split.train.select_events(keep)
    return replace(split, train=train), held


def task_cold(args: argparse.Namespace, overrides: dict[str, dict[str, Any]]) -> None:
    split = datasets.load("synthetic").split()
    cold, held = cold_split(split, 0.1, args.seed)
    t = split.test.targets
    rows_with = np.flatnonzero(np.isin(t.items[t.offsets[:-1]], held))
    cases = split.test.take(rows_with)
    mask = np.ones(split.num_items + 1, dtype=bool)
    mask[held] = False

    class Restricted:  # rank only among the held-out items
        def __init__(self, model: Any) -> None:
            self.model = model

        def score(self, histories: Any) -> np.ndarray:
            s = np.array(self.model.score(histories), dtype=np.float32)
            s[:, mask] = -np.inf
            return s

    rows = []
    variants = [(name, {}, name) for name in args.models if name in GNN]
    variants += [(name, {"use_side_info": False}, f"{name} (ids only)") for name in args.models[:1] if name in GNN]
    for name, extra, label in variants:
        cfg = {**gnn_cfg(name, overrides, args.threads, args.progress), "id_dropout": 0.3, **extra}
        set_seed(args.seed)
        t0 = time.perf_counter()
        model = get_model_class(name)(**cfg).fit(cold)
        m = evaluate(Restricted(model), cases, KS)
        v = model.item_embeddings().vectors[held]
        rows.append({"dataset": "synthetic", "model": label, **{k: x for k, x in m.items() if "@" in k},
                     "cold_items": len(held), "cases": len(cases),
                     "finite_nonzero_share": float(np.mean(np.isfinite(v).all(1) & (np.linalg.norm(v, axis=1) > 0))),
                     "fit_seconds": time.perf_counter() - t0})
    rng = np.random.default_rng(args.seed)

    class Random:
        def score(self, histories: Any) -> np.ndarray:
            return rng.random((len(histories), split.num_items + 1)).astype(np.float32)

    m = evaluate(Restricted(Random()), cases, KS)
    rows.append({"dataset": "synthetic", "model": "random", **{k: x for k, x in m.items() if "@" in k},
                 "cold_items": len(held), "cases": len(cases), "finite_nonzero_share": 0.0, "fit_seconds": 0.0})
    write_results(args.name or "gnn_cold", rows, table(rows, ("HR@10", "NDCG@10", "HR@20"),
                                                       ("cold_items", "cases", "finite_nonzero_share")))


def task_ablation(args: argparse.Namespace, overrides: dict[str, dict[str, Any]]) -> None:
    rows = []
    for ds in args.datasets:
        split = datasets.load(ds).split()
        for label, extra in [("edge-gnn", {}), ("edge-gnn, attributes zeroed", {"use_edge_attr": False}),
                             ("edge-gnn transformer", {"variant": "transformer"}),
                             ("edge-gnn transformer, attributes zeroed", {"variant": "transformer",
                                                                          "use_edge_attr": False})]:
            row = run_model("edge-gnn", split, {**gnn_cfg("edge-gnn", overrides, args.threads, args.progress),
                                                **extra}, args.seed, args.refit_gnn)
            row["model"] = label
            rows.append(row)
            write_results(args.name or "gnn_ablation", rows, table(rows, ("HR@10", "NDCG@10", "HR@20", "LP-AUC"),
                                                                   ("epochs_run",)))


def task_timing(args: argparse.Namespace, overrides: dict[str, dict[str, Any]]) -> None:
    split = datasets.load("ml-1m").split()
    rows = []
    runs = [(a, {}) for a in ("mean", "gcn", "pool", "lstm")] + [("mean", {"max_pairs_per_epoch": None,
                                                                            "epochs": 1})]
    for aggregator, extra in runs:
        cfg = {**gnn_cfg("graphsage", overrides, args.threads, args.progress), "aggregator": aggregator,
               "epochs": 2, "patience": 5, "eval_cases": 1000, **extra}
        model = get_model_class("graphsage")(**cfg).fit(split)
        hist = model.history_
        label = f"graphsage {aggregator}" + (", every pair" if extra else "")
        rows.append({"dataset": "ml-1m", "model": label,
                     "sec_per_epoch": float(np.mean([e["train_seconds"] for e in hist["epochs"]])),
                     "cpu_sec_per_epoch": float(np.mean([e["train_cpu_seconds"] for e in hist["epochs"]])),
                     "pairs_per_epoch": hist["pairs_per_epoch"], "pairs_total": hist["pairs"],
                     "steps_per_epoch": hist["epochs"][0]["steps"], "graph_edges": model.graph_.num_edges,
                     "fit_seconds": float(sum(e["train_seconds"] + e.get("eval_seconds", 0) for e in hist["epochs"]))})
        keys = ("sec_per_epoch", "cpu_sec_per_epoch", "pairs_per_epoch", "pairs_total", "steps_per_epoch",
                "graph_edges")
        write_results(args.name or "gnn_timing", rows, table(rows, keys) + EPOCH_NOTE.format(threads=args.threads))


EPOCH_NOTE = """
What an epoch is: one pass of the training loop (`gnn.trainer._train_epoch`) over `pairs_per_epoch` next-item pairs
(`pair_window=1` transitions of the ML-1M train split: `pairs_total` = 981,491; the default
`max_pairs_per_epoch=200000` draws 200,000 of them in a seeded random order, "every pair" visits all) in batches of
1024. Each step samples two-hop blocks (fanouts 10, 5, weighted) around the batch's 1024 queries, 1024 positives and
2048 shared random negatives, runs the two GraphSAGE layers, the sampled-softmax loss, backward and an Adam step.
`sec_per_epoch` is the wall time of that loop and `cpu_sec_per_epoch` the process CPU time (torch and numba threads:
{threads}); neither includes building the item graph (once per fit) nor the validation pass after each epoch
(`fit s` = both epochs plus their validation). Mean over the epochs run (2, or 1 for "every pair").
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=["recall", "cold", "ablation", "timing"], default="recall")
    ap.add_argument("--datasets", nargs="+", default=["ml-1m", "beauty", "lastfm", "diginetica"])
    ap.add_argument("--models", nargs="+", default=["popular", "itemknn", "deepwalk", *GNN])
    ap.add_argument("--set", action="append", default=[], help="MODEL.key=value override (repeatable)")
    ap.add_argument("--threads", type=int, default=1, help="torch/numba threads per model (1 is fastest on a "
                                                           "loaded machine)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default=None, help="result file stem (default gnn_<task>)")
    ap.add_argument("--progress", action="store_true")
    ap.add_argument("--refit-gnn", action="store_true",
                    help="after early stopping on validation, retrain each GNN on train + validation for the chosen "
                         "number of epochs before the test (what the baselines and walk models get by refitting)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    overrides = parse_overrides(args.set)
    {"recall": task_recall, "cold": task_cold, "ablation": task_ablation, "timing": task_timing}[args.task](
        args, overrides)


if __name__ == "__main__":
    main()
