"""Which skip-gram vectors should score DeepWalk's next-item recall: input-input (the default) or input-output.

    python benchmarks/walks_inout.py beauty 0 1      # dataset, seed, gensim workers

Fits DeepWalk's default pipeline (numba walks + gensim skip-gram with the ``DeepWalkConfig`` defaults) on
``split.train`` and scores the validation cases (full ranking, seen items excluded) with the pooled query of input
vectors against the items' input vectors (cosine, the default), their output vectors (``syn1neg``; dot or
cosine), the sum of both, or a mix. Prints one line per variant and writes ``walks_inout_DATASET.json``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import RESULTS, command, machine  # noqa: E402

from graphrec import datasets  # noqa: E402
from graphrec.evaluate import evaluate  # noqa: E402
from graphrec.pooling import pool_histories  # noqa: E402
from graphrec.sequences import Sequences  # noqa: E402
from walks.generate import RandomWalker  # noqa: E402
from walks.models import DeepWalkConfig, train_graph  # noqa: E402

Vectors = NDArray[np.float32]


def unit(v: Vectors) -> Vectors:
    return (v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)).astype(np.float32)


class Scorer:
    """The evaluator's model interface over a scoring function; never-walked items are not ranked."""

    def __init__(self, fn: Callable[[Sequences], Vectors], known: NDArray[np.bool_]) -> None:
        self.fn, self.known = fn, known

    def score(self, hist: Sequences) -> Vectors:
        s = self.fn(hist).astype(np.float32)
        s[:, ~self.known] = -np.inf
        return s


def main() -> int:
    from gensim.models import Word2Vec

    name = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    split = datasets.load(name).split()
    cfg = DeepWalkConfig(seed=seed)
    walker = RandomWalker(train_graph(split, cfg), 1.0, 1.0, "deepwalk")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "walks.txt"
        stats = walker.write_corpus(corpus, cfg.num_walks, cfg.walk_length, seed, cfg.chunk_steps, None)
        nodes = np.flatnonzero(stats.counts > 0)
        sample = min(1e-3, 1.0 / max(walker.num_starts, 1))  # DeepWalk's default
        model = Word2Vec(vector_size=cfg.embedding_dim, window=cfg.window_size, min_count=1, sg=1, hs=0,
                         negative=cfg.num_negatives, ns_exponent=cfg.ns_exponent, sample=sample, workers=workers,
                         seed=seed, epochs=cfg.epochs)
        model.build_vocab_from_freq({str(int(i)): int(stats.counts[i]) for i in nodes})
        model.train(corpus_file=str(corpus), total_words=int(stats.counts.sum()), epochs=cfg.epochs)
    fit = time.perf_counter() - t0
    n = split.num_items + 1
    rows = np.asarray([model.wv.key_to_index[str(int(i))] for i in nodes])
    vin = np.zeros((n, cfg.embedding_dim), np.float32)
    vout = np.zeros_like(vin)
    vin[nodes], vout[nodes] = model.wv.vectors[rows], model.syn1neg[rows]
    known = np.zeros(n, bool)
    known[nodes] = True

    def q(v: Vectors, h: Sequences, pooling: str = "mean_recent") -> Vectors:
        return pool_histories(h, v, pooling, cfg.recent, cfg.decay)  # type: ignore[arg-type]

    variants: dict[str, Callable[[Sequences], Vectors]] = {
        "in-in cosine (default)": lambda h: q(unit(vin), h) @ unit(vin).T,
        "in-out dot": lambda h: q(unit(vin), h) @ vout.T,
        "in-out cosine": lambda h: q(unit(vin), h) @ unit(vout).T,
        "in-out dot, raw query": lambda h: q(vin, h) @ vout.T,
        "(in + out) cosine": lambda h: q(unit(vin + vout), h) @ unit(vin + vout).T,
        "in-in + 0.5 in-out cosine": lambda h: q(unit(vin), h) @ unit(vin).T + 0.5 * (q(unit(vin), h) @ unit(vout).T),
        "in-out cosine, last item": lambda h: q(unit(vin), h, "last") @ unit(vout).T,
        "in-in cosine, last item": lambda h: q(unit(vin), h, "last") @ unit(vin).T,
    }
    out: dict[str, object] = {"dataset": name, "seed": seed, "workers": workers, "fit_s": round(fit, 1),
                              "command": command(), "machine": machine(), "valid": {}}
    for key, fn in variants.items():
        r = evaluate(Scorer(fn, known), split.valid, ks=(10,))
        out["valid"][key] = [round(r["HR@10"], 4), round(r["NDCG@10"], 4)]  # type: ignore[index]
        print(key, out["valid"][key], flush=True)  # type: ignore[index]
    (RESULTS / f"walks_inout_{name}.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
