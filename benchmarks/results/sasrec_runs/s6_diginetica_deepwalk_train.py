"""DeepWalk vectors of the Diginetica train sessions (validation held out) for `graph_source=precomputed`."""
import time

from graphrec import datasets
from walks import DeepWalk

split = datasets.load("diginetica").split()
t = time.time()
m = DeepWalk(workers=1, seed=0).fit(split)   # train sessions only (validation held out)
m.item_embeddings().save("runs/s6/dw_dig_train")
print("fit", time.time() - t, flush=True)
