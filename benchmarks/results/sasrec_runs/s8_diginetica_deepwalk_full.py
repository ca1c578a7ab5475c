"""DeepWalk vectors of all Diginetica train sessions (train + validation) for the train-full fusion run."""
import time

from graphrec import datasets
from graphrec.split import train_full_split
from walks import DeepWalk

split = train_full_split(datasets.load("diginetica").split())
t = time.time()
m = DeepWalk(workers=1, seed=0).fit(split)
m.item_embeddings().save("runs/s6/dw_dig_full")
print("fit", time.time() - t, flush=True)
