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
             "embedding models; `itemknn` pools the last 5 items, `itemknn[recent=1]` is item-KNN with the last "
             "item as query, the issue's floor) and link-prediction AUC. Merged from the files named in the last "
             "column; each file records its command, machine, versions and load. `fit for test`: `train` = the "
             "early-stopped model, `train+valid (n epochs)` = retrained on train + validation for the n epochs "
             "early stopping chose (`gnn_eval.py --refit-gnn`), as the baselines are refitted. The files "
             "gnn_recall_beauty_capped, gnn_recall_beauty_ablation and gnn_recall_diginetica come from the "
             "earlier session: GNN epochs capped (`epochs`) under load 14-20 and no refit (`train`); they have no "
             "`itemknn[recent=1]` row.", "",
             "| dataset | model | " + " | ".join(KEYS) + " | epochs | fit for test | fit s | file |",
             "|---|---|" + "---|" * len(KEYS) + "---|---|---|---|"]
    for path in sorted(RESULTS.glob("gnn_recall_*.json")):
        data = json.loads(path.read_text())
        for r in data["rows"]:
            vals = " | ".join(f"{r[k]:.4f}" if k in r else "" for k in KEYS)
            lines.append(f"| {r['dataset']} | {r['model']} | {vals} | {r.get('epochs_run', '')} | "
                         f"{r.get('fit_for_test', '')} | {r.get('fit_seconds', 0):.0f} | {path.stem} |")
    (RESULTS / "gnn_recall.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
