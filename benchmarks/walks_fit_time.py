"""Single fit (train split) of walk models on a dataset, with validation/test HR@10 and fit seconds:

    python benchmarks/walks_fit_time.py beauty eges,deepwalk
"""
import json
import logging
import sys
import time

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
from graphrec import datasets
from graphrec.bench import bench_model

ds = sys.argv[1]; models = sys.argv[2].split(","); cfg = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
t=time.time(); d = datasets.load(ds); split = d.split(); print("load", time.time()-t, flush=True)
for m in models:
    r = bench_model(m, split, d, refit=False, config=cfg)
    print(m, cfg, "VALID", {k: round(v,4) for k,v in r["valid"].items() if k in ("HR@10","NDCG@10")},
          "TEST", round(r["HR@10"],4), round(r["NDCG@10"],4), "fit", round(r["fit_seconds"],1), flush=True)
