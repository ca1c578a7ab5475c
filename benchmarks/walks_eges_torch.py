"""EGES trained by the numba kernel against the PyTorch minibatch trainer (``trainer="torch"``), same data and seeds.

    python benchmarks/walks_eges_torch.py --datasets lastfm --seeds 0 --threads 2

For every dataset and seed both trainers fit EGES with its defaults on train + validation (as ``graphrec bench``
refits walk models) and score the test cases (full ranking, seen items excluded, the default pooled query):
HR@10, NDCG@10, fit seconds and (centre, context) pairs per second. Both train on the same walks, down-sampling,
pairs and negative distribution; they differ in the optimiser (one SGD step per centre, Hogwild, against Adam on
shuffled minibatches with sparse gradients). Writes ``results/walks_eges_torch.{json,md}`` (or ``--name``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import uptime, write_results  # noqa: E402

from graphrec import datasets  # noqa: E402
from graphrec.evaluate import evaluate  # noqa: E402
from graphrec.split import refit_split  # noqa: E402
from walks.eges import EGES  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="lastfm")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--trainers", default="numba,torch")
    ap.add_argument("--batch-size", type=int, default=None, help="override the torch trainer's batch_size")
    ap.add_argument("--name", default="walks_eges_torch")
    a = ap.parse_args()
    start = uptime()
    rows: list[dict[str, Any]] = []
    for ds in a.datasets.split(","):
        split = datasets.load(ds).split()
        fit_split, counts = refit_split(split), split.train_full.item_counts()
        for seed in (int(s) for s in a.seeds.split(",")):
            for trainer in a.trainers.split(","):
                over: dict[str, Any] = {"trainer": trainer, "num_threads": a.threads, "seed": seed}
                if trainer == "torch" and a.batch_size:
                    over["batch_size"] = a.batch_size
                t0 = time.perf_counter()
                m = EGES(**over).fit(fit_split)
                fit_s = time.perf_counter() - t0
                res = evaluate(m, split.test, ks=(10,), item_counts=counts)
                h = m.history_
                row = {"dataset": ds, "seed": seed, "trainer": trainer, "threads": a.threads,
                       "batch_size": m.config.batch_size if trainer == "torch" else None,
                       "HR@10": round(res["HR@10"], 4), "NDCG@10": round(res["NDCG@10"], 4),
                       "fit_s": round(fit_s, 1), "epochs": h["epochs"], "pairs": h["pairs"],
                       "M_pairs_per_s": round(h["pairs_per_second"] / 1e6, 3), "last_epoch_loss":
                       round(h["epoch_losses"][-1], 4)}
                print(row, flush=True)
                rows.append(row)
    lines = ["| dataset | seed | trainer | threads | test HR@10 | test NDCG@10 | fit s | epochs | M pairs | "
             "M pairs/s | loss per pair, last epoch |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        name = r["trainer"] + (f" (batch {r['batch_size']})" if r["batch_size"] else "")
        lines.append(f"| {r['dataset']} | {r['seed']} | {name} | {r['threads']} | {r['HR@10']:.4f} | "
                     f"{r['NDCG@10']:.4f} | {r['fit_s']} | {r['epochs']} | {r['pairs'] / 1e6:.1f} | "
                     f"{r['M_pairs_per_s']} | {r['last_epoch_loss']} |")
    text = ("EGES defaults on train + validation, test cases scored with the shared evaluator (full ranking, seen "
            "items excluded). `numba`: the SGD kernel (default); `torch`: `trainer=\"torch\"`, Adam on minibatches "
            f"with sparse gradients.\n\nLoad (`uptime`) at the start: {start}  \nLoad at the end: {uptime()}\n\n"
            + "\n".join(lines))
    write_results(a.name, rows, text)


if __name__ == "__main__":
    main()
