"""Session-12 check: which part of EGES's fused vector ranks? One fit per seed, then the same fit scored with
``H_v = w_0 W_v + sum_j w_j S_j`` as trained (``H``), with the side part scaled by 0.5 / 0.25 (``side0.5``,
``side0.25``), and with the item's own part alone (``W``: ``w_0 W_v``), for the walked items (cold items keep their
side-information vectors); the model's default query. Run from the repository root:

    python benchmarks/results/walks_runs/s12_eges_views.py DATASET SEEDS valid|test THREADS ['{"k": v}']

Appends to ``s12_eges_views.jsonl`` beside this file.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from graphrec import datasets  # noqa: E402
from graphrec.evaluate import evaluate  # noqa: E402
from graphrec.model import get_model_class  # noqa: E402
from graphrec.split import refit_split  # noqa: E402

SIDE_SCALES = [("H", 1.0), ("side0.5", 0.5), ("side0.25", 0.25), ("W", 0.0)]


def main() -> None:
    ds, fit, threads = sys.argv[1], sys.argv[3], int(sys.argv[4])
    seeds = [int(s) for s in sys.argv[2].split(",")]
    over = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
    split = datasets.load(ds).split()
    for seed in seeds:
        fit_split = refit_split(split) if fit == "test" else split
        cases = split.test if fit == "test" else split.valid
        counts = (split.train_full if fit == "test" else split.train).item_counts()
        t0 = time.perf_counter()
        m = get_model_class("eges")(num_threads=threads, seed=seed, **over).fit(fit_split)
        row = {"ds": ds, "seed": seed, "fit": fit, "threads": threads, "over": over,
               "fit_s": round(time.perf_counter() - t0, 1)}
        items = torch.arange(m.net_.item.num_embeddings)
        with torch.no_grad():
            w = m.net_.weights(items).numpy()
            src = m.net_.sources(items).numpy()
        walked = m.walked_
        row["mean_weights_walked"] = [round(float(x), 4) for x in w[walked].mean(0)]
        base = m.embeddings_
        for name, scale in SIDE_SCALES:
            v = w[:, 0, None] * src[:, 0] + scale * (w[:, 1:, None] * src[:, 1:]).sum(1)
            vec = np.where(walked[:, None], v, base.vectors).astype(np.float32)
            vec[0] = 0
            m.embeddings_ = dataclasses.replace(base, vectors=vec)
            m._normed = None
            res = evaluate(m, cases, ks=(10,), item_counts=counts)
            row[name] = [round(res["HR@10"], 4), round(res["NDCG@10"], 4)]
        print(json.dumps(row), flush=True)
        with open(Path(__file__).with_name("s12_eges_views.jsonl"), "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
