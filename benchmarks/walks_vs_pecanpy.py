"""Walk generation: graphrec against PecanPy SparseOTF (and fastnode2vec, if it installs), same graphs, same settings.

Usage:
    .venv/bin/python benchmarks/walks_vs_pecanpy.py                  # everything (installs peers on first run)
    .venv/bin/python benchmarks/walks_vs_pecanpy.py --graphs flat --tools graphrec,pecanpy

Every (tool, graph) pair runs in its own process (peak RSS is per process), with the same edge list file, the
same p, q, num_walks, walk_length and thread count. JIT compilation is excluded for every tool: each first runs
one short warm-up pass on the same graph. Steps are the nodes in the returned walks (PecanPy returns
``walk_length + 1`` nodes per walk, graphrec ``walk_length``). PecanPy and fastnode2vec live in throwaway
virtual environments under ``benchmarks/.venvs/`` (PecanPy 2.0.9 needs numpy 1.26); they are never graphrec
dependencies. The results go to ``benchmarks/results/walks_vs_pecanpy.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENVS = HERE / ".venvs"
CACHE = HERE / ".cache" / "walks"
RESULTS = HERE / "results"
PEERS = {
    "pecanpy": ["pecanpy==2.0.9", "numpy==1.26.4"],
    "fastnode2vec": ["fastnode2vec", "numpy==1.26.4"],
}


# ---------------------------------------------------------------------------------------------- graphs
def make_graphs(names: list[str]) -> dict[str, Path]:
    """Write each graph once as ``src dst weight`` lines (undirected: every edge once)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in names:
        path = CACHE / f"{name}.edg"
        if not path.exists():
            src, dst, w = {"flat": _flat, "hub": _hub, "ml1m": _ml1m}[name]()
            tmp = path.with_suffix(".tmp")
            with open(tmp, "w") as fh:
                for a, b, x in zip(src.tolist(), dst.tolist(), w.tolist(), strict=True):
                    fh.write(f"{a}\t{b}\t{x:.4g}\n")
            os.replace(tmp, path)
        out[name] = path
    return out


