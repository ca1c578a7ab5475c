"""The walk-model quality floor over several seeds: PecanPy DeepWalk walks + gensim skip-gram against our models.

    .venv/bin/python benchmarks/walks_floor.py                                   # lastfm, beauty; seeds 0..4
    .venv/bin/python benchmarks/walks_floor.py --resume                          # continue a stopped run
    .venv/bin/python benchmarks/walks_floor.py --datasets beauty --seeds-for beauty=0,1,2 --no-valid beauty

The committed table: ``--datasets lastfm,beauty --no-valid lastfm,beauty --seeds-for beauty=0,1`` (LastFM seeds 0-4,
Beauty seeds 0-1, test fits only; LastFM's validation fits of seeds 0 and 1 came from a first run without
``--no-valid lastfm``). Export NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE on a shared machine.

The floor (issue "Random-walk embeddings") is the pipeline a user would assemble today: PecanPy SparseOTF DeepWalk
walks (p = q = 1, 10 walks x 40 steps, weighted, 1 worker) on the train co-occurrence graph (window 3, count weights,
undirected: :func:`walks.models.train_graph` with the DeepWalk defaults, the graph our DeepWalk walks), then gensim
``Word2Vec`` skip-gram (``sg=1``, dim 64, window 5, 5 epochs, negative 5, ``min_count=1``, gensim defaults
otherwise, e.g. ``sample=1e-3``, ``workers=1``) on the walks as lists of strings; query = the last item, cosine,
full ranking by :func:`graphrec.evaluate.evaluate` (seen items excluded), items never walked are never recommended.
PecanPy runs in the throwaway venv ``benchmarks/.venvs/pecanpy`` (``walks_vs_pecanpy.ensure_venv``): this file,
run there with ``--walker``, reads an edge list and writes the walks to a file. PecanPy's ``random_state`` and
gensim's ``seed`` are the seed index.

Our rows are :func:`graphrec.bench.bench_model` (the code behind ``graphrec bench``) with each model's default
config and query, ``seed`` = the seed index, single-threaded (``workers=1`` / ``num_threads=1``, which changes only
thread scheduling, not the method). ``--threads 2`` gives every tool, floor included, two threads (what each does
by default on a 2-core machine) for the end-to-end time comparison; with more than one thread the skip-gram results
are no longer reproducible from the seed.

Protocol, the same for both: test metrics from a fit on train + validation (:func:`graphrec.split.refit_split`, as
``graphrec bench`` refits ``refit_on_full`` models; for walk models it is the same training data as
``train_full_split``), scored on ``split.test``; validation metrics (unless ``--no-valid``) from a fit on train,
scored on ``split.valid`` (that fit's test score is kept too as ``test_trainfit``). The JSON is rewritten after
every fit; ``--resume`` skips the (dataset, method, seed, fit) entries already in it. Before every fit the script
waits for ``/tmp/graphrec_timing.lock`` (``flock``), so it never runs beside a timing benchmark.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _common import command, machine, query_label, uptime  # noqa: E402  (stdlib only: also runs in the PecanPy venv)

RESULTS = HERE / "results"
NAME = "walks_floor"
METHODS = ("floor", "deepwalk", "node2vec", "eges")
FLOOR_LABEL = "floor: PecanPy 10x40 + gensim"
ISSUE_FLOOR = {"beauty": (0.0667, 0.0409), "lastfm": (0.0532, 0.0335)}  # measured once, one seed (issue 5)
THREAD_KEY = {"deepwalk": "workers", "node2vec": "workers", "eges": "num_threads"}
KEYS = ("HR@10", "NDCG@10")
log = logging.getLogger("walks_floor")


# ---------------------------------------------------------------------------------------------- PecanPy worker
def walker(a: argparse.Namespace) -> None:
    """Runs in the PecanPy venv: edge list in, one walk per line (space-separated node ids) out."""
    from pecanpy import pecanpy

    t0 = time.perf_counter()
    g = pecanpy.SparseOTF(p=1, q=1, workers=a.threads, verbose=False, random_state=a.seed)
    g.read_edg(a.edges, weighted=True, directed=False)
    walks = g.simulate_walks(num_walks=a.num_walks, walk_length=a.walk_length)
    with open(a.walks, "w") as fh:
        for w in walks:
            fh.write(" ".join(w) + "\n")
    print(json.dumps({"walk_seconds": time.perf_counter() - t0, "walks": len(walks), "nodes": g.num_nodes}))


# ---------------------------------------------------------------------------------------------- fits
def wait_for_lock(path: str) -> None:
    """Block while a timing benchmark holds ``path`` (``flock PATH true``)."""
    if path:
        subprocess.run(["flock", path, "true"], check=True)


def floor_fit(split: Any, seed: int, py: Path, a: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The floor pipeline fitted on ``split.train``; returns a scorer (last item, cosine) and timings."""
    import numpy as np
    from gensim.models import Word2Vec

    from graphrec.embeddings import Embeddings
    from graphrec.training import set_seed
    from walks.models import DeepWalk, DeepWalkConfig, train_graph

    set_seed(seed)
    t0 = time.perf_counter()
    graph = train_graph(split, DeepWalkConfig())  # window 3, count weights, undirected
    src = np.repeat(np.arange(graph.num_nodes), graph.degree())
    keep = src < graph.indices  # every undirected edge once
    with tempfile.TemporaryDirectory(prefix="walks-floor-") as tmp:
        edges, walks_path = Path(tmp) / "graph.edg", Path(tmp) / "walks.txt"
        with open(edges, "w") as fh:
            for s, d, w in zip(src[keep].tolist(), graph.indices[keep].tolist(), graph.weights[keep].tolist(),
                               strict=True):
                fh.write(f"{s}\t{d}\t{w:g}\n")
        threads = str(a.threads)
        env = {**os.environ, "NUMBA_NUM_THREADS": threads, "OMP_NUM_THREADS": threads, "OMP_WAIT_POLICY": "PASSIVE"}
        res = subprocess.run([str(py), __file__, "--walker", "--edges", str(edges), "--walks", str(walks_path),
                              "--seed", str(seed), "--num-walks", str(a.num_walks), "--walk-length",
                              str(a.walk_length), "--threads", threads], capture_output=True, text=True, env=env)
        if res.returncode != 0:
            raise RuntimeError(f"PecanPy walker failed: {res.stderr.strip()[-2000:]}")
        info = json.loads(res.stdout.strip().splitlines()[-1])
        walks = [line.split() for line in walks_path.read_text().splitlines()]
    t1 = time.perf_counter()
    w2v = Word2Vec(sentences=walks, vector_size=64, window=5, sg=1, negative=5, epochs=5, min_count=1,
                   workers=a.threads, seed=seed)
    t2 = time.perf_counter()
    vectors = np.zeros((graph.num_nodes, 64), dtype=np.float32)
    known = np.zeros(graph.num_nodes, dtype=bool)
    nodes = np.asarray([int(k) for k in w2v.wv.index_to_key], dtype=np.int64)
    vectors[nodes] = w2v.wv.vectors
    known[nodes] = True
    known[0] = False
    vectors[0] = 0.0
    model = DeepWalk(pooling="last", similarity="cosine")
    model.embeddings_ = Embeddings(graph.vocab, vectors, {"model": "floor"}, known)
    model.vocab_ = graph.vocab
    return model, {"fit_seconds": t2 - t0, "walk_process_seconds": t1 - t0, "pecanpy_walk_seconds":
                   info["walk_seconds"], "skipgram_seconds": t2 - t1, "walks": info["walks"],
                   "walked_items": int(known.sum()), "sample": w2v.sample}


