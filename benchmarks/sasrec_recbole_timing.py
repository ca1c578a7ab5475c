"""Time RecBole 1.2.1's SASRec training on ML-1M for a fixed number of batches (runs INSIDE the throwaway venv).

Usage (normally called by ``benchmarks/sasrec_time_to_quality.py``)::

    benchmarks/.venvs/recbole/bin/python benchmarks/sasrec_recbole_timing.py --batches 3 --json out.json

The venv holds ``recbole==1.2.1`` and ``numpy<2``; torch is the project's torch 2.13.0 CPU wheel (the venv reaches it
through a ``.pth`` path entry, because only the CUDA build of torch 2.13.0 is on PyPI). RecBole is never a graphrec
dependency. The data are SASRec's processed ML-1M (the same file graphrec reads), written as a RecBole atomic file
with the line number as timestamp, so RecBole's leave-one-out ordering matches ours.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def write_atomic(src: Path, root: Path, users: set[str] | None) -> str:
    name = "ml-1m-sasrec" if users is None else f"ml-1m-sasrec-{len(users)}u"
    out = root / name / f"{name}.inter"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(src, encoding="utf-8") as f, open(out, "w", encoding="utf-8") as g:
            g.write("user_id:token\titem_id:token\ttimestamp:float\n")
            for i, line in enumerate(f):
                u, it = line.split()
                if users is None or u in users:
                    g.write(f"{u}\t{it}\t{i}\n")
    return name


def prefix_samples(src: Path) -> tuple[int, list[str]]:
    """RecBole's training samples on the full data: every prefix of each user's train part (length n - 2)
    predicts its next item, so ``n - 3`` samples per user; also the users in file order."""
    counts: dict[str, int] = {}
    with open(src, encoding="utf-8") as f:
        for line in f:
            u = line.split()[0]
            counts[u] = counts.get(u, 0) + 1
    return sum(max(n - 3, 0) for n in counts.values()), list(counts)


def main() -> None:
    p = argparse.ArgumentParser()
    shared = Path(__file__).resolve().parents[2] / "shared"
    p.add_argument("--data", default=str(shared / "datasets/ml-1m/sasrec_ml-1m.txt"))
    p.add_argument("--cache", default=str(Path(__file__).resolve().parent / ".cache"))
    p.add_argument("--batches", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=2048)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--user-fraction", type=float, default=0.2,
                   help="prepare RecBole's data for this share of users only: a batch is [batch, 200] whatever the "
                        "data size, and the full prefix-augmented data set needs ~15 GB, more than this shared "
                        "machine has free; the epoch estimate uses the full data's sample count")
    p.add_argument("--json", required=True)
    args = p.parse_args()

    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.model.sequential_recommender import SASRec
    from recbole.utils import init_seed

    torch.set_num_threads(args.threads)
    full_samples, all_users = prefix_samples(Path(args.data))
    users = None if args.user_fraction >= 1 else set(all_users[: int(len(all_users) * args.user_fraction)])
    name = write_atomic(Path(args.data), Path(args.cache), users)
    config = Config(model="SASRec", dataset=name, config_dict={
        "data_path": args.cache, "USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]}, "MAX_ITEM_LIST_LENGTH": 200,
        "train_batch_size": args.batch_size, "hidden_size": 64, "inner_size": 256, "n_layers": 2, "n_heads": 2,
        "loss_type": "CE", "train_neg_sample_args": None, "learning_rate": 1e-3,
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"},
        "device": "cpu", "use_gpu": False, "show_progress": False, "seed": 0, "reproducibility": True,
        "worker": 0, "checkpoint_dir": str(Path(args.cache) / "saved"),
    })
    init_seed(config["seed"], config["reproducibility"])
    t0 = time.perf_counter()
    dataset = create_dataset(config)
    train_data, _, _ = data_preparation(config, dataset)
    prep_s = time.perf_counter() - t0
    model = SASRec(config, train_data.dataset)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    times, cpu = [], []
    it = iter(train_data)
    for _ in range(args.batches):
        inter = next(it)
        t, c = time.perf_counter(), time.process_time()
        opt.zero_grad()
        loss = model.calculate_loss(inter)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    n_batches = -(-full_samples // args.batch_size)
    per_batch = sum(times) / len(times)
    result = {"recbole": "1.2.1", "torch": torch.__version__, "threads": args.threads,
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "batch_size": args.batch_size,
              "train_samples": full_samples, "prepared_samples": len(train_data.dataset),
              "user_fraction": args.user_fraction, "batches_per_epoch": n_batches, "timed_batches": args.batches,
              "batch_seconds": times, "seconds_per_batch": per_batch, "epoch_seconds_estimate": per_batch * n_batches,
              "batch_cpu_seconds": cpu, "cpu_seconds_per_batch": sum(cpu) / len(cpu),
              "epoch_cpu_seconds_estimate": sum(cpu) / len(cpu) * n_batches,
              "data_preparation_seconds": prep_s}
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
