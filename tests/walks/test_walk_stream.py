"""Streaming walks to a corpus file: same walks as in memory, bounded memory, gensim can read it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from walks_helpers import random_graph

from walks import kernels
from walks.generate import RandomWalker, generate_walks


def test_corpus_file_matches_walks(tmp_path: Path) -> None:
    g = random_graph(200, 1500, seed=4)
    walks, lengths = generate_walks(g, "node2vec", p=1.0, q=0.5, num_walks=3, walk_length=15, seed=9)
    stats = generate_walks(g, "node2vec", p=1.0, q=0.5, num_walks=3, walk_length=15, seed=9,
                           out_path=tmp_path / "walks.txt", chunk_steps=15 * 11)
    lines = (tmp_path / "walks.txt").read_text().splitlines()
    assert len(lines) == len(lengths) == stats.num_walks
    expect = [" ".join(map(str, row[:n])) for row, n in zip(walks.tolist(), lengths.tolist(), strict=True)]
    assert lines == expect
    np.testing.assert_array_equal(stats.counts, np.bincount(walks[walks > 0], minlength=g.num_nodes))
    assert stats.num_steps == int(lengths.sum())


def test_format_walks_handles_multi_digit_ids() -> None:
    walks = np.array([[1, 10, 100000, 0], [999999999, 7, 0, 0]], dtype=np.int32)
    text = kernels.format_walks(walks, np.array([3, 2], dtype=np.int32)).tobytes().decode()
    assert text == "1 10 100000\n999999999 7\n"


def test_streaming_memory_is_bounded(tmp_path: Path) -> None:
    """20 M steps (80 MB as int32, ~130 MB as text) stream through chunks of 0.5 M steps in < 40 MB extra RSS."""
    script = textwrap.dedent(f"""
        import resource, sys
        sys.path[:0] = {sys.path!r}
        from walks_helpers import random_graph
        from walks.generate import RandomWalker
        w = RandomWalker(random_graph(20000, 100000, seed=0), p=1.0, q=0.5)
        w.write_corpus({str(tmp_path / "warm.txt")!r}, num_walks=1, walk_length=10, chunk_steps=1000)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        st = w.write_corpus({str(tmp_path / "big.txt")!r}, num_walks=20, walk_length=50, seed=1,
                            chunk_steps=1 << 19)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(st.num_steps, (after - before) / 1024)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).parent)
    assert out.returncode == 0, out.stderr
    steps, extra_mb = out.stdout.split()
    assert int(steps) == 20 * 50 * 20000
    assert float(extra_mb) < 40, f"peak RSS grew by {extra_mb} MB while streaming"
    (tmp_path / "big.txt").unlink()


def test_gensim_reads_the_corpus(tmp_path: Path) -> None:
    from gensim.models.word2vec import LineSentence

    g = random_graph(50, 200, seed=3)
    RandomWalker(g).write_corpus(tmp_path / "c.txt", num_walks=2, walk_length=5)
    sentences = list(LineSentence(str(tmp_path / "c.txt")))
    assert len(sentences) == 2 * 50 and all(1 <= int(t) <= 50 for s in sentences for t in s)
