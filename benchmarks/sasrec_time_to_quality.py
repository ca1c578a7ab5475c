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


def time_our_batches(batches: int, threads: int = 2) -> dict[str, Any]:
    """Wall and CPU seconds of ``batches`` training steps of the default SASRec on ML-1M (as RecBole is timed)."""
    import numpy as np
    import torch

    from graphrec import datasets
    from graphrec.training import set_seed
    from sequential.data import TrainData
    from sequential.losses import SequenceLoss
    from sequential.sasrec import SASRec
    from sequential.trainer import _Step, _step, epoch_batches

    torch.set_num_threads(threads)
    split = datasets.load("ml-1m").split()
    model = SASRec(progress=False)
    data = TrainData(split.train, model.config.max_len)
    model.config = cfg = model.config.resolve(float(np.median(data.lengths)))  # dropout, as fit() resolves it
    set_seed(cfg.seed)
    net = model._build(model._item_encoder(split), split.num_items)
    loss = SequenceLoss(cfg, split.num_items, split.train.item_counts())
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=(0.9, cfg.adam_beta2))
    epoch = epoch_batches(data.lengths, cfg.batch_size, cfg.length_buckets, 0)  # as the trainer batches
    gen = torch.Generator().manual_seed(0)
    wall, cpu = [], []
    for b in range(batches):
        rows = epoch[b]
        t, c = time.perf_counter(), time.process_time()
        _step(_Step(net), net, data, rows, loss, cfg, opt, gen, 1)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    n = len(epoch)
    return {"batch_size": cfg.batch_size, "batches_per_epoch": n, "timed_batches": batches, "threads": threads,
            "seconds_per_batch": float(np.mean(wall)), "cpu_seconds_per_batch": float(np.mean(cpu)),
            "epoch_seconds_estimate": float(np.mean(wall)) * n, "epoch_cpu_seconds_estimate": float(np.mean(cpu)) * n}


def history_from_log(log_path: Path) -> dict[str, Any]:
    """A provisional result (config defaults, history without test) from the log of an unfinished run."""
    import re

    from graphrec.config import to_dict
    from sequential.config import SASRecConfig

    h: dict[str, list[float]] = {"epoch": [], "loss": [], "valid_ndcg10": [], "seconds": []}
    pat = re.compile(r"epoch (\d+) loss ([\d.]+) valid NDCG@10 ([\d.na]+) \((\d+) s\)")
    for line in log_path.read_text().splitlines():
        m = pat.search(line)
        if m:
            for key, val in zip(h, m.groups(), strict=True):
                h[key].append(float(val))
    return {"config": to_dict(SASRecConfig()), "history": h}


def cpu_from_samples(log_path: Path, samples_path: Path) -> list[float]:
    """CPU seconds of a run's process at each epoch, for runs made before the trainer recorded them: epoch
    timestamps from the run's log, interpolated in ``benchmarks/sasrec_cpu_sampler.py`` samples
    (``unix_time ticks ticks_per_s``); before the first sample, CPU time is interpolated linearly from the process
    start (first log line, 0 s)."""
    import datetime as dt

    import numpy as np

    def stamp(line: str) -> float:
        return dt.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=dt.UTC).timestamp()

    lines = log_path.read_text().splitlines()
    start = stamp(lines[0])
    epochs = [stamp(x) for x in lines if "sequential.trainer epoch" in x]
    rows = np.loadtxt(samples_path)
    t = np.concatenate([[start], rows[:, 0]])
    c = np.concatenate([[0.0], rows[:, 1] / rows[:, 2]])
    return [float(v) for v in np.interp(epochs, t, c)]


