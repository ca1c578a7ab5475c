"""Speed of the evaluator: full ranking of every ML-1M user (6,040 x 3,416) and of every Diginetica test prefix.

    python benchmarks/evaluator_speed.py

The scorer is a fixed random matrix product (dim 64), so the time is the evaluator's (masking, ranking, top-k,
metrics) plus one small matmul per batch. Target: ML-1M in under 2 s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results  # noqa: E402

from graphrec import datasets  # noqa: E402
from graphrec.evaluate import evaluate  # noqa: E402
from graphrec.model import pool_histories  # noqa: E402


class RandomVectors:
    def __init__(self, n_items: int, dim: int = 64, seed: int = 0) -> None:
        self.v = np.random.default_rng(seed).standard_normal((n_items + 1, dim)).astype(np.float32)

    def score(self, histories):  # noqa: ANN001, ANN201
        return pool_histories(histories, self.v, "mean_recent") @ self.v.T


def main() -> None:
    rows = []
    for name in ("ml-1m", "diginetica"):
        split = datasets.load(name).split()
        scorer = RandomVectors(split.num_items)
        evaluate(scorer, split.test.take(np.arange(100)))  # warm-up
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            evaluate(scorer, split.test, item_counts=split.train.item_counts())
            best = min(best, time.perf_counter() - t0)
        rows.append({"dataset": name, "cases": len(split.test), "items": split.num_items, "seconds": best})
        print(rows[-1], flush=True)
    md = "| dataset | cases | items | seconds (best of 3) |\n|---|---|---|---|\n" + "\n".join(
        f"| {r['dataset']} | {r['cases']:,} | {r['items']:,} | {r['seconds']:.2f} |" for r in rows)
    md += "\n\nAll metrics at K in {5, 10, 20, 50} plus coverage, novelty and popularity; batch size 1024.\n"
    write_results("evaluator_speed", rows, md)


if __name__ == "__main__":
    main()
