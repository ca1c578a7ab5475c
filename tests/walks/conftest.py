"""Fixtures for the walk tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from walks_helpers import graph_from_edges

from graphrec import ItemGraph

# tests/ has no __init__.py, so pytest puts tests/ on sys.path and tests/walks would shadow the walks package as
# a namespace package unless the repository root is on sys.path too (a regular package wins over a namespace).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.append(_ROOT)


@pytest.fixture
def weighted_undirected() -> ItemGraph:
    # a triangle 1-2-3 with a tail 3-4-5 and a chord 2-5: mixes common neighbours and distance-2 nodes
    edges = [(1, 2, 1.0), (1, 3, 3.0), (2, 3, 2.0), (3, 4, 1.5), (4, 5, 0.5), (2, 5, 4.0), (3, 6, 1.0)]
    return graph_from_edges(6, edges, directed=False)


@pytest.fixture
def weighted_directed() -> ItemGraph:
    edges = [(1, 2, 1.0), (2, 1, 2.0), (2, 3, 1.0), (3, 1, 3.0), (1, 3, 0.5), (3, 4, 2.0), (4, 2, 1.0),
             (2, 4, 1.5), (4, 5, 1.0), (5, 3, 2.5), (5, 1, 1.0)]
    return graph_from_edges(5, edges, directed=True)
