"""Item-graph build time and peak memory on ML-1M and on a large synthetic log.

    python benchmarks/graph_build.py            # ML-1M + 10M-interaction synthetic log
    python benchmarks/graph_build.py --quick    # ML-1M + 1M-interaction synthetic log

Each case runs in a fresh subprocess so its peak RSS is its own. Target: ML-1M train graph in < 10 s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results  # noqa: E402

CHILD = r"""
import json, resource, sys, time
import numpy as np
t0 = time.perf_counter()
from graphrec import datasets
from graphrec.build import build_item_graph
case, window, directed = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "directed"
t_load = time.perf_counter()
if case == "ml-1m":
    train = datasets.load("ml-1m").split().train
else:
    n = int(case.split(":")[1])
    train = datasets.synthetic(num_users=n // 50, num_items=max(3000, n // 100), num_categories=200,
                               mean_length=50.0).split().train
load_s = time.perf_counter() - t_load
t1 = time.perf_counter()
g = build_item_graph(train, window=window, directed=directed, edge_attributes=False)
build_s = time.perf_counter() - t1
print(json.dumps({"events": int(train.num_events), "nodes": g.num_items, "edges": g.num_edges,
                  "load_s": load_s, "build_s": build_s, "total_s": time.perf_counter() - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    big = 1_000_000 if args.quick else 10_000_000
    cases = [("ml-1m", 1, "directed"), ("ml-1m", 3, "undirected"), (f"synthetic:{big}", 1, "directed"),
             (f"synthetic:{big}", 3, "undirected")]
    rows = []
    for case, window, directed in cases:
        out = subprocess.run([sys.executable, "-c", CHILD, case, str(window), directed], capture_output=True,
                             text=True, check=True)
        row = {"case": case, "window": window, "graph": directed, **json.loads(out.stdout.strip().splitlines()[-1])}
        rows.append(row)
        print(row, flush=True)
    md = ("| data | events | window | graph | nodes | edges | build s | load s | peak RSS MiB |\n"
          "|---|---|---|---|---|---|---|---|---|\n")
    md += "\n".join(f"| {r['case']} | {r['events']:,} | {r['window']} | {r['graph']} | {r['nodes']:,} | "
                    f"{r['edges']:,} | {r['build_s']:.2f} | {r['load_s']:.2f} | {r['peak_rss_mb']:.0f} |"
                    for r in rows)
    md += ("\n\nbuild s = `build_item_graph` on the train part only (ML-1M: leave-one-out train split); load s = "
           "reading and splitting (ML-1M) or generating and splitting (the built-in generator: n/50 users with mean "
           "sequence length 50, n/100 items in 200 categories).\nTarget: ML-1M train graph in under 10 s.\n")
    write_results("graph_build", rows, md)
    time.sleep(0)


if __name__ == "__main__":
    main()
