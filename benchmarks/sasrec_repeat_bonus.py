"""Score a trained SASRec with several ``repeat_bonus`` and ``transition_prior`` values (inference only).

    python -m sequential.run --dataset diginetica --train-full ... --set checkpoint_dir=runs/dig12
    python benchmarks/sasrec_repeat_bonus.py --dataset diginetica --train-full --checkpoint runs/dig12/last.pt \\
        --cases test --bonuses 0,1,2,4,8 --set max_len=50 --set cosine_scale=16

The network is rebuilt from the ``--set`` architecture settings and loaded from ``--checkpoint`` (a training
checkpoint: its last epoch) or ``--run`` (a saved run directory). Every bonus is evaluated with the shared
evaluator (full ranking; seen items excluded only where the dataset's protocol excludes them) on the chosen cases,
split by whether the target is in the history (a repeat) or not. ``--priors`` adds a grid over
``transition_prior`` (the transition graph of ``--transition-window`` is built from the split's train sequences,
as ``fit`` would); ``--recency`` over ``repeat_recency`` (with ``--repeat-decay``) and ``--knn`` over
``knn_prior`` (with ``--neighbors``; the neighbour base is the split's train sequences, as ``fit`` keeps it).
Writes ``sasrec_repeat_bonus_DATASET.{json,md}``.

On ``--cases test`` this is a sensitivity analysis of a knob that must be chosen on validation, not a model
selection: the table says which cases were used.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import RESULTS, command, machine, uptime  # noqa: E402

from graphrec import datasets  # noqa: E402
from graphrec.config import from_dict, parse_overrides  # noqa: E402
from graphrec.evaluate import evaluate  # noqa: E402


def pooled(parts: list[tuple[int, dict[str, float]]]) -> dict[str, float]:
    """The accuracy metrics of the union of disjoint case sets from each set's ``(size, metrics)``: HR, Recall,
    Precision, NDCG and MRR at k are means over cases, so the union's value is the size-weighted mean (Novelty,
    AvgPop and Coverage are not: their per-set values stay in the ``repeat`` and ``new`` rows). Spares a third
    evaluation of every setting."""
    total = sum(n for n, _ in parts)
    keys = [k for k in parts[0][1] if k.split("@")[0] in ("HR", "Recall", "Precision", "NDCG", "MRR")]
    return {k: round(sum(n * m[k] for n, m in parts) / total, 4) for k in keys}


def run(dataset: str, overrides: dict[str, Any], checkpoint: str | None, run_dir: str | None, cases: str,
        bonuses: list[float], train_full: bool, ks: tuple[int, ...], priors: list[float] | None = None,
        transition_window: int = 3, histories: list[int] | None = None,
        decay: float | None = None, recencies: list[float] | None = None, repeat_decay: float = 0.5,
        knns: list[float] | None = None, neighbors: list[int] | None = None,
        knn_decays: list[float] | None = None, knn_recencies: list[float] | None = None,
        knn_idfs: list[bool] | None = None, max_cases: int | None = None,
        prior_scales: list[float] | None = None, transition_recencies: list[float] | None = None,
        knn_query_decays: list[float] | None = None) -> dict[str, Any]:
    import dataclasses

    from graphrec.model import load_model
    from graphrec.split import train_full_split
    from sequential.priors import sequence_matrix, transition_matrix
    from sequential.sasrec import SASRec
    from sequential.trainer import warm_start

    split = datasets.load(dataset).split()
    if train_full:
        split = train_full_split(split)
    if run_dir:
        rec: Any = load_model(run_dir)
    else:
        cfg: Any = from_dict(SASRec.config_class, overrides)
        rec = SASRec(cfg)
        rec.vocab_ = split.vocab
        rec.net_ = rec._build(rec._item_encoder(split), split.num_items)
        warm_start(rec.net_, str(checkpoint))
        rec.net_.eval()
    ev = split.test if cases == "test" else split.valid
    if max_cases is not None and max_cases < len(ev):
        ev = ev.take(np.sort(np.random.default_rng(0).choice(len(ev), max_cases, replace=False)))
    targets = np.asarray(ev.targets).reshape(len(ev.histories), -1)[:, 0]
    repeat = np.array([t in set(ev.histories[i].tolist()) for i, t in enumerate(targets)])
    counts = split.train_full.item_counts()
    priors = priors or [0.0]
    graphs = {tr: transition_matrix(split.train, transition_window, tr) for tr in transition_recencies or [0.0]} \
        if any(priors) else {0.0: None}
    recencies, knns, neighbors = recencies or [0.0], knns or [0.0], neighbors or [50]
    if any(knns):
        rec.sequences_ = sequence_matrix(split.train)
    rows = []
    histories = histories or [1]
    if decay is not None:
        rec.config = dataclasses.replace(rec.config, transition_decay=float(decay))
    knn_decays, knn_recencies, knn_idfs = knn_decays or [0.0], knn_recencies or [0.0], knn_idfs or [False]
    grid = [(b, r, w, h, kw, kn, kd, kr, ki, ps, tr, kq) for b in bonuses for r in recencies for w in priors
            for h in (histories if w else histories[:1]) for kw in knns for kn in (neighbors if kw else neighbors[:1])
            for kd in (knn_decays if kw else knn_decays[:1]) for kr in (knn_recencies if kw else knn_recencies[:1])
            for ki in (knn_idfs if kw else knn_idfs[:1]) for ps in (prior_scales or [1.0])
            for tr in (graphs if w else list(graphs)[:1])
            for kq in ((knn_query_decays or [0.0]) if kw else [0.0])]
    for b, r, w, h, kw, kn, kd, kr, ki, ps, tr, kq in grid:
        if graphs[tr] is not None:
            rec.transitions_ = graphs[tr]
        # a common scale of every prior term: the same ranking as the network's scores divided by it
        b, r, w, kw = b * ps, r * ps, w * ps, kw * ps
        rec.config = dataclasses.replace(rec.config, repeat_bonus=float(b), transition_prior=float(w),
                                         transition_window=transition_window if w else rec.config.transition_window,
                                         transition_history=int(h), repeat_recency=float(r),
                                         repeat_decay=float(repeat_decay), knn_prior=float(kw),
                                         knn_neighbors=int(kn) if kw else rec.config.knn_neighbors,
                                         knn_position_decay=float(kd), knn_recency=float(kr), knn_idf=bool(ki),
                                         knn_query_decay=float(kq))
        rec.config.validate()
        row: dict[str, Any] = {"bonus": b, "prior": w, "history": h, "recency": r, "knn": kw, "neighbors": kn,
                               "knn_decay": kd, "knn_recency": kr, "knn_idf": ki, "prior_scale": ps,
                               "transition_recency": tr, "knn_query_decay": kq}
        parts: dict[str, tuple[int, dict[str, float]]] = {}
        for part, mask in (("repeat", repeat), ("new", ~repeat)):
            idx = np.flatnonzero(mask)
            if len(idx) == 0:  # e.g. no repeat targets where seen items are excluded
                row[part] = None
                continue
            m = evaluate(rec, ev.take(idx), ks=ks, item_counts=counts)
            parts[part] = len(idx), {k: v for k, v in m.items() if "@" in k and not k.startswith("Coverage")}
            row[part] = {k: round(v, 4) for k, v in parts[part][1].items()}
        row["all"] = pooled(list(parts.values()))
        rows.append(row)
        print(json.dumps(row), flush=True)
    return {"dataset": dataset, "cases": cases, "num_cases": len(targets), "max_cases": max_cases,
            "repeat_share": round(float(repeat.mean()), 4), "checkpoint": checkpoint, "run": run_dir,
            "transition_window": transition_window if any(priors) else None,
            "transition_decay": rec.config.transition_decay, "repeat_decay": repeat_decay, "overrides": overrides,
            "rows": rows, "machine": machine(), "command": command(), "uptime": uptime()}


def markdown(result: dict[str, Any], k: int) -> str:
    out = [f"# SASRec inference-time priors on {result['dataset']} ({result['cases']} cases)", "",
           f"Command: `{result['command']}`  ", f"Model: {result['checkpoint'] or result['run']}  ",
           f"Cases: {result['num_cases']:,} {result['cases']} cases; the target is in the history in "
           f"{100 * result['repeat_share']:.1f}% of them.  ",
           f"Machine: {result['machine']['cpu']}, {result['machine']['cores']} cores; commit "
           f"{result['machine']['git_commit']}", ""]
    if result["cases"] == "test":
        out += ["**Test cases: a sensitivity analysis, not a model selection.** The bonus must be chosen on "
                "validation.", ""]
    if result.get("transition_window"):
        mix = (f"; `history`: `transition_history` (the prior mixes the rows of that many recent items, weights "
               f"`{result['transition_decay']} ** age`)" if "transition_decay" in result else "")
        out += [f"`prior`: `transition_prior` over the transition graph of window {result['transition_window']}"
                f"{mix}.", ""]
    if any(r.get("recency") or r.get("knn") for r in result["rows"]):
        out += [f"`recency`: `repeat_recency` (decay `{result.get('repeat_decay')}`); `knn`: `knn_prior` over the "
                "train sequences, `k` of them (`knn_neighbors`); `decay`, `age`, `idf`: `knn_position_decay`, "
                "`knn_recency`, `knn_idf` (STAN's lambda_3 and lambda_2, IDF weights); `q`: `knn_query_decay` "
                "(STAN's lambda_1; 0 = linear click weights); `trec`: `transition_recency`.", ""]
    out += [f"| bonus | recency | prior | history | knn | k | decay | age | idf | q | trec | HR@{k} | MRR@{k} | "
            f"NDCG@10 | HR@{k} on repeats | HR@{k} on new items |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        a, rep, new = r["all"], r["repeat"], r["new"]
        parts = [f"{100 * p[f'HR@{k}']:.2f}" if p else "-" for p in (rep, new)]
        knn = r.get("knn", 0.0)
        out.append(f"| {r['bonus']} | {r.get('recency', 0.0)} | {r.get('prior', 0.0)} | {r.get('history', 1)} | "
                   f"{knn} | {r.get('neighbors') if knn else '-'} | {r.get('knn_decay', 0.0) if knn else '-'} | "
                   f"{r.get('knn_recency', 0.0) if knn else '-'} | {int(r.get('knn_idf', False)) if knn else '-'} | "
                   f"{r.get('knn_query_decay', 0.0) if knn else '-'} | {r.get('transition_recency', 0.0)} | "
                   f"{100 * a[f'HR@{k}']:.2f} | "
                   f"{100 * a[f'MRR@{k}']:.2f} | "
                   f"{a['NDCG@10']:.4f} | {parts[0]} | {parts[1]} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="training checkpoint (last.pt) to score")
    src.add_argument("--run", help="saved run directory to score")
    ap.add_argument("--train-full", action="store_true", help="the model was trained on train + validation")
    ap.add_argument("--cases", choices=["valid", "test"], default="valid")
    ap.add_argument("--bonuses", default="0,1,2,4,8")
    ap.add_argument("--priors", default="0", help="transition_prior values (grid with --bonuses)")
    ap.add_argument("--transition-window", type=int, default=3)
    ap.add_argument("--histories", default="1", help="transition_history values (grid with --priors; default 1, "
                    "the last item alone: the commands of sessions 5 and 6 keep their numbers)")
    ap.add_argument("--decay", type=float, default=None, help="transition_decay (default: the model's)")
    ap.add_argument("--recency", default="0", help="repeat_recency values (grid)")
    ap.add_argument("--repeat-decay", type=float, default=0.5, help="repeat_decay")
    ap.add_argument("--knn", default="0", help="knn_prior values (grid)")
    ap.add_argument("--neighbors", default="50", help="knn_neighbors values (grid with --knn)")
    ap.add_argument("--knn-decay", default="0", help="knn_position_decay values (grid with --knn; 0 = off)")
    ap.add_argument("--knn-recency", default="0", help="knn_recency values (grid with --knn; 0 = off)")
    ap.add_argument("--knn-idf", default="0", help="knn_idf values, 0/1 (grid with --knn)")
    ap.add_argument("--prior-scales", default="1", help="common factors of every prior weight (grid): the ranking "
                    "of the network's scores divided by that factor")
    ap.add_argument("--transition-recency", default="0", help="transition_recency values (grid with --priors)")
    ap.add_argument("--knn-query-decay", default="0", help="knn_query_decay values (grid with --knn; 0 = linear)")
    ap.add_argument("--max-cases", type=int, default=None,
                    help="score a fixed random subset (seed 0) of this many cases instead of all")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="SASRec architecture settings")
    ap.add_argument("--name", default=None, help="result file stem (default sasrec_repeat_bonus_DATASET)")
    args = ap.parse_args(argv)
    if args.train_full and args.cases == "valid":
        ap.error("a model trained on train + validation cannot be scored on the validation cases")
    result = run(args.dataset, parse_overrides(args.set), args.checkpoint, args.run, args.cases,
                 [float(x) for x in args.bonuses.split(",")], args.train_full, (10, args.k),
                 [float(x) for x in args.priors.split(",")], args.transition_window,
                 [int(x) for x in args.histories.split(",")], args.decay,
                 [float(x) for x in args.recency.split(",")], args.repeat_decay,
                 [float(x) for x in args.knn.split(",")], [int(x) for x in args.neighbors.split(",")],
                 [float(x) for x in args.knn_decay.split(",")], [float(x) for x in args.knn_recency.split(",")],
                 [bool(int(x)) for x in args.knn_idf.split(",")], args.max_cases,
                 [float(x) for x in args.prior_scales.split(",")],
                 [float(x) for x in args.transition_recency.split(",")],
                 [float(x) for x in args.knn_query_decay.split(",")])
    name = args.name or f"sasrec_repeat_bonus_{args.dataset}"
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1, default=float) + "\n", encoding="utf-8")
    (RESULTS / f"{name}.md").write_text(markdown(result, args.k), encoding="utf-8")
    print(RESULTS / f"{name}.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
