"""Validation grid for the item-KNN baseline (how its defaults were chosen).

    python benchmarks/itemknn_grid.py --datasets lastfm,beauty,ml-1m

Scores every configuration on the VALIDATION split (never the test split) and writes
``benchmarks/results/itemknn_grid.{md,json}``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results  # noqa: E402

from graphrec import datasets  # noqa: E402
from graphrec.baselines import ItemKNN  # noqa: E402
from graphrec.evaluate import evaluate  # noqa: E402

GRID = {"normalize": ["none", "row"], "recent": [1, 3, 5], "window": [3, 5], "decay": [0.5, 0.8]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="lastfm,beauty,ml-1m")
    args = ap.parse_args()
    rows = []
    for name in args.datasets.split(","):
        split = datasets.load(name).split()
        for values in itertools.product(*GRID.values()):
            cfg = dict(zip(GRID, values, strict=True))
            r = evaluate(ItemKNN(**cfg).fit(split), split.valid, ks=(10,))
            rows.append({"dataset": name, **cfg, "HR@10": r["HR@10"], "NDCG@10": r["NDCG@10"]})
            print(rows[-1], flush=True)
    md = "Validation split, full ranking. Best five per dataset by NDCG@10, and the default configuration.\n\n"
    default = {"normalize": "row", "recent": 5, "window": 5, "decay": 0.5}
    for name in args.datasets.split(","):
        rs = sorted((r for r in rows if r["dataset"] == name), key=lambda r: -r["NDCG@10"])
        md += f"\n## {name}\n\n| normalize | recent | window | decay | HR@10 | NDCG@10 |\n|---|---|---|---|---|---|\n"
        for r in rs[:5] + [r for r in rs if all(r[k] == v for k, v in default.items())]:
            mark = " (default)" if all(r[k] == v for k, v in default.items()) else ""
            md += (f"| {r['normalize']}{mark} | {r['recent']} | {r['window']} | {r['decay']} | {r['HR@10']:.4f} | "
                   f"{r['NDCG@10']:.4f} |\n")
    write_results("itemknn_grid", rows, md)


if __name__ == "__main__":
    main()
