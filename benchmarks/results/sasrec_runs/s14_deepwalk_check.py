"""Is FusedSASRec's graph_source='deepwalk' the bundle the committed fused runs read (runs/s6/dw_dig_full)?"""
import time

import numpy as np

from graphrec import datasets
from graphrec.embeddings import Embeddings
from graphrec.split import train_full_split
from sequential.fusion import FusedSASRec

split = train_full_split(datasets.load("diginetica").split())
t = time.time()
emb = FusedSASRec(graph_source="deepwalk", seed=0)._walk_vectors(split)
print("fit", round(time.time() - t, 1), flush=True)
ref = Embeddings.load("runs/s6/dw_dig_full")
print("same vocab", np.array_equal(ref.vocab.ids, emb.vocab.ids))
print("identical vectors", np.array_equal(ref.vectors, emb.vectors), "max abs diff",
      float(np.abs(ref.vectors - emb.vectors).max()))
