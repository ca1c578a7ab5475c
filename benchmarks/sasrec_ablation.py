"""Ablation of SASRec's objective, side information and graph fusion on ML-1M and Beauty.

Every row is one ``python -m sequential.run`` command (listed in the table), run in the background with
``OMP_WAIT_POLICY=PASSIVE nice -n 2`` and a wall-time cap (``max_minutes``) because the 2 cores are shared;
rows are therefore equal-*budget* results, not converged ones, and the epochs reached are reported beside them.

Usage::

    .venv/bin/python benchmarks/sasrec_ablation.py --list                # the commands
    .venv/bin/python benchmarks/sasrec_ablation.py --run beauty_ce       # run one row (writes RUNS/beauty_ce.json)
    .venv/bin/python benchmarks/sasrec_ablation.py --render              # the table from RUNS/*.json
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

ML1M = ["--dataset", "ml-1m"]
BEAUTY = ["--dataset", "beauty", "--set", "max_len=50", "--set", "dropout=0.5"]

#: name -> (dataset, row label, arguments of `python -m sequential.run`)
VARIANTS: dict[str, tuple[str, str, list[str]]] = {
    "ml1m_bce": ("ML-1M", "SASRec-BCE (1 negative, the original)", [*ML1M, "--set", "loss=bce",
                                                                     "--set", "max_minutes=45"]),
    "ml1m_C": ("ML-1M", "SASRec-CE (default)", [*ML1M, "--set", "num_threads=2", "--set", "max_minutes=110"]),
    "ml1m_ssm": ("ML-1M", "SASRec sampled softmax (256 uniform, log-Q)", [*ML1M, "--set", "loss=sampled_softmax",
                                                                          "--set", "max_minutes=45"]),
    "ml1m_fusion": ("ML-1M", "SASRec-CE + graph fusion (gnn encoder, gate)", [*ML1M, "--model", "fusion",
                                                                             "--set", "max_minutes=70"]),
    "beauty_bce": ("Beauty", "SASRec-BCE (1 negative, the original)", [*BEAUTY, "--set", "loss=bce",
                                                                       "--set", "max_minutes=30"]),
    "beauty_ce": ("Beauty", "SASRec-CE", [*BEAUTY, "--set", "max_minutes=45"]),
    "beauty_ssm": ("Beauty", "SASRec sampled softmax (256 uniform, log-Q)", [*BEAUTY, "--set", "loss=sampled_softmax",
                                                                             "--set", "max_minutes=45"]),
    "beauty_side": ("Beauty", "SASRec-CE + side info", [*BEAUTY, "--set", "side_info=true", "--set", "max_minutes=40"]),
    "beauty_fusion": ("Beauty", "SASRec-CE + graph fusion (gnn encoder, gate, top-20 graph)",
                      [*BEAUTY, "--model", "fusion", "--set", "graph_top_k=20", "--set", "max_minutes=40"]),
}


def command(name: str, runs: Path) -> list[str]:
    args = VARIANTS[name][2]
    extra = [] if any(a.startswith("num_threads") for a in args) else ["--set", "num_threads=1"]
    return [".venv/bin/python", "-m", "sequential.run", *args, *extra, "--set", "progress=false",
            "--json", str(runs / f"{name}.json")]


def valid_curve(runs: Path, name: str) -> list[float]:
    """Validation NDCG@10 per epoch from the log of a run that did not finish (``RUNS/NAME.log``)."""
    log = runs / f"{name}.log"
    if not log.exists():
        return []
    pat = re.compile(r"epoch \d+ loss [\d.]+ valid NDCG@10 ([\d.]+)")
    return [float(m.group(1)) for m in map(pat.search, log.read_text().splitlines()) if m]


def render(runs: Path) -> str:
    lines = ["# SASRec ablation (full ranking, leave-one-out, seen items excluded; test split)", "",
             "Equal wall-time caps under shared-CPU contention (load average 11-15 on 2 cores during the runs), so "
             "these are budget-limited, not converged, numbers; `epochs` is how far each run got, `best` the epoch "
             "kept by validation NDCG@10.", "",
             "| dataset | variant | HR@10 | NDCG@10 | epochs | best | fit min | command |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for name, (ds, label, _) in VARIANTS.items():
        path = runs / f"{name}.json"
        cmd = "`OMP_WAIT_POLICY=PASSIVE nice -n 2 " + shlex.join(command(name, Path("runs"))) + "`"
        if not path.exists():
            curve = valid_curve(runs, name)
            status = f"unfinished at render time, {len(curve)} epochs logged, no test" if curve else "not run"
            lines.append(f"| {ds} | {label} | - | - | {len(curve)} | - | - | {status}: {cmd} |")
            continue
        r = json.loads(path.read_text())
        t, h = r["test"], r["history"]
        lines.append(f"| {ds} | {label} | {t['HR@10']:.4f} | {t['NDCG@10']:.4f} | {len(h['epoch'])} | "
                     f"{h['best_epoch'][0]} | {r['fit_seconds'] / 60:.0f} | {cmd} |")
    lines += ["", "## Validation NDCG@10 by epoch (the equal-epoch comparison)", "",
              "| dataset | variant | " + " | ".join(f"ep {e}" for e in range(1, 11)) + " |",
              "|---|---|" + "---:|" * 10]
    for name, (ds, label, _) in VARIANTS.items():
        path = runs / f"{name}.json"
        v = json.loads(path.read_text())["history"]["valid_ndcg10"] if path.exists() else valid_curve(runs, name)
        v = v[:10]
        if v:
            lines.append(f"| {ds} | {label} | " + " | ".join(f"{x:.4f}" for x in v) + " |" * (11 - len(v)))
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", default="runs", help="directory of the run JSONs (default: ./runs)")
    p.add_argument("--list", action="store_true")
    p.add_argument("--run", choices=sorted(VARIANTS))
    p.add_argument("--render", action="store_true")
    args = p.parse_args()
    runs = Path(args.runs)
    if args.list:
        for name in VARIANTS:
            print(shlex.join(command(name, runs)))
    if args.run:
        runs.mkdir(parents=True, exist_ok=True)
        subprocess.run(command(args.run, runs), check=True, cwd=ROOT)
    if args.render:
        text = render(runs)
        (RESULTS / "sasrec_ablation.md").write_text(text, encoding="utf-8")
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
