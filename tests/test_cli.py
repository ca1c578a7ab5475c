"""The command line: data synth / inspect, graph build / inspect, bench, train + recall; bad input is exit code 2
with one line on stderr and no traceback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from graphrec.cli import main
from graphrec.graph import ItemGraph

KS = (5, 10, 20)


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if code == 0:
        assert result.exit_code == 0, (result.output, result.exception)
    else:
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return result


@pytest.fixture(scope="module")
def synth_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    run("data", "synth", "--out", d / "log.csv", "--users", 200, "--items", 150, "--categories", 6, "--seed", 1)
    return d / "log.csv"


@pytest.fixture(scope="module")
def run_dir(synth_csv: Path) -> Path:
    out = synth_csv.parent / "knn-run"
    r = run("train", "itemknn", "--data", synth_csv, "--out", out, "--set", "window=2")
    assert "itemknn on log" in r.output and "saved ->" in r.output
    return out


# ---------------------------------------------------------------------- data
def test_data_synth_writes_log_and_items(synth_csv: Path, tmp_path: Path) -> None:
    log = pd.read_csv(synth_csv)
    items = pd.read_csv(synth_csv.with_name("log_items.csv"))
    assert list(log.columns) == ["user", "item", "timestamp", "event", "weight", "session"]
    assert log["user"].nunique() == 200 and len(items) == 150
    r = run("data", "synth", "--out", tmp_path / "again.parquet", "--users", 200, "--items", 150,
            "--categories", 6, "--seed", 1)
    assert f"wrote {len(log)} interactions of 200 users" in r.output
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "again.parquet"), log, check_dtype=False)
    assert (tmp_path / "again_items.parquet").exists()


def test_data_inspect_report(synth_csv: Path) -> None:
    r = run("data", "inspect", synth_csv, "--json")
    report = json.loads(r.stdout)
    log = pd.read_csv(synth_csv)
    assert report["rows"] == len(log) and report["users"] == 200 and report["items"] == log["item"].nunique()
    assert report["duplicate_user_item_rows"] == int(log.duplicated(["user", "item"]).sum())
    assert report["timestamp_ties"] == int(log.duplicated(["user", "timestamp"]).sum())
    assert report["seq_len_max"] == int(log.groupby("user").size().max())
    assert report["density"] == pytest.approx(len(log) / (200 * log["item"].nunique()))
    assert report["null_cells"] == 0
    table = run("data", "inspect", synth_csv).stdout
    assert any(line.split()[:2] == ["rows", str(len(log))] for line in table.splitlines())


def test_data_inspect_counts_nulls_and_other_formats(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("1 5 6 7\n2 6 5\n")
    report = json.loads(run("data", "inspect", tmp_path / "d.txt", "--json").stdout)
    assert report["rows"] == 5 and report["users"] == 2 and report["items"] == 3 and not report["has_time"]
    (tmp_path / "n.csv").write_text("user,item,note\na,1,\nb,2,x\nb,3,\n")
    report = json.loads(run("data", "inspect", tmp_path / "n.csv", "--json").stdout)
    assert report["null_cells"] == {"note": 2} and report["rows_with_null_ids"] == 0
    # null ids: the report lists them; training stops with a clear error
    (tmp_path / "ids.csv").write_text("user,item\na,1\n,2\nb,\nb,3\nc,\n")
    report = json.loads(run("data", "inspect", tmp_path / "ids.csv", "--json").stdout)
    assert report["null_cells"] == {"user": 1, "item": 2} and report["rows_with_null_ids"] == 3
    assert report["rows"] == 2 and report["users"] == 2
    assert re.search(r"\nrows_with_null_ids +3\n", run("data", "inspect", tmp_path / "ids.csv").stdout)
    r = run("train", "popular", "--data", tmp_path / "ids.csv", "--out", tmp_path / "r", code=2)
    assert re.search(r"column 'user' has 1 null id\(s\) \(first at row 1\); `graphrec data inspect`", r.stderr)


# ---------------------------------------------------------------------- graph
def test_graph_build_from_data_uses_train_only(synth_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "g"
    r = run("graph", "build", "--data", synth_csv, "--side-info", synth_csv.with_name("log_items.csv"),
            "--window", 2, "--undirected", "--top-k", 8, "--edge-attributes", "--out", out)
    assert "built in" in r.output
    g = ItemGraph.load(out)
    meta = json.loads((out / "graph.json").read_text())
    assert meta["part"] == "train" and meta["edges"] == g.num_edges and meta["meta"]["window"] == 2
    assert g.degree().max() <= 8 and g.edge_attr_names[0] == "log_count"
    assert g.side_info is not None and "category" in g.side_info.field_names
    # the same graph from the library
    from graphrec import datasets
    from graphrec.build import build_item_graph

    ds = datasets.from_file(synth_csv)
    ref = build_item_graph(ds.split().train, window=2, directed=False, top_k=8, vocab=ds.vocab)
    np.testing.assert_array_equal(g.to_scipy().toarray(), ref.to_scipy().toarray())
    assert (out / "env.json").exists()


def test_graph_build_from_edgelist_and_inspect(tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_text("# src dst w\na b 2\nb c 1\nc,a,4\n")
    run("graph", "build", "--edgelist", tmp_path / "e.txt", "--undirected", "--out", tmp_path / "g")
    g = ItemGraph.load(tmp_path / "g" / "graph.npz")
    assert g.num_edges == 6 and not g.directed
    report = json.loads(run("graph", "inspect", tmp_path / "g", "--json").stdout)
    assert report["nodes"] == 3 and report["edges"] == 6 and report["weight_max"] == 4.0
    text = run("graph", "inspect", tmp_path / "g" / "graph.npz").stdout
    assert "edges" in text and "6" in text


# ---------------------------------------------------------------------- bench
def test_bench_writes_metrics_json(synth_csv: Path, tmp_path: Path) -> None:
    r = run("bench", "--data", synth_csv, "--model", "popular,itemknn", "--out", tmp_path / "b",
            "--ks", ",".join(map(str, KS)))
    assert "| popular |" in r.output and "| itemknn |" in r.output
    rows = {}
    for model in ("popular", "itemknn"):
        m = json.loads((tmp_path / "b" / model / "metrics.json").read_text())
        for k in KS:
            for key in ("HR", "NDCG", "Recall", "MRR", "Precision", "Coverage", "Novelty"):
                assert 0.0 <= m[f"{key}@{k}"] < 50, (model, key, k)
        assert m["model"] == model and m["fit_for_test"] == "train+valid" and m["valid"]["HR@10"] >= 0
        rows[model] = m
    assert rows["itemknn"]["NDCG@10"] > rows["popular"]["NDCG@10"]
    assert (tmp_path / "b" / "results.md").exists()


def test_bench_and_train_on_train_full_for_sessions(synth_csv: Path, tmp_path: Path) -> None:
    """The session protocol without validation: SASRec trains its configured epochs on every train session."""
    fast = ["max_len=20", "embedding_dim=16", "num_blocks=1", "epochs=2", "num_threads=1", "progress=false"]
    sets = [a for kv in fast for a in ("--set", f"sasrec.{kv}")]
    r = run("bench", "--data", synth_csv, "--protocol", "session", "--model", "popular,sasrec", "--train-full",
            *sets, "--ks", "10,20", "--out", tmp_path / "b")
    assert "train+valid, no validation" in r.output
    m = json.loads((tmp_path / "b" / "sasrec" / "metrics.json").read_text())
    assert m["protocol"] == "session" and m["fit_for_test"] == "train+valid, no validation" and m["valid"] == {}
    assert m["history"]["epoch"] == [1, 2] and all(np.isnan(m["history"]["valid_ndcg10"]))  # no early stopping
    assert m["num_cases"] > 0
    r = run("train", "sasrec", "--data", synth_csv, "--protocol", "session", "--train-full", "--no-index",
            *[a for kv in fast for a in ("--set", kv)], "--out", tmp_path / "run")
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["valid"] == {} and m["fit_for_test"] == "train+valid, no validation" and m["test"]["num_cases"] > 0


# ---------------------------------------------------------------------- train + recall
def _recall_rows(result: Result) -> list[list[str]]:
    lines = result.stdout.strip().splitlines()
    assert lines[0].split() == ["query", "rank", "item", "score"]
    return [ln.split() for ln in lines[1:]]


def test_recall_by_history_and_item(run_dir: Path, synth_csv: Path) -> None:
    log = pd.read_csv(synth_csv)
    a, b = (str(x) for x in log["item"].value_counts().index[:2])
    rows = _recall_rows(run("recall", "--model", run_dir, "--history", f"{a},{b}", "-k", 5))
    assert [r[1] for r in rows] == ["1", "2", "3", "4", "5"]
    assert all(r[0] == f"{a},{b}" for r in rows) and not {a, b} & {r[2] for r in rows}
    scores = [float(r[3]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    rows = _recall_rows(run("recall", "--model", run_dir, "--item", a, "-k", 3))
    assert len(rows) == 3 and all(r[0] == a and r[2] != a for r in rows)
    # the recommendations are what the saved model scores highest
    from graphrec.model import load_model
    from graphrec.sequences import Sequences

    model = load_model(run_dir)
    s = model.score(Sequences.from_lists([model.vocab_.encode([a]).tolist()], model.num_items))[0]
    s[0] = s[model.vocab_.encode([a])[0]] = -np.inf
    assert [str(x) for x in model.vocab_.decode(np.argsort(-s, kind="stable")[:3])] == [r[2] for r in rows]


def test_recall_unknown_ids(run_dir: Path, synth_csv: Path) -> None:
    known = str(pd.read_csv(synth_csv)["item"].iloc[0])
    r = run("recall", "--model", run_dir, "--history", f"{known},no-such-item", code=2)
    assert "'no-such-item'" in r.stderr
    r = run("recall", "--model", run_dir, "--item", "99999999", code=2)
    assert "99999999" in r.stderr
    rows = _recall_rows(run("recall", "--model", run_dir, "--history", f"{known},no-such-item",
                            "--unknown", "skip", "-k", 4))
    assert len(rows) == 4
    same = _recall_rows(run("recall", "--model", run_dir, "--history", known, "-k", 4))
    assert [r[2] for r in rows] == [r[2] for r in same]


def test_recall_skips_unknown_ids_on_an_integer_vocabulary(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lines = [" ".join(map(str, [u, *rng.integers(1, 40, 8)])) for u in range(1, 60)]
    (tmp_path / "d.txt").write_text("\n".join(lines) + "\n")
    run("train", "itemknn", "--data", tmp_path / "d.txt", "--out", tmp_path / "run")
    rows = _recall_rows(run("recall", "--model", tmp_path / "run", "--item", "5", "--item", "zzz", "--unknown", "skip",
                            "-k", 3))
    assert len(rows) == 3 and all(r[0] == "5" and r[2] != "5" for r in rows)
    r = run("recall", "--model", tmp_path / "run", "--item", "5", "--item", "zzz", code=2)
    assert "'zzz'" in r.stderr


def test_recall_batch_to_json(run_dir: Path, synth_csv: Path, tmp_path: Path) -> None:
    items = [str(x) for x in pd.read_csv(synth_csv)["item"].unique()[:3]]
    (tmp_path / "h.txt").write_text(f"{items[0]},{items[1]}\n{items[2]}\n")
    run("recall", "--model", run_dir, "--batch", tmp_path / "h.txt", "-k", 2, "--out", tmp_path / "r.json")
    rows = json.loads((tmp_path / "r.json").read_text())  # one record per query: {"query", "items", "scores"}
    assert [r["query"] for r in rows] == [f"{items[0]},{items[1]}", items[2]]
    assert all(len(r["items"]) == 2 and len(r["scores"]) == 2 for r in rows)


def test_train_writes_a_complete_run_directory(run_dir: Path) -> None:
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.json", "vocab.npz", "env.json", "metrics.json", "adjacency.npz"} <= names
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["model"] == "itemknn" and cfg["config"]["window"] == 2
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"]["num_cases"] == 200


# ---------------------------------------------------------------------- bad input: exit 2, one line
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data", "inspect", "{tmp}/missing.csv"], "no such file"),
        (["data", "inspect", "{tmp}"], "is a directory"),
        (["data", "inspect", "{tmp}/empty.csv"], "empty.csv is empty"),
        (["data", "inspect", "{tmp}/bad.csv"], r"missing column\(s\) \['item'\]"),
        (["data", "inspect", "{tmp}/bad.csv", "--item-col", "itm"], "did you mean 'item_x'"),
        (["data", "inspect", "{csv}", "--format", "csvv"], r"unknown format 'csvv' \(did you mean 'csv'\?\)"),
        (["data", "synth", "--out", "{tmp}/x.csv", "--users", "0"], r"num_users must be >= 1 \(got 0\)"),
        (["graph", "build", "--data", "{csv}", "--window", "0", "--out", "{tmp}/g"], r"window must be .* \(got 0\)"),
        (["graph", "build", "--data", "{csv}", "--top-k", "0", "--out", "{tmp}/g"], r"top_k must be >= 1 \(got 0\)"),
        (["graph", "build", "--data", "{tmp}", "--out", "{tmp}/g"], "is a directory"),
        (["graph", "build", "--dataset", "lastfn", "--out", "{tmp}/g"], r"did you mean 'lastfm'"),
        (["graph", "build", "--edgelist", "{tmp}/bad_edges.txt", "--out", "{tmp}/g"], "weight 'x' is not a number"),
        (["graph", "inspect", "{tmp}/cut.npz"], "cannot read graph"),
        (["graph", "inspect", "{tmp}/nowhere"], "no graph file"),
        (["bench", "--data", "{csv}", "--model", "popular,itemkn", "--out", "{tmp}/b"], r"did you mean 'itemknn'"),
        (["bench", "--data", "{csv}", "--model", "popular", "--ks", "5,x", "--out", "{tmp}/b"], "--ks.*got '5,x'"),
        (["bench", "--data", "{csv}", "--model", "popular", "--ks", "0", "--out", "{tmp}/b"], r"K must be >= 1"),
        (["train", "itemknn", "--data", "{csv}", "--set", "windw=3", "--out", "{tmp}/r"],
         r"unknown config key 'windw' \(did you mean 'window'\?\)"),
        (["train", "itemknn", "--data", "{csv}", "--set", "window", "--out", "{tmp}/r"], "--set expects key=value"),
        (["train", "nosuchmodel", "--data", "{csv}", "--out", "{tmp}/r"], "unknown model 'nosuchmodel'"),
        (["train", "popular", "--out", "{tmp}/r"], "give exactly one of --dataset NAME or --data PATH"),
        (["train", "graphsage", "--data", "{csv}", "--train-full", "--out", "{tmp}/r"],
         "graphsage stops early on validation cases and cannot train without them"),
        (["recall", "--model", "{tmp}/no-run", "--item", "1"], "no run directory"),
        (["recall", "--model", "{run}", "--item", "1", "-k", "0"], r"k must be >= 1 \(got 0\)"),
        (["recall", "--model", "{run}"], "give exactly one of --item, --history or --batch"),
        (["nosuchcommand"], "No such command"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, synth_csv: Path, run_dir: Path, args: list[str],
                                         message: str) -> None:
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "bad.csv").write_text("user,item_x\na,1\n")
    (tmp_path / "bad_edges.txt").write_text("a b x\n")
    data = (run_dir / "vocab.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    filled = [a.format(tmp=tmp_path, csv=synth_csv, run=run_dir) for a in args]
    r = run(*filled, code=2)
    assert re.search(message, r.stderr), r.stderr


def test_console_script_exit_code_and_single_line(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("graphrec")
    if not exe.exists():
        pytest.skip("console script not installed")
    p = subprocess.run([str(exe), "data", "inspect", str(tmp_path / "missing.csv")], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [f"error: no such file: {tmp_path / 'missing.csv'}"]
    assert p.stdout == ""
