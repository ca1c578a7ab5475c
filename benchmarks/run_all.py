"""Models x datasets with fixed seeds: JSON, a markdown table beside published anchors, PNG plots.

    python benchmarks/run_all.py --out benchmarks/results                      # every model, every dataset
    python benchmarks/run_all.py --models popular,itemknn --datasets beauty,lastfm
    python benchmarks/run_all.py --quick                                       # synthetic + lastfm, baselines

Each (dataset, model) pair runs as its own ``graphrec bench`` process, so wall time and peak RSS are its own.
Rows record the command, git commit, dataset md5, versions, wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from graphrec.bench import markdown_table  # noqa: E402

ALL_DATASETS = ["ml-1m", "beauty", "lastfm", "diginetica", "ml-100k", "synthetic"]
ALL_MODELS = ["popular", "itemknn", "deepwalk", "node2vec", "eges", "graphsage", "pinsage", "edge-gnn", "sasrec",
              "fusion"]
KS = (5, 10, 20, 50)


def run_pair(dataset: str, model: str, work: Path, seed: int, extra: list[str]) -> dict:
    out = work / dataset
    cmd = [str(Path(sys.executable).with_name("graphrec")), "bench", "--dataset", dataset, "--model", model,
           "--out", str(out), "--seed", str(seed), "--ks", ",".join(map(str, KS)), *extra]
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"dataset": dataset, "model": model, "error": proc.stderr.strip().splitlines()[-1:] or ["failed"],
                "command": " ".join(cmd)}
    row = json.loads((out / model / "metrics.json").read_text())
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    row.update({"command": " ".join(cmd[1:]).replace(str(work), "OUT"), "wall_seconds": wall,
                "peak_rss_mb": max(rss, before) / 1024.0 if rss > before else row.get("peak_rss_mb")})
    return row


def plot(rows: list[dict], out: Path, name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_ds: dict[str, list[dict]] = {}
    for r in rows:
        if "error" not in r:
            by_ds.setdefault(r["dataset"], []).append(r)
    for ds, rs in by_ds.items():
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for r in rs:
            for ax, metric in zip(axes, ("HR", "NDCG"), strict=True):
                ax.plot(KS, [r[f"{metric}@{k}"] for k in KS], marker="o", label=r["model"])
                ax.set_xlabel("K")
                ax.set_ylabel(f"{metric}@K")
                ax.set_xscale("log")
                ax.set_xticks(KS, [str(k) for k in KS])
                ax.minorticks_off()
        axes[0].legend(fontsize=8)
        fig.suptitle(f"{ds}: test, full ranking")
        fig.tight_layout()
        fig.savefig(out / f"{name}_{ds}.png", dpi=90)
        plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--datasets", default=",".join(ALL_DATASETS))
    ap.add_argument("--models", default=",".join(ALL_MODELS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", default="bench_out/run_all", help="Where per-run directories go (not committed).")
    ap.add_argument("--quick", action="store_true", help="synthetic + lastfm with popular and itemknn")
    ap.add_argument("--name", default="run_all", help="Result file stem under --out (.json, .md, _DATASET.png).")
    ap.add_argument("--threads", type=int, default=None, help="Torch threads per run (default: the torch default).")
    args = ap.parse_args()
    datasets = ["synthetic", "lastfm"] if args.quick else args.datasets.split(",")
    models = ["popular", "itemknn"] if args.quick else args.models.split(",")
    out, work = Path(args.out), Path(args.work)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for ds in datasets:
        for m in models:
            row = run_pair(ds, m, work, args.seed, [] if args.threads is None else ["--threads", str(args.threads)])
            rows.append(row)
            status = row.get("error") or f"HR@10={row['HR@10']:.4f} NDCG@10={row['NDCG@10']:.4f}"
            print(f"{ds:>18} {m:>10}: {status} ({row.get('wall_seconds', 0):.0f}s)", flush=True)
    mach = machine()
    (out / f"{args.name}.json").write_text(json.dumps({"machine": mach, "rows": rows}, indent=2, default=str))
    md = [f"# {args.name}\n", f"Command: `python benchmarks/run_all.py {' '.join(sys.argv[1:])}`  ",
          f"Machine: {mach['cpu']}, {mach['cores']} cores; load average at the end {mach['load_avg']}  ",
          f"Commit: {mach['git_commit']}; versions: {mach['versions']}\n",
          "Test split, full ranking over the whole catalogue; leave-one-out datasets exclude the user's earlier "
          "items, Diginetica does not (SR-GNN protocol). `fit for test` says whether the model was refitted on "
          "train + validation before the test run.\n"]
    for ds in datasets:
        rs = [r for r in rows if r["dataset"] == ds and "error" not in r]
        md.append(f"## {ds}\n")
        md.append(markdown_table(rs, ds))
        md.append("| model | wall s | peak RSS MiB | dataset md5 |\n|---|---|---|---|")
        for r in rs:
            md.append(f"| {r['model']} | {r['wall_seconds']:.1f} | {r.get('peak_rss_mb') or 0:.0f} | "
                      f"{r.get('data_hash')} |")
        failed = [r for r in rows if r["dataset"] == ds and "error" in r]
        for r in failed:
            md.append(f"\n{r['model']}: failed: {r['error']}")
        md.append("")
    (out / f"{args.name}.md").write_text("\n".join(md) + "\n")
    plot(rows, out, args.name)
    print(f"wrote {out / (args.name + '.md')}", file=sys.stderr)
    os._exit(0)


if __name__ == "__main__":
    main()
