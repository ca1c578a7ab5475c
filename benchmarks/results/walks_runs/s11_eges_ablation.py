"""Session-11 EGES ablations on Beauty / LastFM validation: one fit per seed with overrides, scored with the last
item and with DeepWalk's pooling (last 5 items, decay 0.25). Run from the repository root:

    python benchmarks/results/walks_runs/s11_eges_ablation.py MODEL DATASET SEEDS valid|test TAG '{"k": v}'

Special keys: ``_noside`` (drop the side information: the EGES kernel over item vectors only), ``_maxshare`` (drop
side values held by more than that share of the items, as ``max_value_share`` without its keep-the-only-value
rule), ``_idfrep`` (repeat each value ``max(1, round(x ln(n / df)))`` times: IDF weights emulated through the
plain mean, before ``side_weighting=idf`` existed). Appends to ``s11_eges_ablation.jsonl`` beside this file.
"""
import json, sys, time, dataclasses
from dataclasses import replace
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from graphrec import datasets
from graphrec.evaluate import evaluate
from graphrec.model import get_model_class
from graphrec.split import refit_split

model, ds, seeds, fit, tag = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(",")], sys.argv[4], sys.argv[5]
over = json.loads(sys.argv[6]) if len(sys.argv) > 6 else {}
noside = over.pop("_noside", False)
maxshare = over.pop("_maxshare", None)
idfrep = over.pop("_idfrep", None)
split = datasets.load(ds).split()
if noside:
    split = dataclasses.replace(split, side_info=None)
if maxshare is not None:
    import numpy as np
    from graphrec.sideinfo import SideField, SideInfo
    si = split.side_info
    fields = []
    for f in si.fields:
        n_rows = len(f.offsets) - 1
        vals = f.values[: f.offsets[-1]]
        share = np.bincount(vals, minlength=f.num_values + 1) / si.num_items
        rows = np.repeat(np.arange(n_rows), np.diff(f.offsets))
        keep = share[vals] <= maxshare
        newoff = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=n_rows))]).astype(np.int64)
        fields.append(SideField(f.name, newoff, vals[keep].astype(np.int32), f.names))
        print("kept", keep.mean(), "items with none", (np.diff(newoff) == 0).mean(), flush=True)
    split = dataclasses.replace(split, side_info=SideInfo(fields, si.num_items))
if idfrep is not None:
    import numpy as np
    from graphrec.sideinfo import SideField, SideInfo
    si = split.side_info
    fields = []
    for f in si.fields:
        counts = np.diff(f.offsets)
        rows = np.repeat(np.arange(len(counts)), counts)
        vals = f.values[: len(rows)]
        df = np.bincount(vals, minlength=f.num_values + 1)
        n = (counts > 0).sum()
        rep = np.maximum(1, np.round(idfrep * np.log(n / np.maximum(df, 1)))).astype(np.int64)[vals]
        rows2 = np.repeat(rows, rep); vals2 = np.repeat(vals, rep)
        off = np.concatenate([[0], np.cumsum(np.bincount(rows2, minlength=len(counts)))]).astype(np.int64)
        fields.append(SideField(f.name, off, vals2.astype(np.int32), f.names))
        print("rep mean", rep.mean(), "max per item", np.diff(off).max(), flush=True)
    split = dataclasses.replace(split, side_info=SideInfo(fields, si.num_items))
for seed in seeds:
    fs = refit_split(split) if fit == "test" else split
    cases = split.test if fit == "test" else split.valid
    counts = (split.train_full if fit == "test" else split.train).item_counts()
    t0 = time.perf_counter()
    m = get_model_class(model)(**{**over, "seed": seed}).fit(fs)
    fit_s = time.perf_counter() - t0
    row = {"tag": tag, "model": model, "dataset": ds, "seed": seed, "fit": fit, "fit_s": round(fit_s, 1), "over": over, "noside": noside, "maxshare": maxshare, "idfrep": idfrep,
           "epochs": getattr(m, "history_", {}).get("epochs") if isinstance(getattr(m, "history_", None), dict) else None}
    for p, r, d in [("last", 5, 1.0), ("mean_recent", 5, 0.25)]:
        m.config = replace(m.config, pooling=p, recent=r, decay=d)
        res = evaluate(m, cases, ks=(10,), item_counts=counts)
        row[f"{p}{r}d{d}"] = [round(res["HR@10"], 4), round(res["NDCG@10"], 4)]
    print(json.dumps(row), flush=True)
    with open(Path(__file__).with_name("s11_eges_ablation.jsonl"), "a") as f:
        f.write(json.dumps(row) + "\n")
