"""Session 9 exploration on Diginetica: blend the fused and the plain SASRec scores, and add a DeepWalk prior.

Run from the repository root: ``python benchmarks/results/sasrec_runs/s9_diginetica_blend.py valid 1`` (cases,
threads). ``valid`` scores session 6's fused train-only run (runs/s6/dig_fus3) and session 5's plain 3-epoch
checkpoint (runs/s5/ckpt_dig_tr3); ``test`` the 12-epoch train + validation models. Score = alpha * fused + (1 -
alpha) * plain + the session-8 priors + beta * cosine(DeepWalk query, item), the DeepWalk vectors being the fused
model's graph input and the query its last 5 items weighted 0.25 ** age. Ranks count strictly higher scores.
Writes runs/s9/dig_blend_CASES.json (the validation run is committed as s9_diginetica_blend_valid.json).
"""
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from graphrec import datasets
from graphrec.config import from_dict
from graphrec.model import load_model
from graphrec.split import train_full_split
from sequential.priors import sequence_matrix, transition_matrix
from sequential.sasrec import SASRec
from sequential.trainer import warm_start

cases = sys.argv[1]  # valid | test
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
split = datasets.load("diginetica").split()
if cases == "valid":
    fused = load_model("runs/s6/dig_fus3")
    plain_ckpt = "runs/s5/ckpt_dig_tr3/last.pt"
else:
    split = train_full_split(split)
    fused = load_model("runs/s8/dig_fus12")
    plain_ckpt = "runs/s4/ckpt_dig/last.pt"
plain = SASRec(from_dict(SASRec.config_class, {"max_len": 50, "cosine_scale": 16.0}))
plain.vocab_ = split.vocab
plain.net_ = plain._build(plain._item_encoder(split), split.num_items)
warm_start(plain.net_, plain_ckpt)
plain.net_.eval()
ev = split.test if cases == "test" else split.valid
targets = np.asarray(ev.targets.items, dtype=np.int64)
assert len(targets) == len(ev.histories)
# priors: session-8 scoring on the fused model
fused.transitions_ = transition_matrix(split.train, 3)
fused.sequences_ = sequence_matrix(split.train)
fused.config = dataclasses.replace(fused.config, repeat_bonus=12.0, repeat_recency=16.0, repeat_decay=0.5,
                                   transition_prior=1.0, transition_history=1, transition_window=3,
                                   knn_prior=16.0, knn_neighbors=50)
g = fused.net_.item_encoder.graph.vectors.detach().float().numpy().copy()
gn = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
gn[0] = 0
VA = fused.item_embeddings().vectors
VB = plain.item_embeddings().vectors
alphas = [1.0, 0.8, 0.65, 0.5]
betas = [0.0, 1.0, 2.0, 4.0]
ranks = {(a, b): [] for a in alphas for b in betas}
t0 = time.time()
n = len(targets)
step = 2048
for lo in range(0, n, step):
    idx = np.arange(lo, min(n, lo + step))
    hist = ev.histories.take(idx)
    UA = fused.user_embeddings(hist)
    UB = plain.user_embeddings(hist)
    SA = torch.from_numpy(UA @ VA.T)
    SB = torch.from_numpy(UB @ VB.T)
    r, i, v = fused.score_extras(hist)
    E = torch.zeros_like(SA)
    E.index_put_((torch.from_numpy(r), torch.from_numpy(i)), torch.from_numpy(v), accumulate=True)
    # DeepWalk query: last 5 items weighted 0.25 ** age
    Q = np.zeros((len(idx), g.shape[1]), np.float32)
    for j in range(len(idx)):
        h = hist.items[hist.offsets[j]:hist.offsets[j + 1]][-5:][::-1]
        w = 0.25 ** np.arange(len(h))
        Q[j] = (w[:, None] * gn[h]).sum(0)
    Q /= np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), 1e-12)
    G = torch.from_numpy(Q @ gn.T)
    t = torch.from_numpy(targets[idx])
    ar = torch.arange(len(idx))
    for a in alphas:
        base = a * SA + (1 - a) * SB + E
        for b in betas:
            S = base + b * G if b else base
            S[:, 0] = -torch.inf
            ts = S[ar, t]
            ranks[(a, b)].append((S > ts[:, None]).sum(1).numpy())
    print(lo, round(time.time() - t0), flush=True)
out = []
for (a, b), rr in ranks.items():
    rk = np.concatenate(rr)
    hit = rk < 20
    out.append({"alpha": a, "beta": b, "P@20": round(100 * hit.mean(), 2),
                "MRR@20": round(100 * np.where(hit, 1 / (rk + 1), 0).mean(), 2)})
    print(json.dumps(out[-1]), flush=True)
Path("runs/s9").mkdir(parents=True, exist_ok=True)
json.dump(out, open(f"runs/s9/dig_blend_{cases}.json", "w"), indent=1)
