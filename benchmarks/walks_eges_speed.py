"""Training throughput of the EGES numba kernel against gensim skip-gram, side by side under the same load.

    python benchmarks/walks_eges_speed.py --dataset beauty --threads 1,2 --repeats 2

On the train graph of the dataset (co-occurrence window 3, count weights), one epoch over 10 x 40 walks with
window 5, 5 negatives, dim 64: gensim ``Word2Vec`` (``corpus_file``, the floor pipeline's skip-gram, sample 1e-3)
and the EGES kernel without and with side information (sample 1e-3 as well). The runs are interleaved and
repeated, so a changing machine load affects all of them alike; the table gives (centre, context) pairs per
second (gensim: effective words x mean window pairs, the same count the kernel reports) and the ratio.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graphrec import datasets  # noqa: E402
from graphrec.artifacts import environment  # noqa: E402
from walks.eges import EGES  # noqa: E402
from walks.generate import RandomWalker  # noqa: E402
from walks.models import train_graph  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def _gensim(corpus: Path, counts: np.ndarray, threads: int) -> tuple[float, float]:
    from gensim.models import Word2Vec

    model = Word2Vec(vector_size=64, window=5, min_count=1, sg=1, hs=0, negative=5, sample=1e-3, workers=threads,
                     seed=0, epochs=1)
    nodes = np.flatnonzero(counts)
    model.build_vocab_from_freq({str(int(i)): int(counts[i]) for i in nodes})
    t0 = time.perf_counter()
    _, effective = model.train(corpus_file=str(corpus), total_words=int(counts.sum()), epochs=1)
    seconds = time.perf_counter() - t0
    # expected pairs per kept token with a window shrunk uniformly in 1..5: 2 * mean(b) = 6, minus walk ends
    return seconds, effective * 6.0 * (1 - 3.0 / 40)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="beauty")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    start_load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    data = datasets.load(a.dataset)
    split = data.split()
    graph = train_graph(split, EGES().config)
    no_side = dataclasses.replace(graph, side_info=None)
    walker = RandomWalker(graph)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "walks.txt"
        stats = walker.write_corpus(corpus, 10, 40, 0)
        EGES(epochs=1, num_walks=1, walk_length=10).fit_graph(graph)  # compile the kernels
        for rep in range(a.repeats):
            for threads in [int(t) for t in a.threads.split(",")]:
                seconds, pairs = _gensim(corpus, stats.counts, threads)
                rows.append({"run": "gensim skip-gram (floor settings)", "threads": threads, "repeat": rep,
                             "seconds": seconds, "pairs": pairs})
                for label, g in (("EGES kernel, no side info", no_side), ("EGES kernel, with side info", graph)):
                    m = EGES(epochs=1, num_walks=10, walk_length=40, window_size=5, sample=1e-3,
                             num_threads=threads).fit_graph(g)
                    rows.append({"run": label, "threads": threads, "repeat": rep,
                                 "seconds": m.history_["train_seconds"], "pairs": m.history_["pairs"]})
                print(rows[-3:], flush=True)
    env = environment(0, None)
    meta = {"command": "python " + " ".join(shlex.quote(x) for x in sys.argv), "machine": platform.platform(),
            "cpus": os.cpu_count(), "versions": env["versions"], "load_start": start_load,
            "load_end": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
            "graph": repr(graph), "walk_steps": stats.num_steps}
    out = RESULTS / f"walks_eges_speed_{a.dataset}"
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    lines = [f"# EGES kernel vs gensim skip-gram: training throughput on {a.dataset}", "",
             f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}, {meta['cpus']} cores  ",
             f"Versions: {meta['versions']}  ",
             f"Graph: {meta['graph']}; one epoch over {stats.num_steps} walk steps  ",
             f"Load (`uptime`) at the start: {start_load}  ", f"Load at the end: {meta['load_end']}", "",
             "Runs interleaved (gensim, kernel without side info, kernel with side info) and repeated; the machine "
             "is shared, so absolute rates depend on the load; compare within a repeat.", "",
             "| run | threads | repeat | seconds | M pairs | M pairs/s |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['run']} | {r['threads']} | {r['repeat']} | {r['seconds']:.1f} | {r['pairs'] / 1e6:.1f} | "
              f"{r['pairs'] / r['seconds'] / 1e6:.2f} |" for r in rows]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
