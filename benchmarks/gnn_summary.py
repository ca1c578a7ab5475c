"""Merge the gnn_recall_*.json result files into benchmarks/results/gnn_recall.md (one table, every dataset).

    .venv/bin/python benchmarks/gnn_summary.py
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
KEYS = ("HR@10", "NDCG@10", "HR@20", "MRR@20", "LP-AUC")


def main() -> None:
    lines = ["# gnn_recall", "",
             "Next-item recall on the test cases (full ranking, shared evaluator, last item as query for the "
             "embedding models) and link-prediction AUC. Merged from the files named in the last column; each "
             "file records its command, machine, versions and load. GNN epochs were capped (see `epochs`) because "
             "the 2 cores were shared with other jobs (load 14-20).", "",
             "| dataset | model | " + " | ".join(KEYS) + " | epochs | fit s | file |",
             "|---|---|" + "---|" * len(KEYS) + "---|---|---|"]
    for path in sorted(RESULTS.glob("gnn_recall_*.json")):
        data = json.loads(path.read_text())
        for r in data["rows"]:
            vals = " | ".join(f"{r[k]:.4f}" if k in r else "" for k in KEYS)
            lines.append(f"| {r['dataset']} | {r['model']} | {vals} | {r.get('epochs_run', '')} | "
                         f"{r.get('fit_seconds', 0):.0f} | {path.stem} |")
    (RESULTS / "gnn_recall.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
