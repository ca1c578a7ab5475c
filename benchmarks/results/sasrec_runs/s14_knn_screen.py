"""Screen the session-kNN variants by themselves (no network) on 20,000 validation prefixes of Diginetica:
HR@20 / MRR@20 of knn_bias alone, and of knn + repeat + transition priors (the session-8 weights); ranks are
pessimistic under ties, as in graphrec.evaluate."""
import itertools
import time

import numpy as np

from graphrec import datasets
from sequential.data import padded_histories
from sequential.priors import knn_bias, repeat_bias, sequence_matrix, transition_bias, transition_matrix

split = datasets.load("diginetica").split()
ev = split.valid
idx = np.sort(np.random.default_rng(0).choice(len(ev), 20000, replace=False))
ev = ev.take(idx)
targets = np.asarray(ev.targets).reshape(len(ev.histories), -1)[:, 0]
inputs = padded_histories(ev.histories, 50)
seqs = sequence_matrix(split.train)
trans = transition_matrix(split.train, 3)
n_items = split.num_items + 1


def dense(parts, rows):
    out = np.zeros((rows, n_items), np.float32)
    for r, c, v in parts:
        np.add.at(out, (r.numpy(), c.numpy()), v.numpy())
    return out


def metrics(score_fn):
    hr = mrr = 0.0
    for s in range(0, len(targets), 2000):
        inp = inputs[s:s + 2000]
        sc = score_fn(inp)
        sc[:, 0] = -np.inf
        t = targets[s:s + 2000]
        tgt = sc[np.arange(len(t)), t]
        rank = (sc >= tgt[:, None]).sum(1)  # pessimistic under ties, as graphrec.evaluate
        rank = np.where(tgt > 1e-3, rank, 10**9)  # unscored targets are not recalled
        hr += (rank <= 20).sum()
        mrr += np.where(rank <= 20, 1.0 / rank, 0).sum()
    return 100 * hr / len(targets), 100 * mrr / len(targets)


grid = list(itertools.product([50, 100], [0.0, 1.0, 4.0], [0.0, 0.3, 1.0], [False, True]))
def knn_alone(inp, k, decay, rec, idf):
    return dense([knn_bias(seqs, inp, 1.0, k, decay, rec, idf)], len(inp))


def with_priors(inp, k, decay, rec, idf):
    return dense([knn_bias(seqs, inp, 16.0, k, decay, rec, idf), repeat_bias(inp, 12, 16, 0.5),
                  transition_bias(trans, inp, 1.0, 1)], len(inp)) + 1e-3


for k, decay, rec, idf in grid:
    t0 = time.time()
    alone = metrics(lambda inp, a=(k, decay, rec, idf): knn_alone(inp, *a))
    full = metrics(lambda inp, a=(k, decay, rec, idf): with_priors(inp, *a))
    print(f"k={k} decay={decay} recency={rec} idf={int(idf)} | knn alone {alone[0]:.2f} / {alone[1]:.2f} | "
          f"priors {full[0]:.2f} / {full[1]:.2f} | {time.time() - t0:.0f}s", flush=True)
