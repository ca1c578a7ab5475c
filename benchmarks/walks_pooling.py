"""Which history pooling should a walk model's next-item query use: one fit, several queries on the same vectors.

    python benchmarks/walks_pooling.py --model eges --datasets beauty,lastfm --seeds 0,1 \\
        --set num_threads=1 --name walks_eges_pooling
    python benchmarks/walks_pooling.py --render walks_eges_pooling

For every dataset and seed the model is fitted twice with its defaults (plus ``--set`` overrides): on ``split.train``
(scored on the validation cases) and on train + validation (:func:`graphrec.split.refit_split`, scored on the test
cases, as ``graphrec bench`` refits walk models). Each fit's vectors are scored with every query of ``QUERIES``
(the last item alone, or the last ``recent`` items weighted ``decay ** age``): full ranking, seen items excluded,
HR@10 / NDCG@10. A choice is made on the validation columns and read off the test columns. Rows are appended to
``<name>.jsonl`` as they come (a stopped run keeps what it measured); ``--render`` writes ``<name>.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import RESULTS, command, machine, query_label  # noqa: E402

from graphrec import datasets  # noqa: E402
from graphrec.config import parse_overrides  # noqa: E402
from graphrec.evaluate import evaluate  # noqa: E402
from graphrec.model import get_model_class  # noqa: E402
from graphrec.split import refit_split  # noqa: E402

QUERIES: list[tuple[str, int, float]] = [("last", 5, 1.0), ("mean_recent", 5, 0.25), ("mean_recent", 3, 0.5),
                                         ("mean_recent", 5, 0.5), ("mean_recent", 2, 0.25), ("mean_recent", 5, 0.1)]


def run(model: str, dataset: str, seeds: list[int], overrides: dict[str, Any], out: Path) -> None:
    split = datasets.load(dataset).split()
    for seed in seeds:
        for fit in ("valid", "test"):
            fit_split = refit_split(split) if fit == "test" else split
            cases = split.test if fit == "test" else split.valid
            counts = (split.train_full if fit == "test" else split.train).item_counts()
            t0 = time.perf_counter()
            m = get_model_class(model)(**{**overrides, "seed": seed}).fit(fit_split)
            row: dict[str, Any] = {"model": model, "dataset": dataset, "seed": seed, "fit": fit,
                                   "fit_s": round(time.perf_counter() - t0, 1), "overrides": overrides,
                                   "load1": round(os.getloadavg()[0], 2), "command": command(),
                                   "commit": machine()["git_commit"]}
            for pooling, recent, decay in QUERIES:
                m.config = replace(m.config, pooling=pooling, recent=recent, decay=decay)
                r = evaluate(m, cases, ks=(10,), item_counts=counts)
                row[query_label(pooling, recent, decay)] = [round(r["HR@10"], 4), round(r["NDCG@10"], 4)]
            print(json.dumps(row), flush=True)
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")


def render(name: str) -> Path:
    rows = [json.loads(x) for x in (RESULTS / f"{name}.jsonl").read_text().splitlines() if x.strip()]
    labels = [query_label(*q) for q in QUERIES]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["model"], r["dataset"])].append(r)
    m = machine()
    lines = [f"# {name}: history pooling of walk-model queries", "",
             "One fit per (dataset, seed, fit), every query scored on the same vectors. valid: fitted on train, "
             "scored on the validation cases; test: fitted on train + validation, scored on the test cases. Full "
             "ranking, seen items excluded. NDCG@10 (HR@10 in the per-seed table); mean over the seeds.", "",
             "Commands:  ", *sorted({f"`{r['command']}`  " for r in rows}),
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB  ",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + "  ",
             "Commits: " + ", ".join(sorted({str(r["commit"]) for r in rows})), ""]
    lines += ["| model | dataset | fit | seeds | " + " | ".join(labels) + " |",
              "|---" * (4 + len(labels)) + "|"]
    for (model, dataset), rs in sorted(groups.items()):
        for fit in ("valid", "test"):
            sel = [r for r in rs if r["fit"] == fit]
            if not sel:
                continue
            means = [sum(r[q][1] for r in sel) / len(sel) for q in labels]
            best = max(means)
            cells = [f"**{x:.4f}**" if x == best else f"{x:.4f}" for x in means]
            seeds = ",".join(str(r["seed"]) for r in sel)
            lines.append(f"| {model} | {dataset} | {fit} | {seeds} | " + " | ".join(cells) + " |")
    lines += ["", "Per seed (HR@10 / NDCG@10; fit seconds beside other jobs, not a timing):", "",
              "| model | dataset | seed | fit | fit s | " + " | ".join(labels) + " |",
              "|---" * (5 + len(labels)) + "|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['dataset']} | {r['seed']} | {r['fit']} | {r['fit_s']} | "
                     + " | ".join(f"{r[q][0]:.4f} / {r[q][1]:.4f}" for q in labels) + " |")
    notes = RESULTS / f"{name}.notes.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    path = RESULTS / f"{name}.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="eges")
    ap.add_argument("--datasets", default="beauty,lastfm")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--name", default="walks_pooling")
    ap.add_argument("--render", metavar="NAME", help="only write NAME.md from NAME.jsonl")
    a = ap.parse_args()
    if a.render:
        print(render(a.render))
        return
    overrides = parse_overrides(a.set)
    for dataset in a.datasets.split(","):
        run(a.model, dataset, [int(s) for s in a.seeds.split(",")], overrides, RESULTS / f"{a.name}.jsonl")
    print(render(a.name))


if __name__ == "__main__":
    main()