def run_fit(method: str, fit: str, split: Any, seed: int, py: Path, a: argparse.Namespace) -> dict[str, Any]:
    """One fit: ``train`` (validation metrics, plus that fit's test score) or ``train+valid`` (the test metrics)."""
    from graphrec.bench import bench_model
    from graphrec.evaluate import DEFAULT_KS, evaluate
    from graphrec.split import refit_split

    fit_split = refit_split(split) if fit == "train+valid" else split
    row: dict[str, Any] = {"method": method, "seed": seed, "fit": fit}
    if method == "floor":
        model, info = floor_fit(fit_split, seed, py, a)
        test = evaluate(model, split.test, DEFAULT_KS, item_counts=split.train_full.item_counts())
        valid = evaluate(model, split.valid, DEFAULT_KS, item_counts=split.train.item_counts()) \
            if fit == "train" else {}
        row.update(info, query="last", config={"pecanpy": "SparseOTF p=1 q=1", "num_walks": a.num_walks,
                                                "walk_length": a.walk_length, "sg": 1, "vector_size": 64,
                                                "window": 5, "epochs": 5, "negative": 5, "min_count": 1,
                                                "workers": a.threads, "seed": seed})
    else:
        # bench_model without its own refit: fitted on exactly fit_split, scored on valid and test
        config = {**a.overrides.get(method, {}), THREAD_KEY[method]: a.threads}
        out = bench_model(method, fit_split, seed=seed, config=config, refit=False)
        test = {k: v for k, v in out.items() if k in KEYS or "@" in k}
        valid = out["valid"] if fit == "train" else {}
        cfg = out["config"]
        row.update(fit_seconds=out["fit_seconds"], config=cfg,
                   query=query_label(cfg["pooling"], cfg["recent"], cfg["decay"]))
    row["test" if fit == "train+valid" else "test_trainfit"] = test
    if valid:
        row["valid"] = valid
    row["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return row


# ---------------------------------------------------------------------------------------------- report
def _stats(xs: list[float]) -> tuple[float, float]:
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else float("nan"))


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per dataset and method: mean and sd over seeds (test, and valid where run); paired ours - floor."""
    out: dict[str, Any] = {}
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        part = [r for r in rows if r["dataset"] == ds]
        res: dict[str, Any] = {"methods": {}, "paired": {}}
        tests = {m: {r["seed"]: r["test"] for r in part if r["method"] == m and "test" in r} for m in METHODS}
        valids = {m: {r["seed"]: r["valid"] for r in part if r["method"] == m and "valid" in r} for m in METHODS}
        for m in METHODS:
            if not tests[m]:
                continue
            entry: dict[str, Any] = {"seeds": sorted(tests[m])}
            for k in KEYS:
                entry[f"test {k}"] = _stats([tests[m][s][k] for s in sorted(tests[m])])
                if valids[m]:
                    entry["valid_seeds"] = sorted(valids[m])
                    entry[f"valid {k}"] = _stats([valids[m][s][k] for s in sorted(valids[m])])
            res["methods"][m] = entry
            if m != "floor" and tests["floor"]:
                seeds = sorted(set(tests[m]) & set(tests["floor"]))
                if seeds:
                    diffs = {k: [tests[m][s][k] - tests["floor"][s][k] for s in seeds] for k in KEYS}
                    res["paired"][m] = {"seeds": seeds, **{k: {"diffs": diffs[k], "mean_sd": _stats(diffs[k]),
                                                             "ours_higher": sum(d > 0 for d in diffs[k])}
                                                         for k in KEYS}}
        out[ds] = res
    return out


def markdown(meta: dict[str, Any], rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    m, t = meta["machine"], meta.get("threads", 1)
    lines = ["# Walk models against the PecanPy + gensim floor, over seeds", "",
             "Commands, in order (each later one `--resume`s the earlier; `--note` texts are in Notes):  ",
             *[f"`{re.sub(r' --note .*?(?= --note |$)', ' --note ...', c)}`  " for c in meta["commands"]],
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB  ",
             f"Commit: {m['git_commit']}  ",
             f"Versions: Python {m['python']}, " + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
             + f"; PecanPy venv: {', '.join(f'{k} {v}' for k, v in meta['pecanpy_versions'].items())}  ",
             f"Load (`uptime`) at the start: {meta['uptime_start']}  ",
             f"Load (`uptime`) at the end: {meta['uptime_end']}", "",
             f"**floor**: PecanPy SparseOTF DeepWalk walks (p = q = 1, 10 walks x 40 steps, weighted, {t} worker(s); "
             "`random_state` = seed) on the train co-occurrence graph (window 3, count weights, undirected: the "
             "graph our DeepWalk walks), gensim `Word2Vec` skip-gram (sg=1, dim 64, window 5, 5 epochs, negative 5, "
             f"min_count 1, sample 1e-3 and the other gensim defaults, workers {t}, `seed` = seed); query = the "
             "last item, cosine. **deepwalk / node2vec / eges**: `graphrec.bench.bench_model` with the default "
             f"config and query" + (f" except {', '.join(f'`{x}`' for x in meta['sets'])}" if meta.get("sets")
                                    else "") + f", `seed` = seed, {t} thread(s)"
             + ("" if t == 1 else " (with more than one thread gensim's and EGES's results are not reproducible "
                "from the seed)") + ". Test: fitted on train + validation (as `graphrec "
             "bench` refits walk models), scored on the test cases; valid: fitted on train, scored on the "
             "validation cases. Full ranking, seen items excluded. Mean ± sample sd over the seeds.", ""]
    for ds, res in summary.items():
        issue = ISSUE_FLOOR.get(ds)
        lines += [f"## {ds}", ""]
        if issue:
            lines += [f"The issue's single measurement of the floor: HR@10 {issue[0]:.4f}, NDCG@10 {issue[1]:.4f}.",
                      ""]
        lines += ["| method | query | test seeds | test HR@10 | test NDCG@10 | valid seeds | valid HR@10 "
                  "| valid NDCG@10 |",
                  "|---|---|---|---|---|---|---|---|"]
        for meth, e in res["methods"].items():
            q = next(r["query"] for r in rows if r["dataset"] == ds and r["method"] == meth)
            cells = [f"{e[k][0]:.4f} ± {e[k][1]:.4f}" if k in e else "" for k in ("test HR@10", "test NDCG@10")]
            cells.append(",".join(map(str, e.get("valid_seeds", []))))
            cells += [f"{e[k][0]:.4f} ± {e[k][1]:.4f}" if k in e else "" for k in ("valid HR@10", "valid NDCG@10")]
            label = FLOOR_LABEL if meth == "floor" else meth
            lines.append(f"| {label} | {q} | {','.join(map(str, e['seeds']))} | " + " | ".join(cells) + " |")
        lines += ["", "Per seed. test: the train + validation fit; valid and `test (train fit)`: the train fit, where "
                  "run (the test cases scored by the model fitted on train only). `fit s` (train + validation fit) "
                  "includes, for the floor, PecanPy's numba compilation in a fresh process and is measured beside "
                  "other jobs: not a timing.", "",
                  "| method | seed | HR@10 | NDCG@10 | valid HR@10 | valid NDCG@10 | test (train fit) HR@10 "
                  "| test (train fit) NDCG@10 | fit s | 1-min load after |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for meth in METHODS:
            for r in sorted((r for r in rows if r["dataset"] == ds and r["method"] == meth and "test" in r),
                            key=lambda r: r["seed"]):
                t = next((x for x in rows if x["dataset"] == ds and x["method"] == meth
                          and x["seed"] == r["seed"] and x["fit"] == "train"), {})
                vals = " | ".join(f"{t[p][k]:.4f}" if p in t else "" for p in ("valid", "test_trainfit")
                                  for k in KEYS)
                lines.append(f"| {meth} | {r['seed']} | {r['test']['HR@10']:.4f} | {r['test']['NDCG@10']:.4f} | "
                             f"{vals} | {r['fit_seconds']:.1f} | {r['load_after'][0]:.1f} |")
        if res["paired"]:
            lines += ["", "Paired by seed, ours minus floor (test):", "",
                      "| method | seeds | ΔHR@10 per seed | ΔHR@10 mean ± sd | ours higher | ΔNDCG@10 per seed "
                      "| ΔNDCG@10 mean ± sd | ours higher |", "|---|---|---|---|---|---|---|---|"]
            for meth, p in res["paired"].items():
                cells = []
                for k in KEYS:
                    d = p[k]
                    cells += [" ".join(f"{x:+.4f}" for x in d["diffs"]),
                              f"{d['mean_sd'][0]:+.4f} ± {d['mean_sd'][1]:.4f}",
                              f"{d['ours_higher']}/{len(p['seeds'])}"]
                lines.append(f"| {meth} | {','.join(map(str, p['seeds']))} | " + " | ".join(cells) + " |")
        lines.append("")
    if meta.get("notes"):
        lines += ["## Notes", "", *meta["notes"], ""]
    return "\n".join(lines) + "\n"


def write(out: Path, meta: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    meta = {**meta, "machine": machine(), "uptime_end": uptime()}
    summary = summarize(rows)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"meta": meta, "summary": summary, "rows": rows}, indent=1, default=str) + "\n")
    os.replace(tmp, out.with_suffix(".json"))
    out.with_suffix(".md").write_text(markdown(meta, rows, summary))


# ---------------------------------------------------------------------------------------------- driver
def run(a: argparse.Namespace) -> None:
    from walks_vs_pecanpy import ensure_venv, versions

    from graphrec import datasets
    from graphrec.training import set_threads

    set_threads(a.threads)
    out = RESULTS / a.name
    py = ensure_venv("pecanpy")
    if py is None:
        raise SystemExit("PecanPy did not install into benchmarks/.venvs/pecanpy")
    old = json.loads(out.with_suffix(".json").read_text()) if a.resume and out.with_suffix(".json").exists() else {}
    rows: list[dict[str, Any]] = old.get("rows", [])
    commands = [*old.get("meta", {}).get("commands", []), command()]
    if old and old["meta"].get("threads", 1) != a.threads:
        raise SystemExit(f"{out}.json was run with --threads {old['meta'].get('threads', 1)}: use another --name")
    if old and sorted(old["meta"].get("sets", [])) != sorted(a.set):
        raise SystemExit(f"{out}.json was run with --set {old['meta'].get('sets', [])}: use another --name")
    meta = {"threads": a.threads, "sets": a.set, "command": " ; ".join(commands), "commands": commands,
            "uptime_start": old.get("meta", {}).get("uptime_start", uptime()),
            "pecanpy_versions": versions(py, ["pecanpy", "numpy", "numba", "gensim"]),
            "notes": [*old.get("meta", {}).get("notes", []), *a.note]}
    done = {(r["dataset"], r["method"], r["seed"], r["fit"]) for r in rows}
    seeds_for = {k: [int(s) for s in v.split(",")] for k, v in (x.split("=", 1) for x in a.seeds_for)}
    methods = a.methods.split(",")
    for name in a.datasets.split(","):
        data = datasets.load(name)
        split = data.split()
        fits = ["train+valid"] + ([] if name in a.no_valid.split(",") else ["train"])
        for seed in seeds_for.get(name, [int(s) for s in a.seeds.split(",")]):
            for method in methods:
                for fit in fits:
                    if (split.name, method, seed, fit) in done:
                        continue
                    wait_for_lock(a.lock)
                    row = {"dataset": split.name, **run_fit(method, fit, split, seed, py, a)}
                    rows.append(row)
                    write(out, meta, rows)
                    res = row.get("test") or row.get("valid")
                    log.info("%s %s seed %d fit %s: HR@10 %.4f NDCG@10 %.4f (%s) in %.1fs", name, method, seed,
                             fit, res["HR@10"], res["NDCG@10"], "test" if "test" in row else "valid",
                             row["fit_seconds"])
    write(out, meta, rows)  # also when every fit was already done: new notes, the end load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="lastfm,beauty")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--seeds-for", action="append", default=[], metavar="DATASET=S,S",
                    help="other seeds for one dataset, e.g. beauty=0,1,2")
    ap.add_argument("--no-valid", default="", help="datasets without the validation fits (comma-separated)")
    ap.add_argument("--num-walks", type=int, default=10)
    ap.add_argument("--walk-length", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1, help="PecanPy workers, gensim workers and our models' threads "
                    "(default 1; 2 is what each tool does by default on this 2-core machine)")
    ap.add_argument("--name", default=NAME)
    ap.add_argument("--resume", action="store_true", help="skip the fits already in NAME.json")
    ap.add_argument("--note", action="append", default=[], help="a line for the Notes section of the table")
    ap.add_argument("--set", action="append", default=[], metavar="METHOD.KEY=VALUE",
                    help="a non-default setting of one of our models, e.g. deepwalk.epochs=6 (recorded in the JSON "
                    "and the table; use a new --name)")
    ap.add_argument("--lock", default="/tmp/graphrec_timing.lock", help="wait for this flock before every fit")
    ap.add_argument("--walker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--edges", help=argparse.SUPPRESS)
    ap.add_argument("--walks", help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.threads < 1:
        ap.error(f"--threads must be >= 1 (got {a.threads})")
    if a.walker:
        walker(a)
        return
    from graphrec.config import parse_overrides

    a.overrides = parse_overrides(a.set)
    bad = sorted(m for m, v in a.overrides.items() if m not in THREAD_KEY or not isinstance(v, dict))
    if bad:
        ap.error(f"--set takes METHOD.KEY=VALUE for METHOD in {sorted(THREAD_KEY)} (got {bad})")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run(a)


if __name__ == "__main__":
    main()
