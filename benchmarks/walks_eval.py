"""Result tables of the walk models: next-item recall, link prediction and cold start.

    python benchmarks/walks_eval.py recall --datasets beauty,lastfm,ml-1m,diginetica --models deepwalk,node2vec,eges
    python benchmarks/walks_eval.py merge --inputs walks_recall_a,walks_recall_b --name walks_recall
    python benchmarks/walks_eval.py linkpred --dataset beauty
    python benchmarks/walks_eval.py coldstart --dataset beauty --fraction 0.1

``recall`` runs :func:`graphrec.bench.bench_model` (the code behind ``graphrec bench``: default configs, fit on
train for the validation metrics, refit on train + validation for the test metrics) and then scores the same
refitted model a second time with the other query: the last item (the floor's query) when the default pools
recent items, else ``pooling=mean_recent`` (the vectors are identical, so no second fit). popular / item-KNN rows
are read from ``benchmarks/results/baselines.json``. Tables are rewritten after every model, so a partial run leaves
a table.

``coldstart`` holds out a share of the items that have side information, deletes all their train interactions,
fits EGES / GES on the rest, and measures how well the cold items' side-information vectors retrieve the warm
items they co-occur with in the full data (item-to-item recall@k, against the most popular warm items), and
next-item HR@k on the test cases whose target is a cold item (EGES scores cold items; popularity cannot).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import query_label, uptime  # noqa: E402

from graphrec import datasets  # noqa: E402
from graphrec.artifacts import environment  # noqa: E402
from graphrec.bench import bench_model  # noqa: E402
from graphrec.evaluate import DEFAULT_KS, evaluate  # noqa: E402
from graphrec.model import load_model  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
FLOOR = {"beauty": (0.0667, 0.0409), "lastfm": (0.0532, 0.0335)}  # PecanPy 10x40 + gensim (issue 5)
log = logging.getLogger("walks_eval")


def _meta() -> dict[str, Any]:
    env = environment(0, None)
    return {"command": "python " + " ".join(shlex.quote(a) for a in sys.argv), "machine": platform.platform(),
            "cpus": os.cpu_count(), "versions": env.get("versions", env),
            "uptime": uptime(),
            "commit": subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                     cwd=RESULTS.parent.parent).stdout.strip()}


def _header(title: str, meta: dict[str, Any], started: str) -> list[str]:
    return [f"# {title}", "", f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}, {meta['cpus']} cores  ",
            f"Commit: {meta['commit']}; versions: {meta['versions']}  ",
            f"Load (`uptime`) at the start: {started}  ", f"Load (`uptime`) at the end: {meta['uptime']}", ""]


# ---------------------------------------------------------------------------------------------- recall
def _baselines(dataset: str) -> list[dict[str, Any]]:
    path = RESULTS / "baselines.json"
    if not path.exists():
        return []
    rows = json.loads(path.read_text())
    rows = rows.get("rows", rows) if isinstance(rows, dict) else rows
    return [r for r in rows if r.get("dataset") == dataset and r.get("model") in ("popular", "itemknn")]


def recall(a: argparse.Namespace) -> None:
    started = _meta()["uptime"]
    out = RESULTS / a.name
    resume = a.resume and out.with_suffix(".json").exists()  # --resume of a run not started yet starts it
    rows: list[dict[str, Any]] = json.loads(out.with_suffix(".json").read_text())["rows"] if resume else []
    done = {(r["dataset"], r["model"]) for r in rows}
    for name in a.datasets.split(","):
        data = datasets.load(name)
        split = data.split()
        for model in a.models.split(","):
            if (split.name, model) in done:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                row = bench_model(model, split, data, DEFAULT_KS, seed=a.seed, save_dir=Path(tmp))
                fitted = load_model(Path(tmp) / "run")
            cfg = fitted.config  # type: ignore[attr-defined]
            row.update({"query": _query(cfg), "load_after": os.getloadavg()})
            rows.append({k: v for k, v in row.items() if k not in ("env", "history")})
            other = "last" if cfg.pooling != "last" else "mean_recent"  # the same vectors, the other query
            fitted.config = dataclasses.replace(cfg, pooling=other)  # type: ignore[attr-defined]
            test = evaluate(fitted, split.test, DEFAULT_KS, item_counts=split.train_full.item_counts())
            rows.append({**test, "model": model, "dataset": split.name, "query": _query(fitted.config),
                         "fit_seconds": row["fit_seconds"], "valid": {}})
            _write_recall(out, rows, started)
            log.info("%s %s done", name, model)


def _query(cfg: Any) -> str:
    return query_label(cfg.pooling, cfg.recent, cfg.decay)


def _write_recall(out: Path, rows: list[dict[str, Any]], started: str) -> None:
    meta = _meta()
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1, default=str) + "\n")
    lines = _header("Next-item recall of the walk models (test split, full ranking)", meta, started)
    lines += ["Every walk model: `graphrec.bench.bench_model` with its default config (the code behind "
              "`graphrec bench`), refitted on train + validation for the test run; `fit s` is the sum of both fits "
              "(train, then train + validation). The first row of a model is its default query (`valid HR@10` is "
              "of that query); the second scores the same refitted vectors with the other query (`last` item, as "
              "the floor, or `mean_recent`: the last `recent` items weighted `decay ** age`). "
              "popular / itemknn: `benchmarks/results/baselines.json`.", ""]
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        keys = ("HR@20", "MRR@20", "HR@10", "NDCG@10") if ds.startswith("diginetica") else (
            "HR@10", "NDCG@10", "HR@20", "NDCG@20", "Coverage@10")
        lines += [f"## {ds}", "", "| model | query | " + " | ".join(keys)
                  + " | valid HR@10 | fit s | 1-min load after fit |",
                  "|---|---|" + "---|" * len(keys) + "---|---|---|"]
        for r in [*_baselines(ds), *[r for r in rows if r["dataset"] == ds]]:
            vals = " | ".join(f"{r[k]:.4f}" if k in r else "" for k in keys)
            valid = r.get("valid", {}).get("HR@10")
            load = f"{r['load_after'][0]:.1f}" if r.get("load_after") else ""
            lines.append(f"| {r['model']} | {r.get('query', 'last')} | {vals} | "
                         f"{'' if valid is None else f'{valid:.4f}'} | {r.get('fit_seconds', 0):.1f} | {load} |")
        if ds in FLOOR:
            fit = "86 (17 walks + 69 skip-gram, issue 5)" if ds == "beauty" else ""
            lines.append(f"| *floor: PecanPy 10x40 + gensim* | last | {FLOOR[ds][0]:.4f} | {FLOOR[ds][1]:.4f} |"
                         + " |" * (len(keys) - 2) + f" | {fit} | |")
        lines.append("")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def merge(a: argparse.Namespace) -> None:
    """One recall table from several partial runs (e.g. models run as parallel jobs); rows keep their commands."""
    rows, loads = [], []
    for spec in a.inputs.split(","):
        spec, _, where = spec.partition("@")  # NAME@dataset+dataset keeps those datasets' rows of NAME only
        name, _, keep = spec.partition(":")  # NAME:model+model keeps those models' rows of NAME only
        models = set(keep.split("+")) if keep else None
        data = set(where.split("+")) if where else None
        part = json.loads((RESULTS / name).with_suffix(".json").read_text())
        rows += [{**r, "command": r.get("command", part["meta"]["command"])} for r in part["rows"]
                 if (models is None or r["model"] in models) and (data is None or r["dataset"] in data)]
        loads.append(f"{part['meta']['command']} -> end: {part['meta']['uptime']}")
    order = {d: i for i, d in enumerate(a.datasets.split(","))}
    rows.sort(key=lambda r: order.get(r["dataset"], len(order)))
    _write_recall(RESULTS / a.name, rows, "(merged table; load at the end of each part) " + "; ".join(loads))


# ---------------------------------------------------------------------------------------------- link prediction
def linkpred(a: argparse.Namespace) -> None:
    from walks import linkpred as lp

    args = ["--dataset", a.dataset, "--models", a.models, "--out", str(RESULTS / f"walks_linkpred_{a.dataset}")]
    args += [x for s in a.set for x in ("--set", s)]
    started = _meta()["uptime"]
    lp.main(args)
    md = RESULTS / f"walks_linkpred_{a.dataset}.md"
    meta = _meta()
    note = {"ml-1m": "ML-1M (SASRec file) has no side information: GES / EGES reduce to item embeddings only."}
    text = md.read_text() + (f"\nCommand (wrapper): `{meta['command']}`  \nVersions: {meta['versions']}  \n"
                             f"Load at the start: {started}  \nLoad at the end: {meta['uptime']}\n")
    if a.dataset in note:
        text += f"\n{note[a.dataset]}\n"
    md.write_text(text)


# ---------------------------------------------------------------------------------------------- cold start
def coldstart(a: argparse.Namespace) -> None:
    from graphrec.baselines import Popular
    from walks.eges import EGES, GES
    from walks.models import train_graph

    started = _meta()["uptime"]
    data = datasets.load(a.dataset)
    split = data.split()
    if split.side_info is None:
        raise SystemExit(f"{a.dataset} has no side information")
    rng = np.random.default_rng(a.seed)
    train_items = np.unique(split.train.items)
    has_side = split.side_info.items_with_info()
    pool = train_items[has_side[train_items]]
    cold = np.zeros(split.vocab.size + 1, dtype=bool)
    cold[rng.choice(pool, size=int(round(a.fraction * len(pool))), replace=False)] = True
    train = split.train.select_events(~cold[split.train.items])
    cold_split = dataclasses.replace(split, train=train)
    # ground truth: warm items co-occurring (window 3) with each cold item in the full train + valid data
    from graphrec.build import build_item_graph

    full = build_item_graph(split.train_full, window=3, directed=False, vocab=split.vocab).to_scipy().tocsr()
    cold_ids = np.flatnonzero(cold)
    truth = {int(c): set(full.indices[full.indptr[c]:full.indptr[c + 1]].tolist()) - set(cold_ids.tolist())
             for c in cold_ids}
    cold_ids = np.asarray([c for c in cold_ids if truth[int(c)]])
    counts = train.item_counts()
    t = split.test.targets
    cases = np.flatnonzero(cold[t.items[t.offsets[:-1]]] & (t.lengths > 0))
    sub = split.test.take(cases)  # test cases with a cold target; the cold items' events leave the histories too
    sub = dataclasses.replace(sub, histories=sub.histories.select_events(~cold[sub.histories.items]))
    rows = []
    popular = np.argsort(-counts.astype(np.float64), kind="stable")[: max(a.ks)]
    rows.append({"model": "popular", **_i2i(cold_ids, truth, lambda c: popular, a.ks), "fit_seconds": 0.0})
    warm = np.zeros(split.vocab.size + 1, dtype=bool)
    warm[np.unique(train.items)] = True
    for cls in (EGES, GES):
        t0 = time.perf_counter()
        model = cls(seed=a.seed).fit(cold_split)
        fit = time.perf_counter() - t0
        v = model._normalised()
        assert model.item_embeddings().known[cold_ids].all()

        def top(c: int, v: np.ndarray = v) -> np.ndarray:
            s = v[warm] @ v[c]
            return np.flatnonzero(warm)[np.argsort(-s)[: max(a.ks)]]

        row = {"model": cls.name, **_i2i(cold_ids, truth, top, a.ks), "fit_seconds": fit}
        row["cold_cases"] = len(cases)
        row.update({f"next-item {k}": v for k, v in evaluate(model, sub, a.ks, item_counts=counts).items()
                    if k.startswith("HR@")})
        rows.append(row)
    pop = evaluate(Popular().fit(cold_split), sub, a.ks, item_counts=counts)
    rows[0].update({f"next-item {k}": v for k, v in pop.items() if k.startswith("HR@")})
    meta = _meta()
    out = RESULTS / "walks_coldstart"
    info = {"dataset": a.dataset, "fraction": a.fraction, "cold_items": int(cold.sum()),
            "cold_items_with_truth": len(cold_ids), "graph": repr(train_graph(cold_split, model.config))}
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "info": info, "rows": rows}, indent=1,
                                                   default=str) + "\n")
    lines = _header(f"Cold-start items on {a.dataset}", meta, started)
    lines += [f"{info['cold_items']} items ({a.fraction:.0%} of the train items that have side information) "
              "lose all their train interactions; EGES / GES are fitted on the rest and give them vectors from "
              "side information alone. **Item-to-item**: each cold item's vector retrieves warm items (cosine); "
              "the truth is the warm items it co-occurs with (window 3) in the full train + validation data "
              f"({len(cold_ids)} cold items have some); Recall@k = share of the truth in the top k, averaged. "
              "popular = the k most popular warm items for every cold item. **Next-item**: HR@k on the test cases "
              "whose target is a cold item (full ranking; popularity ranks never-seen items last).", "",
              "| model | " + " | ".join(f"i2i Recall@{k}" for k in a.ks) + " | "
              + " | ".join(f"next-item HR@{k}" for k in a.ks) + " | cold test cases | fit s |",
              "|---|" + "---|" * (2 * len(a.ks) + 2)]
    for r in rows:
        lines.append(f"| {r['model']} | " + " | ".join(f"{r[f'Recall@{k}']:.4f}" for k in a.ks) + " | "
                     + " | ".join(f"{r.get(f'next-item HR@{k}', float('nan')):.4f}" for k in a.ks)
                     + f" | {rows[1]['cold_cases']} | {r['fit_seconds']:.1f} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def _i2i(cold_ids: np.ndarray, truth: dict[int, set[int]], top: Any, ks: list[int]) -> dict[str, float]:
    out = {f"Recall@{k}": 0.0 for k in ks}
    for c in cold_ids:
        ranked = top(int(c))
        for k in ks:
            out[f"Recall@{k}"] += len(truth[int(c)].intersection(ranked[:k].tolist())) / len(truth[int(c)])
    return {k: v / max(len(cold_ids), 1) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recall")
    r.add_argument("--datasets", default="beauty,lastfm,ml-1m,diginetica")
    r.add_argument("--models", default="deepwalk,node2vec,eges")
    r.add_argument("--name", default="walks_recall")
    r.add_argument("--resume", action="store_true", help="keep the rows already in NAME.json")
    r.add_argument("--seed", type=int, default=0)
    m = sub.add_parser("merge")
    m.add_argument("--inputs", required=True, help="comma-separated result names, e.g. walks_recall_a,walks_recall_b; "
                   "NAME:eges+ges takes only those models' rows from NAME, NAME@beauty+lastfm only those datasets' "
                   "(both: NAME:eges@beauty)")
    m.add_argument("--name", default="walks_recall")
    m.add_argument("--datasets", default="ml-1m,beauty,lastfm,diginetica", help="table order")
    lp = sub.add_parser("linkpred")
    lp.add_argument("--dataset", default="beauty")
    lp.add_argument("--models", default="deepwalk,node2vec,ges,eges")
    lp.add_argument("--set", action="append", default=[], help="model=key=value, passed to walks.linkpred")
    c = sub.add_parser("coldstart")
    c.add_argument("--dataset", default="beauty")
    c.add_argument("--fraction", type=float, default=0.1)
    c.add_argument("--ks", type=lambda s: [int(x) for x in s.split(",")], default=[10, 50])
    c.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    {"recall": recall, "merge": merge, "linkpred": linkpred, "coldstart": coldstart}[a.cmd](a)


if __name__ == "__main__":
    main()
