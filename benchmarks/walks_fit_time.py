"""Single fit (train split) of walk models on a dataset, with validation/test HR@10 and fit seconds.

    python benchmarks/walks_fit_time.py beauty eges,deepwalk ['{"epochs": 3}']
"""

from __future__ import annotations

import json
import logging
import sys

from graphrec import datasets
from graphrec.bench import bench_model


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    name, models = sys.argv[1], sys.argv[2].split(",")
    cfg = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    data = datasets.load(name)
    split = data.split()
    for m in models:
        r = bench_model(m, split, data, refit=False, config=cfg)
        valid = {k: round(v, 4) for k, v in r["valid"].items() if k in ("HR@10", "NDCG@10")}
        print(m, cfg, "VALID", valid, "TEST", round(r["HR@10"], 4), round(r["NDCG@10"], 4),
              "fit", round(r["fit_seconds"], 1), flush=True)


if __name__ == "__main__":
    main()
