"""Session-11 EGES ablations on Beauty / LastFM validation: one fit per seed with overrides, scored with the last
item and with DeepWalk's pooling (last 5 items, decay 0.25). Run from the repository root:

    python benchmarks/results/walks_runs/s11_eges_ablation.py MODEL DATASET SEEDS valid|test TAG '{"k": v}'

Special keys: ``_noside`` (drop the side information: the EGES kernel over item vectors only), ``_maxshare`` (drop
side values held by more than that share of the items, as ``max_value_share`` without its keep-the-only-value
rule), ``_idfrep`` (repeat each value ``max(1, round(x ln(n / df)))`` times: IDF weights emulated through the
plain mean, before ``side_weighting=idf`` existed). ``valid`` fits on train and scores the validation cases and
(rows tagged ``*_traintest`` on) the test cases too (``test_cases_*``: the train-only fit). Appends to
``s11_eges_ablation.jsonl`` beside this file.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from graphrec import datasets  # noqa: E402
from graphrec.evaluate import evaluate  # noqa: E402
from graphrec.model import get_model_class  # noqa: E402
from graphrec.sideinfo import SideField, SideInfo  # noqa: E402
from graphrec.split import Split, refit_split  # noqa: E402

QUERIES = [("last", 5, 1.0), ("mean_recent", 5, 0.25)]


def drop_common(si: SideInfo, maxshare: float) -> SideInfo:
    """Leave out the values held by more than ``maxshare`` of all items (every item, no keep-the-only-value rule)."""
    fields = []
    for f in si.fields:
        n_rows = len(f.offsets) - 1
        vals = f.values[: f.offsets[-1]]
        share = np.bincount(vals, minlength=f.num_values + 1) / si.num_items
        rows = np.repeat(np.arange(n_rows), np.diff(f.offsets))
        keep = share[vals] <= maxshare
        offsets = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=n_rows))]).astype(np.int64)
        fields.append(SideField(f.name, offsets, vals[keep].astype(np.int32), f.names))
        print("kept", keep.mean(), "items with none", (np.diff(offsets) == 0).mean(), flush=True)
    return SideInfo(fields, si.num_items)


def repeat_by_idf(si: SideInfo, scale: float) -> SideInfo:
    """Repeat each value ``max(1, round(scale * ln(n / df)))`` times: IDF weights through the plain mean."""
    fields = []
    for f in si.fields:
        counts = np.diff(f.offsets)
        rows = np.repeat(np.arange(len(counts)), counts)
        vals = f.values[: len(rows)]
        df = np.bincount(vals, minlength=f.num_values + 1)
        n = (counts > 0).sum()
        rep = np.maximum(1, np.round(scale * np.log(n / np.maximum(df, 1)))).astype(np.int64)[vals]
        rows2, vals2 = np.repeat(rows, rep), np.repeat(vals, rep)
        offsets = np.concatenate([[0], np.cumsum(np.bincount(rows2, minlength=len(counts)))]).astype(np.int64)
        fields.append(SideField(f.name, offsets, vals2.astype(np.int32), f.names))
        print("rep mean", rep.mean(), "max per item", np.diff(offsets).max(), flush=True)
    return SideInfo(fields, si.num_items)


def scores(m: Any, cases: Any, counts: Any, prefix: str, row: dict[str, Any]) -> None:
    for pooling, recent, decay in QUERIES:
        m.config = dataclasses.replace(m.config, pooling=pooling, recent=recent, decay=decay)
        res = evaluate(m, cases, ks=(10,), item_counts=counts)
        row[f"{prefix}{pooling}{recent}d{decay}"] = [round(res["HR@10"], 4), round(res["NDCG@10"], 4)]


def main() -> None:
    model, ds, fit, tag = sys.argv[1], sys.argv[2], sys.argv[4], sys.argv[5]
    seeds = [int(s) for s in sys.argv[3].split(",")]
    over = json.loads(sys.argv[6]) if len(sys.argv) > 6 else {}
    noside = over.pop("_noside", False)
    maxshare = over.pop("_maxshare", None)
    idfrep = over.pop("_idfrep", None)
    split: Split = datasets.load(ds).split()
    if noside:
        split = dataclasses.replace(split, side_info=None)
    if maxshare is not None and split.side_info is not None:
        split = dataclasses.replace(split, side_info=drop_common(split.side_info, maxshare))
    if idfrep is not None and split.side_info is not None:
        split = dataclasses.replace(split, side_info=repeat_by_idf(split.side_info, idfrep))
    for seed in seeds:
        fit_split = refit_split(split) if fit == "test" else split
        cases = split.test if fit == "test" else split.valid
        counts = (split.train_full if fit == "test" else split.train).item_counts()
        t0 = time.perf_counter()
        m = get_model_class(model)(**{**over, "seed": seed}).fit(fit_split)
        history = getattr(m, "history_", None)
        row: dict[str, Any] = {"tag": tag, "model": model, "dataset": ds, "seed": seed, "fit": fit,
                               "fit_s": round(time.perf_counter() - t0, 1), "over": over, "noside": noside,
                               "maxshare": maxshare, "idfrep": idfrep,
                               "epochs": history.get("epochs") if isinstance(history, dict) else None}
        scores(m, cases, counts, "", row)
        if fit == "valid":  # the same train-only fit scored on the test cases too
            scores(m, split.test, split.train_full.item_counts(), "test_cases_", row)
        print(json.dumps(row), flush=True)
        with open(Path(__file__).with_name("s11_eges_ablation.jsonl"), "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
