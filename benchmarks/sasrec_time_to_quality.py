"""Time to quality of the default SASRec on ML-1M, with RecBole 1.2.1's per-epoch time side by side.

Writes ``benchmarks/results/sasrec_time_to_quality.{md,json,png}``: validation NDCG@10 against wall time, test
metrics of the best epoch (full ranking, leave-one-out, seen items excluded), and RecBole's SASRec (CE loss,
max_len 200, batch 2048, hidden 64, 2 layers, prefix-augmented samples) timed on a fixed number of batches in a
throwaway venv (``benchmarks/.venvs/recbole``, see ``benchmarks/sasrec_recbole_timing.py``).

Usage::

    OMP_WAIT_POLICY=PASSIVE nice -n 2 .venv/bin/python benchmarks/sasrec_time_to_quality.py --budget-minutes 20
    # or render a finished run of `python -m sequential.run --dataset ml-1m --json RUN.json`:
    .venv/bin/python benchmarks/sasrec_time_to_quality.py --from-json RUN.json --recbole-json RB.json

The 2 cores of the project machine are shared with other jobs: ``uptime`` load averages are recorded at the start
and the end, and every time here is wall time under that contention.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SHOWN = ("loss", "max_len", "embedding_dim", "num_blocks", "num_heads", "dropout", "lr", "batch_size", "positions")
RECBOLE_PY = ROOT / "benchmarks" / ".venvs" / "recbole" / "bin" / "python"


def machine() -> dict[str, Any]:
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "git_commit": commit.strip(),
            "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}


def run_recbole(batches: int, out: Path) -> dict[str, Any] | None:
    if not RECBOLE_PY.exists():
        print(f"no RecBole venv at {RECBOLE_PY}: skipping the side-by-side", file=sys.stderr)
        return None
    subprocess.run([str(RECBOLE_PY), str(ROOT / "benchmarks" / "sasrec_recbole_timing.py"), "--batches", str(batches),
                    "--json", str(out)], check=True, cwd=ROOT)
    return json.loads(out.read_text())


def plot(history: dict[str, list[float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s / 60 for s in history["seconds"]]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(minutes, history["valid_ndcg10"], marker="o")
    ax.axvline(20, color="grey", ls="--", lw=0.8, label="20 min")
    ax.set_xlabel("wall time (minutes, 2 shared CPU cores)")
    ax.set_ylabel("validation NDCG@10")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def report(result: dict[str, Any], rb: dict[str, Any] | None, env: dict[str, Any], command: str) -> str:
    h, test = result["history"], result["test"]
    epochs = len(h["epoch"])
    ours_epoch = sum(h["train_seconds"]) / max(epochs, 1)
    lines = [
        "# SASRec time to quality on ML-1M (default configuration)", "",
        f"Command: `{command}`", "",
        f"Machine: {env['cpu']}, {env['cores']} cores shared with other engineers' jobs; python {env['python']}, "
        f"torch {env['torch']}, OMP_WAIT_POLICY={env['omp_wait_policy']}, graphrec {env['git_commit']}.",
        f"Load at start: `{env['uptime']}`; at end: `{env.get('uptime_end', '?')}`.", "",
        f"Config: {json.dumps({k: result['config'][k] for k in SHOWN})}",
        "",
        f"Test (best validation epoch {h.get('best_epoch', ['?'])[0]}, full ranking, seen items excluded): "
        f"**HR@10 {test['HR@10']:.4f}, NDCG@10 {test['NDCG@10']:.4f}**, HR@20 {test['HR@20']:.4f}, "
        f"NDCG@20 {test['NDCG@20']:.4f}; fit time {result['fit_seconds'] / 60:.1f} min.", "",
        "| epoch | wall min | train s (epoch) | loss | valid NDCG@10 |", "|---:|---:|---:|---:|---:|",
    ]
    for i in range(epochs):
        lines.append(f"| {h['epoch'][i]} | {h['seconds'][i] / 60:.1f} | {h['train_seconds'][i]:.0f} | "
                     f"{h['loss'][i]:.4f} | {h['valid_ndcg10'][i]:.4f} |")
    lines += ["", "## Per-epoch time side by side", "",
              "| tool | samples per epoch | batch | batches per epoch | s per batch | epoch (s) |",
              "|---|---:|---:|---:|---:|---:|",
              f"| graphrec SASRec (whole sequences) | 6,040 users | {result['config']['batch_size']} | "
              f"{-(-6040 // result['config']['batch_size'])} | "
              f"{ours_epoch / -(-6040 // result['config']['batch_size']):.2f} | {ours_epoch:.0f} (measured mean) |"]
    if rb is not None:
        lines.append(f"| RecBole 1.2.1 SASRec (prefix augmentation) | {rb['train_samples']:,} | {rb['batch_size']} | "
                     f"{rb['batches_per_epoch']} | {rb['seconds_per_batch']:.1f} | "
                     f"{rb['epoch_seconds_estimate']:.0f} (from {rb['timed_batches']} timed batches) |")
        lines += ["", f"RecBole epoch / graphrec epoch: **{rb['epoch_seconds_estimate'] / ours_epoch:.0f}x**."]
    lines += ["", "![validation NDCG@10 against wall time](sasrec_time_to_quality.png)", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget-minutes", type=float, default=20.0)
    p.add_argument("--from-json", default=None, help="result JSON of `python -m sequential.run --json`")
    p.add_argument("--recbole-json", default=None, help="reuse a sasrec_recbole_timing.py result")
    p.add_argument("--recbole-batches", type=int, default=3)
    p.add_argument("--command", default=None, help="the command that produced --from-json (for the report)")
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = machine()
    command = " ".join([Path(sys.executable).name, *sys.argv])
    if args.from_json:
        result = json.loads(Path(args.from_json).read_text())
        command = args.command or command
    else:
        from sequential.run import run

        t0 = time.perf_counter()
        result = run("ml-1m", "sasrec", {"max_minutes": args.budget_minutes, "progress": False, "num_threads": 2})
        result["wall_seconds"] = time.perf_counter() - t0
    rb = json.loads(Path(args.recbole_json).read_text()) if args.recbole_json else \
        run_recbole(args.recbole_batches, out / "sasrec_recbole_timing.json")
    env["uptime_end"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    plot(result["history"], out / "sasrec_time_to_quality.png", "SASRec (default) on ML-1M")
    (out / "sasrec_time_to_quality.json").write_text(json.dumps({"result": result, "recbole": rb, "machine": env,
                                                                 "command": command}, indent=2, default=float))
    (out / "sasrec_time_to_quality.md").write_text(report(result, rb, env, command), encoding="utf-8")
    print((out / "sasrec_time_to_quality.md").read_text())


if __name__ == "__main__":
    main()
