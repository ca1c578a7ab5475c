"""Screen a recency-weighted popularity term on top of the chosen session-14 scoring, 20,000 validation prefixes.

Run from the repository root after the train-only model of fusion_notes.md session 14 (runs/s14/dig_items3):
`python benchmarks/results/sasrec_runs/s14_popularity_screen.py 0,0.1 0,1,2,4` (recencies, weights)."""
import dataclasses
import sys

import numpy as np

from graphrec import datasets
from graphrec.evaluate import evaluate
from graphrec.model import load_model
from sequential.priors import recency_weights, sequence_matrix, transition_matrix

split = datasets.load("diginetica").split()
ev = split.valid
ev = ev.take(np.sort(np.random.default_rng(0).choice(len(ev), 20000, replace=False)))
rec = load_model("runs/s14/dig_items3")
rec.config = dataclasses.replace(rec.config, repeat_bonus=9.0, repeat_recency=12.0, transition_prior=0.75,
                                 knn_neighbors=200, knn_prior=18.0, knn_recency=0.3, knn_idf=True,
                                 knn_query_decay=1.0)
rec.sequences_ = sequence_matrix(split.train)
rec.transitions_ = transition_matrix(split.train, 3)
train = split.train
base_score = rec.score
for recency in [float(x) for x in sys.argv[1].split(",")]:
    w_seq = recency_weights(len(train), recency) if recency > 0 else np.ones(len(train))
    counts = np.bincount(train.items, weights=w_seq[train.row_ids()], minlength=split.num_items + 1)
    pop = np.log1p(counts) / np.log1p(counts.max())
    for weight in [float(x) for x in sys.argv[2].split(",")]:
        bias = (weight * pop).astype(np.float32)
        rec.score = lambda h, b=bias: base_score(h) + b  # noqa: E731
        m = evaluate(rec, ev, ks=(20,))
        print(f"recency {recency} weight {weight}: HR@20 {100 * m['HR@20']:.2f} MRR@20 {100 * m['MRR@20']:.2f}",
              flush=True)
