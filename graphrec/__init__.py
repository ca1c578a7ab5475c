"""graphrec: graph-based recall for recommender systems.

``import graphrec`` stays light: the Faiss-backed names (:class:`FaissIndex`, :func:`recall_items`,
:func:`recall_users`) are imported on first use (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from graphrec.embeddings import Embeddings
from graphrec.errors import (
    ArtifactError,
    ConfigError,
    DataError,
    DatasetError,
    GraphrecError,
    UnknownIdError,
)
from graphrec.graph import ItemGraph
from graphrec.sequences import Sequences
from graphrec.sideinfo import SideField, SideInfo
from graphrec.vocab import ItemVocab, UserVocab, Vocab

if TYPE_CHECKING:
    from graphrec.index import FaissIndex
    from graphrec.recall import recall_items, recall_users

#: Public names imported on first access: name -> module.
_LAZY = {"FaissIndex": "graphrec.index", "recall_items": "graphrec.recall", "recall_users": "graphrec.recall"}

__all__ = [
    "__version__", "Embeddings", "ItemGraph", "Sequences", "SideInfo", "SideField", "Vocab", "ItemVocab",
    "UserVocab", "GraphrecError", "DataError", "ConfigError", "ArtifactError", "DatasetError", "UnknownIdError",
    "FaissIndex", "recall_items", "recall_users",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'graphrec' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
