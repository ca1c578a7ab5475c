"""Validation sweep of walk-model settings: fit on ``split.train`` with overrides, score the validation cases.

    python benchmarks/walks_sweep.py --model deepwalk --dataset beauty --seeds 0,1 --name w10 \\
        --set workers=1 --set window_size=10
    python benchmarks/walks_sweep.py --render

Each run appends one line per seed to ``benchmarks/results/walks_sweep.jsonl`` with HR@10 / NDCG@10 for the
model's default query and for the last item alone (the same vectors); ``--render`` writes ``walks_sweep.md`` with
the per-seed values and the mean per (model, dataset, setting). Full ranking, seen items excluded (the dataset's
standard split). Fit seconds are wall time beside whatever else ran (``load1``): not a timing.
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

from _common import RESULTS, machine  # noqa: E402

from graphrec import datasets  # noqa: E402
from graphrec.config import parse_overrides  # noqa: E402
from graphrec.evaluate import evaluate  # noqa: E402
from graphrec.model import get_model_class  # noqa: E402

FILE = RESULTS / "walks_sweep.jsonl"


def sweep(model: str, dataset: str, seeds: list[int], overrides: dict[str, Any]) -> list[dict[str, Any]]:
    split = datasets.load(dataset).split()
    counts = split.train.item_counts()
    out = []
    for seed in seeds:
        t0 = time.perf_counter()
        m = get_model_class(model)(**{**overrides, "seed": seed}).fit(split)
        fit_s = time.perf_counter() - t0
        row: dict[str, Any] = {"seed": seed, "fit_s": round(fit_s, 1), "load1": round(os.getloadavg()[0], 2)}
        for query in ("default", "last"):
            if query == "last":
                m.config = replace(m.config, pooling="last")
            r = evaluate(m, split.valid, ks=(10,), item_counts=counts)
            row[query] = [round(r["HR@10"], 4), round(r["NDCG@10"], 4)]
        out.append(row)
        print(json.dumps(row), flush=True)
    return out


def render() -> Path:
    lines = [json.loads(x) for x in FILE.read_text().splitlines() if x.strip()]
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    settings: dict[tuple[str, str, str], str] = {}
    for line in lines:
        key = (line["model"], line["dataset"], line["name"])
        groups[key].extend(line["rows"])
        settings[key] = " ".join(f"{a}={b}" for a, b in line["overrides"].items()
                                 if a not in ("workers", "num_threads"))
    head = lines[0]["machine"]
    out = ["# Walk-model settings on the validation split", "",
           "Fit on train, scored on the validation cases (full ranking, seen items excluded), one fit per seed. "
           "`default` = the model's default query at the time of the run (DeepWalk/node2vec: the last 5 items "
           "weighted `0.25 ** age`; EGES: the last item), `last` = the last item alone, on the same vectors. "
           "Skip-gram on one thread. Fit seconds are wall time beside other jobs (`load`), not a timing.", "",
           f"Machine: {head['cpu']}, {head['cores']} cores; commit {head['git_commit']}", "",
           "## Means over seeds (validation NDCG@10, HR@10)", "",
           "| model | dataset | setting | seeds | NDCG@10 | HR@10 | NDCG@10 (last item) | mean fit s |",
           "|---|---|---|---|---|---|---|---|"]
    for (model, ds, name), rows in groups.items():
        n = len(rows)

        def mean(q: str, i: int, rows: list[dict[str, Any]] = rows, n: int = n) -> float:
            return sum(r[q][i] for r in rows) / n

        out.append(f"| {model} | {ds} | {name}: {settings[(model, ds, name)] or 'defaults'} | "
                   f"{','.join(str(r['seed']) for r in rows)} | {mean('default', 1):.4f} | {mean('default', 0):.4f} | "
                   f"{mean('last', 1):.4f} | {sum(r['fit_s'] for r in rows) / n:.0f} |")
    out += ["", "## Per seed", "", "| model | dataset | setting | seed | HR@10 | NDCG@10 | last HR@10 | last NDCG@10 | "
            "fit s | load |", "|---|---|---|---|---|---|---|---|---|---|"]
    for (model, ds, name), rows in groups.items():
        for r in rows:
            out.append(f"| {model} | {ds} | {name} | {r['seed']} | {r['default'][0]:.4f} | {r['default'][1]:.4f} | "
                       f"{r['last'][0]:.4f} | {r['last'][1]:.4f} | {r['fit_s']} | {r.get('load1', '')} |")
    out += ["", "Commands:", ""] + sorted({f"`{line['command']}`  " for line in lines})
    path = FILE.with_suffix(".md")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="deepwalk")
    ap.add_argument("--dataset", default="beauty")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--name", default="defaults")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--render", action="store_true", help="only write walks_sweep.md")
    args = ap.parse_args(argv)
    if not args.render:
        overrides = parse_overrides(args.set)
        rows = sweep(args.model, args.dataset, [int(s) for s in args.seeds.split(",")], overrides)
        line = {"model": args.model, "dataset": args.dataset, "name": args.name, "overrides": overrides, "rows": rows,
                "machine": machine(),
                "command": "python benchmarks/walks_sweep.py " + " ".join(sys.argv[1:] if argv is None else argv)}
        with open(FILE, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
    print(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
