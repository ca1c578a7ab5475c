"""Train SASRec on small synthetic data and dump the per-step global losses (run alone or under torchrun).

Usage: ``python ddp_worker.py OUT.json`` or ``torchrun --nproc_per_node=2 ddp_worker.py OUT.json``.
"""

from __future__ import annotations

import json
import sys

import torch
import torch.distributed as dist

import graphrec.datasets
from graphrec.training import set_seed
from sequential.config import SASRecConfig
from sequential.data import TrainData
from sequential.sasrec import SASRec
from sequential.trainer import distributed_context, train_network


def main(out: str) -> None:
    rank, world = distributed_context()
    split = graphrec.datasets.load("synthetic", num_users=160, num_items=80, num_categories=4, mean_length=12.0,
                                   seed=5).split()
    # float32 (bf16=False): the loss trajectories must agree to 1e-4
    config = SASRecConfig(max_len=16, embedding_dim=16, num_blocks=2, num_heads=2, dropout=0.0, batch_size=32,
                          epochs=2, progress=False, num_threads=1, loss="ce", lr=3e-3, bf16=False)
    model = SASRec(config)
    set_seed(config.seed)
    net = model._build(model._item_encoder(split), split.num_items)
    history = train_network(net, TrainData(split.train, config.max_len), config, split.train.item_counts(), None)
    if rank == 0:
        params = torch.cat([p.detach().flatten() for p in net.parameters()])
        with open(out, "w", encoding="utf-8") as f:
            json.dump({"world": world, "step_loss": history["step_loss"], "params": params.tolist()}, f)
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
