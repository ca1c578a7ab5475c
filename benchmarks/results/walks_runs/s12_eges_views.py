"""Session-12 check: which part of EGES's fused vector ranks? One fit per seed, then the same fit scored with
``H_v = w_0 W_v + sum_j w_j S_j`` as trained (``H``), with the side part scaled by 0.5 / 0.25 (``side0.5``,
``side0.25``), and with the item's own part alone (``W``: ``w_0 W_v``), for the walked items (cold items keep their
side-information vectors); the model's default query. Run from the repository root:

    python benchmarks/results/walks_runs/s12_eges_views.py DATASET SEEDS valid|test THREADS ['{"k": v}']

Appends to ``s12_eges_views.jsonl`` beside this file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from s12_eges_post import append_row, fit_one, score_with  # noqa: E402

from graphrec import datasets  # noqa: E402

SIDE_SCALES = [("H", 1.0), ("side0.5", 0.5), ("side0.25", 0.25), ("W", 0.0)]


def main() -> None:
    ds, fit, threads = sys.argv[1], sys.argv[3], int(sys.argv[4])
    seeds = [int(s) for s in sys.argv[2].split(",")]
    over = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
    split = datasets.load(ds).split()
    for seed in seeds:
        m, cases, counts, fit_s = fit_one("eges", split, seed, fit, threads, over)
        row = {"ds": ds, "seed": seed, "fit": fit, "threads": threads, "over": over, "fit_s": fit_s}
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
            row[name] = score_with(m, vec, cases, counts)
            m.embeddings_ = base
        append_row(row, "s12_eges_views.jsonl")


if __name__ == "__main__":
    main()