def plot(history: dict[str, list[float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([s / 60 for s in history["seconds"]], history["valid_ndcg10"], marker="o",
            label="wall time")
    if history.get("cpu_seconds"):
        ax.plot([s / 120 for s in history["cpu_seconds"]], history["valid_ndcg10"], marker="s",
                label="CPU time / 2 (lower bound on 2 idle cores)")
    ax.axvline(20, color="grey", ls="--", lw=0.8, label="20 min")
    ax.set_xlabel("minutes")
    ax.set_ylabel("validation NDCG@10")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def report(result: dict[str, Any], rb: dict[str, Any] | None, ours: dict[str, Any], env: dict[str, Any],
           command: str) -> str:
    h, test = result["history"], result.get("test")
    epochs = len(h["epoch"])
    cpu = h.get("cpu_seconds") or [float("nan")] * epochs
    lines = [
        "# SASRec time to quality on ML-1M (default configuration)", "",
        f"Command: `{command}`", "",
        f"Machine: {env['cpu']}, {env['cores']} cores (the load averages below say how busy); python {env['python']}, "
        f"torch {env['torch']}, OMP_WAIT_POLICY={env['omp_wait_policy']}, graphrec {env['git_commit']}.",
        f"Load at start: `{env['uptime']}`; at end: `{env.get('uptime_end', '?')}`.", "",
        f"Config: {json.dumps({k: result['config'][k] for k in SHOWN})}", "",
        (f"Test (best validation epoch {h.get('best_epoch', ['?'])[0]} of {epochs}, full ranking, seen items "
         f"excluded): **HR@10 {test['HR@10']:.4f}, NDCG@10 {test['NDCG@10']:.4f}**, HR@20 {test['HR@20']:.4f}, "
         f"NDCG@20 {test['NDCG@20']:.4f}; fit time {result['fit_seconds'] / 60:.1f} min wall.") if test else
        "Test: the run had not finished when this report was rendered (validation curve from its log).", "",
        "`wall min` is measured wall time (validation included); `CPU min` is the CPU time of the training process "
        "(all its threads), so `CPU min / 2` is a lower bound of the wall time on 2 uncontended cores.",
        "",
        "| epoch | wall min | CPU min | loss | valid NDCG@10 |", "|---:|---:|---:|---:|---:|",
    ]
    for i in range(epochs):
        lines.append(f"| {int(h['epoch'][i])} | {h['seconds'][i] / 60:.1f} | {cpu[i] / 60:.1f} | {h['loss'][i]:.4f} | "
                     f"{h['valid_ndcg10'][i]:.4f} |")
    lines += ["", "## Per-epoch training time side by side (fixed number of timed batches, same machine)", "",
              "| tool | samples per epoch | batch | batches per epoch | timed batches | wall s / batch | CPU s / batch "
              "| epoch wall (est.) | epoch CPU (est.) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
              f"| graphrec SASRec (whole sequences) | 6,040 | {ours['batch_size']} | {ours['batches_per_epoch']} | "
              f"{ours['timed_batches']} | {ours['seconds_per_batch']:.2f} | {ours['cpu_seconds_per_batch']:.2f} | "
              f"{ours['epoch_seconds_estimate'] / 60:.1f} min | {ours['epoch_cpu_seconds_estimate'] / 60:.1f} min |"]
    if rb is not None:
        lines.append(f"| RecBole 1.2.1 SASRec (prefix augmentation) | {rb['train_samples']:,} | {rb['batch_size']} | "
                     f"{rb['batches_per_epoch']} | {rb['timed_batches']} | {rb['seconds_per_batch']:.1f} | "
                     f"{rb['cpu_seconds_per_batch']:.1f} | {rb['epoch_seconds_estimate'] / 3600:.1f} h | "
                     f"{rb['epoch_cpu_seconds_estimate'] / 3600:.1f} h |")
        ratio = rb["epoch_cpu_seconds_estimate"] / ours["epoch_cpu_seconds_estimate"]
        lines += ["", f"RecBole epoch CPU time / graphrec epoch CPU time: **{ratio:.0f}x** (both with 2 torch threads; "
                  "CPU time is the contention-independent measure, wall times are as measured)."]
    lines += ["", "![validation NDCG@10 against time](sasrec_time_to_quality.png)", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget-minutes", type=float, default=20.0)
    p.add_argument("--from-json", default=None, help="result JSON of `python -m sequential.run --json`")
    p.add_argument("--recbole-json", default=None, help="reuse a sasrec_recbole_timing.py result")
    p.add_argument("--recbole-batches", type=int, default=3)
    p.add_argument("--command", default=None, help="the command that produced --from-json (for the report)")
    p.add_argument("--log", default=None, help="log of the --from-json run (with --cpu-samples)")
    p.add_argument("--cpu-samples", default=None, help="sasrec_cpu_sampler.py samples of that run")
    p.add_argument("--our-batches", type=int, default=30, help="graphrec batches timed for the side-by-side")
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = machine()
    command = " ".join([Path(sys.executable).name, *sys.argv])
    if args.from_json and not Path(args.from_json).exists() and args.log:
        result = history_from_log(Path(args.log))
        command = args.command or command
    elif args.from_json:
        result = json.loads(Path(args.from_json).read_text())
        command = args.command or command
    else:
        from sequential.run import run

        t0 = time.perf_counter()
        result = run("ml-1m", "sasrec", {"max_minutes": args.budget_minutes, "progress": False, "num_threads": 2})
        result["wall_seconds"] = time.perf_counter() - t0
    rb = json.loads(Path(args.recbole_json).read_text()) if args.recbole_json else \
        run_recbole(args.recbole_batches, out / "sasrec_recbole_timing.json")
    if args.cpu_samples and not result["history"].get("cpu_seconds"):
        result["history"]["cpu_seconds"] = cpu_from_samples(Path(args.log), Path(args.cpu_samples))
    ours = time_our_batches(args.our_batches)
    env["uptime_end"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    plot(result["history"], out / "sasrec_time_to_quality.png", "SASRec (default) on ML-1M")
    record = {"result": result, "recbole": rb, "graphrec_batches": ours, "machine": env, "command": command}
    (out / "sasrec_time_to_quality.json").write_text(json.dumps(record, indent=2, default=float))
    (out / "sasrec_time_to_quality.md").write_text(report(result, rb, ours, env, command), encoding="utf-8")
    print((out / "sasrec_time_to_quality.md").read_text())


if __name__ == "__main__":
    main()