def _unique_undirected(src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    a, b = np.minimum(src, dst), np.maximum(src, dst)
    key = np.unique(a[a != b].astype(np.int64) * (n + 1) + b[a != b])
    return key


def _flat() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """20k nodes, 200k weighted undirected edges, uniform endpoints (a flat degree distribution)."""
    rng = np.random.default_rng(0)
    n, m = 20_000, 200_000
    key = _unique_undirected(rng.integers(1, n + 1, 2 * m), rng.integers(1, n + 1, 2 * m), n)
    key = rng.permutation(key)[:m]
    return key // (n + 1), key % (n + 1), rng.uniform(0.1, 2.0, len(key))


def _hub() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """200k nodes, ~350k edges: 5 hubs joined to 30k random nodes each, plus 200k uniform edges."""
    rng = np.random.default_rng(1)
    n = 200_000
    hubs = np.repeat(np.arange(1, 6), 30_000)
    spokes = rng.integers(6, n + 1, len(hubs))
    src = np.concatenate([hubs, rng.integers(1, n + 1, 200_000)])
    dst = np.concatenate([spokes, rng.integers(1, n + 1, 200_000)])
    key = _unique_undirected(src, dst, n)
    return key // (n + 1), key % (n + 1), rng.uniform(0.1, 2.0, len(key))


def _ml1m() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ML-1M item graph: co-occurrence window 3, count weights, from the SASRec file (user item lines)."""
    sys.path.insert(0, str(ROOT))
    from graphrec.build import build_item_graph
    from graphrec.sequences import Sequences

    path = Path(os.environ.get("GRAPHREC_DATA", ROOT.parent / "shared" / "datasets")) / "ml-1m" / "sasrec_ml-1m.txt"
    data = np.loadtxt(path, dtype=np.int64)
    users, items = data[:, 0], data[:, 1]
    order = np.argsort(users, kind="stable")
    lengths = np.bincount(users[order])[1:]
    seqs = Sequences(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), items[order].astype(np.int32),
                     int(items.max()))
    g = build_item_graph(seqs, window=3, directed=False, weighting="count")
    src = np.repeat(np.arange(g.num_nodes), g.degree())
    keep = src < g.indices
    return src[keep], g.indices[keep].astype(np.int64), g.weights[keep].astype(np.float64)


# ---------------------------------------------------------------------------------------------- workers
def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    """Peak RSS of this process (VmHWM: unlike ru_maxrss it is not inherited from the parent across exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _read_edges(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = np.loadtxt(path, dtype=np.float64)
    return data[:, 0].astype(np.int64), data[:, 1].astype(np.int64), data[:, 2]


def worker_graphrec(path: str, a: argparse.Namespace, mode: str) -> dict:
    import numba
    import scipy.sparse as sp

    from graphrec import ItemGraph, ItemVocab
    from walks.generate import RandomWalker

    numba.set_num_threads(a.threads)
    t0 = time.perf_counter()
    src, dst, w = _read_edges(path)
    n = int(max(src.max(), dst.max()))
    m = sp.coo_matrix((np.r_[w, w].astype(np.float32), (np.r_[src, dst], np.r_[dst, src])), shape=(n + 1, n + 1))
    graph = ItemGraph.from_scipy(m, ItemVocab(np.arange(1, n + 1)), directed=False)
    load_s = time.perf_counter() - t0
    p, q = (1.0, 1.0) if mode == "first-order" else (a.p, a.q)
    tiny = ItemGraph.from_scipy(sp.csr_matrix(np.array([[0, 0, 0], [0, 0, 1], [0, 1, 0]], dtype=np.float32)),
                                ItemVocab([1, 2]), directed=False)
    RandomWalker(tiny, p, q).walks(1, 5)  # warm-up: load the compiled kernels from numba's cache
    t0 = time.perf_counter()
    walker = RandomWalker(graph, p, q)
    prep_s = time.perf_counter() - t0
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    if a.chunked:
        steps = sum(int(lens.sum()) for _, lens in walker.iter_chunks(a.num_walks, a.walk_length, seed=0,
                                                                        chunk_steps=1 << 22))
    else:
        _, lengths = walker.walks(a.num_walks, a.walk_length, seed=0)
        steps = int(lengths.sum())
    walk_s = time.perf_counter() - t0
    return {"load_s": load_s, "prep_s": prep_s, "walk_s": walk_s, "steps": steps, "rss_before_mb": rss0,
            "peak_rss_mb": _peak_mb(), "num_walks": a.num_walks, "nodes": n, "edges": int(len(src))}


def worker_pecanpy(path: str, a: argparse.Namespace, mode: str) -> dict:
    from numba_progress import ProgressBar
    from pecanpy import pecanpy

    t0 = time.perf_counter()
    if mode == "first-order":
        g = pecanpy.PreCompFirstOrder(p=1, q=1, workers=a.threads, verbose=False, random_state=0)
    else:
        g = pecanpy.SparseOTF(p=a.p, q=a.q, workers=a.threads, verbose=False, random_state=0)
    g.read_edg(path, weighted=True, directed=False)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    g._preprocess_transition_probs()
    prep_s = time.perf_counter() - t0

    def kernel(num_walks: int, walk_length: int, max_starts: int = 0) -> int:
        """``simulate_walks`` without the final mapping of indices to string ids (that is timed apart)."""
        nodes = np.arange(g.num_nodes, dtype=np.uint32)
        starts = np.concatenate([nodes] * num_walks)
        np.random.seed(0)
        np.random.shuffle(starts)
        if max_starts:
            starts = starts[:max_starts]
        with ProgressBar(total=len(starts), disable=True) as progress:
            mat = g._random_walks(len(starts), walk_length, 0, starts, g.get_has_nbrs(), g.get_move_forward(),
                                  progress)
        kernel.mat = mat
        return int(mat[:, -1].sum())

    t0 = time.perf_counter()
    kernel(1, 3)  # warm-up: compiles the kernel for this graph's closures
    compile_s = time.perf_counter() - t0
    rss0 = _rss_mb()
    num_walks = a.pecanpy_num_walks or a.num_walks
    t0 = time.perf_counter()
    steps = kernel(num_walks, a.walk_length, a.peer_max_starts)
    walk_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    walks = [g._map_walk(row) for row in kernel.mat]  # what simulate_walks returns to the user
    map_s = time.perf_counter() - t0
    del walks
    return {"load_s": load_s, "prep_s": prep_s, "compile_s": compile_s, "walk_s": walk_s, "map_to_str_s": map_s,
            "steps": steps, "rss_before_mb": rss0, "peak_rss_mb": _peak_mb(), "num_walks": num_walks,
            "max_starts": a.peer_max_starts}


def worker_fastnode2vec(path: str, a: argparse.Namespace, mode: str) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    from fastnode2vec import Graph

    t0 = time.perf_counter()
    src, dst, w = _read_edges(path)
    g = Graph(list(zip(src.tolist(), dst.tolist(), w.tolist(), strict=True)), directed=False, weighted=True,
              verbose=False)
    load_s = time.perf_counter() - t0
    p, q = (1.0, 1.0) if mode == "first-order" else (a.p, a.q)
    num_nodes = len(g.node_names)
    g.generate_random_walk(a.walk_length, p, q, 0)  # warm-up
    rss0 = _rss_mb()
    num_walks = a.pecanpy_num_walks or a.num_walks

    def run(nodes: np.ndarray) -> int:
        return sum(len(g.generate_random_walk(a.walk_length, p, q, int(v))) for v in nodes)

    starts = np.random.default_rng(0).permutation(np.tile(np.arange(num_nodes), num_walks))
    if a.peer_max_starts:
        starts = starts[:a.peer_max_starts]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(a.threads) as pool:  # the walk function releases the GIL (njit nogil)
        steps = sum(pool.map(run, np.array_split(starts, a.threads * 16)))
    walk_s = time.perf_counter() - t0
    return {"load_s": load_s, "walk_s": walk_s, "steps": int(steps), "rss_before_mb": rss0,
            "peak_rss_mb": _peak_mb(), "num_walks": num_walks, "max_starts": a.peer_max_starts}


# ---------------------------------------------------------------------------------------------- driver
def ensure_venv(tool: str) -> Path | None:
    """The peer's python, creating its throwaway venv on first use; None when it does not install."""
    venv = VENVS / tool
    py = venv / "bin" / "python"
    if (venv / ".ok").exists():
        return py
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    res = subprocess.run([str(py), "-m", "pip", "install", "-q", *PEERS[tool]], capture_output=True, text=True)
    if res.returncode != 0:
        (venv / "install.log").write_text(res.stdout + res.stderr)
        print(f"[{tool}] did not install: {res.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    (venv / ".ok").write_text("ok")
    return py


def versions(py: Path, modules: list[str]) -> dict[str, str]:
    code = ("import importlib.metadata as m, json, sys; out = {}\n"
            f"for name in {modules!r}:\n"
            "    try: out[name] = m.version(name)\n"
            "    except Exception: pass\n"
            "print(json.dumps(out))")
    res = subprocess.run([str(py), "-c", code], capture_output=True, text=True)
    return json.loads(res.stdout) if res.returncode == 0 else {}


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_one(py: Path, tool: str, graph: str, path: Path, mode: str, a: argparse.Namespace) -> dict:
    cmd = [str(py), __file__, "--worker", tool, "--mode", mode, "--edges", str(path), "--threads", str(a.threads),
           "--p", str(a.p), "--q", str(a.q), "--num-walks", str(a.num_walks), "--walk-length", str(a.walk_length)]
    if tool != "graphrec" and a.pecanpy_num_walks.get(graph):
        cmd += ["--pecanpy-num-walks", str(a.pecanpy_num_walks[graph])]
    if tool != "graphrec" and a.peer_starts.get(graph):
        cmd += ["--peer-max-starts", str(a.peer_starts[graph])]
    if a.chunked:
        cmd.append("--chunked")
    env = {**os.environ, "NUMBA_NUM_THREADS": str(a.threads), "OMP_NUM_THREADS": str(a.threads),
           "PYTHONPATH": str(ROOT)}
    load_before = loadavg()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    row = {"tool": tool, "graph": graph, "mode": mode, "load_before": load_before, "load_after": loadavg()}
    if res.returncode != 0:
        row["error"] = (res.stderr.strip().splitlines() or ["?"])[-1]
        return row
    row.update(json.loads(res.stdout.strip().splitlines()[-1]))
    row["msteps_per_s"] = row["steps"] / row["walk_s"] / 1e6
    return row


def markdown(rows: list[dict], meta: dict) -> str:
    lines = ["# Walk generation: graphrec vs PecanPy SparseOTF vs fastnode2vec", "",
             f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}  ",
             f"Settings: p={meta['p']}, q={meta['q']}, num_walks={meta['num_walks']}, "
             f"walk_length={meta['walk_length']}, threads={meta['threads']}  ",
             f"Versions: {json.dumps(meta['versions'])}  ",
             f"Load average (1/5/15 min) at start: {meta['load_start']}, at end: {meta['load_end']}", "",
             "Steps = nodes in the returned walks; JIT compilation excluded (warm-up pass first). "
             "`walk s` is the walk kernel only; PecanPy's conversion of the walks to Python lists of strings "
             "(what `simulate_walks` returns) is reported apart. Peak RSS is of the whole worker process "
             "(graph + tables + walks); `walk MB` is its growth during the walk call.", "",
             "| graph | tool | mode | walks/node | steps | walk s | M steps/s | vs PecanPy | prep s | peak RSS MB "
             "| walk MB | load before |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    # walks/node: a peer run on a random subset of (start, round) pairs shows "k of n" (rates stay comparable)
    base = {(r["graph"], r["mode"]): r["msteps_per_s"] for r in rows if r["tool"] == "pecanpy" and "steps" in r}
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['graph']} | {r['tool']} | {r['mode']} | failed: {r['error']} |||||||||")
            continue
        ref = base.get((r["graph"], r["mode"]))
        speed = f"{r['msteps_per_s'] / ref:.0f}x" if ref else ""
        walks = f"{r['max_starts']:,} starts" if r.get("max_starts") else r["num_walks"]
        lines.append(f"| {r['graph']} | {r['tool']} | {r['mode']} | {walks} | {r['steps']:,} | "
                     f"{r['walk_s']:.2f} | {r['msteps_per_s']:.2f} | {speed} | {r.get('prep_s', 0):.2f} | "
                     f"{r['peak_rss_mb']:.0f} | {r['peak_rss_mb'] - r['rss_before_mb']:.0f} | "
                     f"{r['load_before'][0]} |")
    extra = [r for r in rows if "map_to_str_s" in r]
    if extra:
        lines += ["", "PecanPy `simulate_walks` also spends, converting the walks to lists of strings: "
                  + ", ".join(f"{r['graph']}/{r['mode']} {r['map_to_str_s']:.1f} s" for r in extra) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graphs", default="flat,hub,ml1m")
    ap.add_argument("--tools", default="graphrec,pecanpy,fastnode2vec")
    ap.add_argument("--modes", default="node2vec,first-order")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--p", type=float, default=1.0)
    ap.add_argument("--q", type=float, default=0.5)
    ap.add_argument("--num-walks", type=int, default=10)
    ap.add_argument("--walk-length", type=int, default=80)
    ap.add_argument("--peer-num-walks", default="hub=1",
                    help="walks per node for the (slow) peers on some graphs, e.g. 'hub=1' (rates stay comparable)")
    ap.add_argument("--peer-starts", default="",
                    help="walk only this many random (start node, round) pairs with the peers, e.g. 'hub=20000'")
    ap.add_argument("--chunked", action="store_true", help="graphrec: generate in 4M-step chunks, keep none")
    ap.add_argument("--out", default=str(RESULTS / "walks_vs_pecanpy"))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="node2vec", help=argparse.SUPPRESS)
    ap.add_argument("--edges", help=argparse.SUPPRESS)
    ap.add_argument("--pecanpy-num-walks", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--peer-max-starts", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        fn = {"graphrec": worker_graphrec, "pecanpy": worker_pecanpy, "fastnode2vec": worker_fastnode2vec}[a.worker]
        print(json.dumps(fn(a.edges, a, a.mode)))
        return
    a.pecanpy_num_walks = {k: int(v) for k, v in (x.split("=") for x in a.peer_num_walks.split(",") if x)}
    a.peer_starts = {k: int(v) for k, v in (x.split("=") for x in a.peer_starts.split(",") if x)}
    graphs = make_graphs(a.graphs.split(","))
    pythons = {"graphrec": Path(sys.executable)}
    vers = {"graphrec": versions(Path(sys.executable), ["numpy", "numba", "graphrec"])}
    for tool in a.tools.split(","):
        if tool != "graphrec":
            py = ensure_venv(tool)
            if py is not None:
                pythons[tool] = py
                vers[tool] = versions(py, ["numpy", "numba", tool])
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    meta = {"command": " ".join(shlex.quote(x) for x in sys.argv), "machine": f"{cpu}, {os.cpu_count()} cores, "
            f"{platform.platform()}", "p": a.p, "q": a.q, "num_walks": a.num_walks, "walk_length": a.walk_length,
            "threads": a.threads, "versions": vers, "load_start": loadavg(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    rows = []
    for graph, path in graphs.items():
        for mode in a.modes.split(","):
            for tool, py in pythons.items():
                if tool == "fastnode2vec" and mode == "first-order":
                    continue
                row = run_one(py, tool, graph, path, mode, a)
                print(json.dumps(row), flush=True)
                rows.append(row)
    meta["load_end"] = loadavg()
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(rows, meta))
    print(markdown(rows, meta))


if __name__ == "__main__":
    main()
