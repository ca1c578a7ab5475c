"""Short-horizon probes of SASRec settings: a fixed number of optimiser steps, then full-ranking metrics on a
fixed random subset of the validation cases. Used to choose settings on data where one epoch is expensive
(Diginetica: ~2,900 steps an epoch, ~7 min on 2 cores with the full softmax).

    python benchmarks/sasrec_probe.py --dataset diginetica --steps 1200 --name A --set max_len=50
    python benchmarks/sasrec_probe.py --dataset diginetica --steps 1200 --name K --set max_len=50 \\
        --set loss=sampled_softmax --set num_negatives=4096 --set dropout=0.1 --set lr=3e-3
    python benchmarks/sasrec_probe.py --render --file sasrec_probe_diginetica

Every probe trains on ``split.train`` (validation sessions held out) from the same seed, with the same batches as
``SASRec.fit`` (``epoch_batches`` of epoch 0, 1, ...), and evaluates after half and all of ``--steps``. Rows are
appended to ``benchmarks/results/FILE.jsonl``; ``--render`` writes ``FILE.md``. A probe ranks settings by how fast
they learn, not by where they converge: read it as a screen, then train the chosen setting to the end.
Train seconds are wall time and depend on the load of the machine (recorded per row).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import RESULTS, machine  # noqa: E402

from graphrec import datasets  # noqa: E402
from graphrec.config import from_dict, parse_overrides  # noqa: E402
from graphrec.evaluate import evaluate  # noqa: E402

SCORING = ("repeat_bonus", "repeat_recency", "transition_prior", "transition_history", "knn_prior", "knn_neighbors")


def probe(dataset: str, steps: int, overrides: dict[str, Any], cases: int, metric_k: int,
          rescore: dict[str, dict[str, Any]] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rows at half and all of ``steps``, and the inference-time prior settings they were scored with.

    ``rescore`` (name -> scoring settings): the final model is also scored with each of these priors (row key
    ``rescored``), so the scoring of a setting can be chosen on the same validation cases without retraining.
    """
    import dataclasses

    import torch

    from graphrec.training import set_seed, set_threads
    from sequential.data import TrainData
    from sequential.losses import SequenceLoss
    from sequential.sasrec import SASRec
    from sequential.trainer import _Step, _step, epoch_batches, make_optimizer, set_scheduled_lr

    split = datasets.load(dataset).split()
    cfg = from_dict(SASRec.config_class, {"progress": False, **overrides})
    rec = SASRec(cfg)
    data = TrainData(split.train, cfg.max_len, cfg.next_n)
    rec.config = cfg = cfg.resolve(float(np.median(data.lengths)))
    rec.vocab_ = split.vocab
    rec.fit_priors(split.train)  # what the configured inference-time priors read, as fit builds it
    set_threads(cfg.num_threads)
    set_seed(cfg.seed)
    net = rec.net_ = rec._build(rec._item_encoder(split), split.num_items)
    loss_fn = SequenceLoss(cfg, split.num_items, split.train.item_counts())
    opt = make_optimizer(net, cfg)
    rng = np.random.default_rng(0)
    sub = split.valid.take(np.sort(rng.choice(len(split.valid), min(cases, len(split.valid)), replace=False)))
    model, gen = _Step(net), torch.Generator().manual_seed(cfg.seed)
    marks = sorted({steps // 2, steps})
    rows: list[dict[str, Any]] = []
    done, epoch, total, count, t0 = 0, 0, 0.0, 0, time.perf_counter()
    while done < steps:
        batches = epoch_batches(data.lengths, cfg.batch_size, cfg.length_buckets, epoch)
        for rows_ in batches:
            set_scheduled_lr(opt, cfg, done, len(batches))
            net.train()
            s, n = _step(model, net, data, rows_, loss_fn, cfg, opt, gen, 1)
            total, count, done = total + s, count + n, done + 1
            if done in marks:
                train_s = time.perf_counter() - t0
                m = evaluate(rec, sub, ks=(10, metric_k), batch_size=512)
                rows.append({"steps": done, "epochs": round(done / len(batches), 3), "train_s": round(train_s, 1),
                             "loss": round(total / max(count, 1), 4), "load1": round(os.getloadavg()[0], 2),
                             **{k: round(m[k], 4) for k in (f"HR@{metric_k}", f"MRR@{metric_k}", "NDCG@10")}})
                total, count, t0 = 0.0, 0, time.perf_counter()
            if done >= steps:
                break
        epoch += 1
    rescored = {}
    for name, settings in (rescore or {}).items():
        rec.config = from_dict(SASRec.config_class, {**dataclasses.asdict(cfg), **settings})
        m = evaluate(rec, sub, ks=(10, metric_k), batch_size=512)
        rescored[name] = {"scoring": {k: getattr(rec.config, k) for k in SCORING},
                          **{k: round(m[k], 4) for k in (f"HR@{metric_k}", f"MRR@{metric_k}", "NDCG@10")}}
    rec.config = cfg
    if rescored:
        rows[-1]["rescored"] = rescored
    return rows, {k: getattr(cfg, k) for k in SCORING}


def _scoring_label(line: dict[str, Any]) -> str:
    if "scoring" not in line:  # probes run before the priors existed (session 4): the dot product alone
        return "none"
    s = line["scoring"]
    active = [f"{k}={s[k]}" for k in ("repeat_bonus", "repeat_recency", "knn_prior") if s.get(k)]
    if s.get("transition_prior"):
        active.append(f"transition_prior={s['transition_prior']} (history {s.get('transition_history')})")
    return " ".join(active) or "none"


def _f4(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}"


def render(file: str) -> Path:
    lines = [json.loads(x) for x in (RESULTS / f"{file}.jsonl").read_text().splitlines() if x.strip()]
    head = lines[0]
    k = head["metric_k"]
    out = [f"# SASRec short-horizon probes: {head['dataset']}", "",
           "Each row: the setting trained for `steps` optimiser steps from seed 0 on `split.train` (validation "
           "sessions held out), then full ranking on a fixed random subset of the validation cases "
           f"({head['cases']:,}); HR@{k} and MRR@{k} in percent. `train s`: wall seconds of the steps since the "
           "previous mark (load-dependent). A screen of learning speed, not of converged quality.", "",
           f"Machine: {head['machine']['cpu']}, {head['machine']['cores']} cores; "
           f"versions: {', '.join(f'{a} {b}' for a, b in head['machine']['versions'].items())}; "
           f"commit {head['machine']['git_commit']}", "",
           "`scoring`: the inference-time priors added to the dot product when the probe was evaluated (none before "
           "they existed), so rows compare within equal scoring only.", "",
           f"| name | settings | scoring | steps | epochs | loss | HR@{k} | MRR@{k} | NDCG@10 | train s | 1-min load |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for line in lines:
        sets = " ".join(f"{a}={b}" for a, b in line["overrides"].items() if a not in ("num_threads", "progress"))
        for r in line["rows"]:
            out.append(f"| {line['name']} | {sets} | {_scoring_label(line)} | {r['steps']} | {r['epochs']} | "
                       f"{r['loss']} | "
                       f"{100 * r[f'HR@{k}']:.2f} | {100 * r[f'MRR@{k}']:.2f} | {_f4(r.get('NDCG@10'))} | "
                       f"{r['train_s']} | {r.get('load1', '')} |")
            for name, res in r.get("rescored", {}).items():
                out.append(f"| {line['name']} | {sets} | {name}: {_scoring_label(res)} | {r['steps']} | "
                           f"{r['epochs']} | | {100 * res[f'HR@{k}']:.2f} | {100 * res[f'MRR@{k}']:.2f} | "
                           f"{_f4(res.get('NDCG@10'))} | | |")
    out += ["", "Commands (one per row group):", ""] + [f"`{line['command']}`  " for line in lines]
    path = RESULTS / f"{file}.md"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="diginetica")
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--cases", type=int, default=10000, help="validation cases scored (a fixed random subset)")
    ap.add_argument("--k", type=int, default=20, help="cut-off of the HR/MRR columns")
    ap.add_argument("--name", default="probe")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="SASRec config override")
    ap.add_argument("--file", default=None, help="results file stem (default sasrec_probe_DATASET)")
    ap.add_argument("--render", action="store_true", help="only write FILE.md from FILE.jsonl")
    ap.add_argument("--rescore", action="append", default=[], metavar="NAME:KEY=VALUE,...",
                    help="also score the final model with these inference-time priors (repeatable); the priors "
                         "they read (the kNN index) must be built, i.e. enabled in --set")
    args = ap.parse_args(argv)
    file = args.file or f"sasrec_probe_{args.dataset}"
    if not args.render:
        overrides = parse_overrides(args.set)
        rescore = {}
        for spec in args.rescore:
            name, _, sets = spec.partition(":")
            values = parse_overrides([x for x in sets.split(",") if x])
            unknown = sorted(set(values) - set(SCORING))
            if unknown:
                raise SystemExit(f"--rescore {name}: {unknown} are not scoring settings (known: {', '.join(SCORING)})")
            rescore[name] = values  # typed by the config when applied
        rows, scoring = probe(args.dataset, args.steps, overrides, args.cases, args.k, rescore)
        line = {"name": args.name, "dataset": args.dataset, "overrides": overrides, "rows": rows,
                "scoring": scoring, "cases": args.cases,
                "metric_k": args.k, "machine": machine(),
                "command": "python benchmarks/sasrec_probe.py " + " ".join(sys.argv[1:] if argv is None else argv)}
        with open(RESULTS / f"{file}.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
        print(json.dumps(line["rows"]))
    print(render(file))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
