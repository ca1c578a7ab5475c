"""graphrec: graph-based recall for recommender systems."""

__version__ = "0.1.0"

from graphrec.embeddings import Embeddings  # noqa: E402
from graphrec.errors import (  # noqa: E402
    ArtifactError,
    ConfigError,
    DataError,
    DatasetError,
    GraphrecError,
    UnknownIdError,
)
from graphrec.graph import ItemGraph  # noqa: E402
from graphrec.sequences import Sequences  # noqa: E402
from graphrec.sideinfo import SideField, SideInfo  # noqa: E402
from graphrec.vocab import ItemVocab, UserVocab, Vocab  # noqa: E402

__all__ = [
    "__version__", "Embeddings", "ItemGraph", "Sequences", "SideInfo", "SideField", "Vocab", "ItemVocab",
    "UserVocab", "GraphrecError", "DataError", "ConfigError", "ArtifactError", "DatasetError", "UnknownIdError",
]
