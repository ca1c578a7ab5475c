"""Session-12 check: does post-processing EGES's vectors lift its Beauty NDCG@10? One fit per seed, then the same
fit scored with its vectors as trained (``H``), centred (the mean unit vector removed: ``center``), and centred
with the top 1 / 2 / 4 principal components projected out (``center_pcD``, "all-but-the-top", Mu & Viswanath
2018), each with the model's default query. Run from the repository root:

    python benchmarks/results/walks_runs/s12_eges_post.py MODEL DATASET SEEDS valid|test THREADS ['{"k": v}']

``test`` fits on train + validation and scores the test cases; ``valid`` fits on train and scores validation.
Appends to ``s12_eges_post.jsonl`` beside this file.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from graphrec import datasets  # noqa: E402
from graphrec.evaluate import evaluate  # noqa: E402
from graphrec.model import get_model_class  # noqa: E402
from graphrec.split import refit_split  # noqa: E402


def fit_one(model: str, split: Any, seed: int, fit: str, threads: int,
            over: dict[str, Any]) -> tuple[Any, Any, Any, float]:
    """Fit ``model`` (train + validation for ``test``, train for ``valid``); return it, the cases to score, the item
    counts of its training data and the fit seconds."""
    fit_split = refit_split(split) if fit == "test" else split
    cases = split.test if fit == "test" else split.valid
    counts = (split.train_full if fit == "test" else split.train).item_counts()
    t0 = time.perf_counter()
    key = "workers" if model in ("deepwalk", "node2vec") else "num_threads"
    m = get_model_class(model)(**{key: threads, "seed": seed, **over}).fit(fit_split)
    return m, cases, counts, round(time.perf_counter() - t0, 1)


def score_with(m: Any, vectors: np.ndarray, cases: Any, counts: Any) -> list[float]:
    """HR@10 and NDCG@10 of model ``m`` with its item vectors replaced by ``vectors`` (its default query)."""
    m.embeddings_ = dataclasses.replace(m.embeddings_, vectors=vectors.astype(np.float32))
    m._normed = None
    res = evaluate(m, cases, ks=(10,), item_counts=counts)
    return [round(res["HR@10"], 4), round(res["NDCG@10"], 4)]


def append_row(row: dict[str, Any], file: str) -> None:
    """Print ``row`` and append it to ``file`` beside this script."""
    print(json.dumps(row), flush=True)
    with open(Path(__file__).with_name(file), "a") as f:
        f.write(json.dumps(row) + "\n")


VARIANTS = [("H", 0, False), ("center", 0, True), ("center_pc1", 1, True), ("center_pc2", 2, True),
            ("center_pc4", 4, True)]


def main() -> None:
    model, ds, fit, threads = sys.argv[1], sys.argv[2], sys.argv[4], int(sys.argv[5])
    seeds = [int(s) for s in sys.argv[3].split(",")]
    over = json.loads(sys.argv[6]) if len(sys.argv) > 6 else {}
    split = datasets.load(ds).split()
    for seed in seeds:
        m, cases, counts, fit_s = fit_one(model, split, seed, fit, threads, over)
        row = {"model": model, "ds": ds, "seed": seed, "fit": fit, "threads": threads, "over": over, "fit_s": fit_s}
        base = m.embeddings_
        v = base.vectors.astype(np.float64)
        known = (base.known if base.known is not None else np.ones(len(v), bool)).copy()
        known[0] = False
        unit = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        centred = unit - unit[known].mean(0)
        _, s, vt = np.linalg.svd(centred[known], full_matrices=False)
        row["singular_values"] = [round(float(x), 2) for x in s[:6]]
        for name, d, center in VARIANTS:
            x = centred.copy() if center else unit.copy()
            if d:
                x -= (x @ vt[:d].T) @ vt[:d]
            x[~known] = 0
            row[name] = score_with(m, x, cases, counts)
        append_row(row, "s12_eges_post.jsonl")


if __name__ == "__main__":
    main()
