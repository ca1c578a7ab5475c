"""The Embeddings bundle: a vocabulary plus a float32 matrix, the currency between models and Faiss."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from graphrec.artifacts import FORMAT_VERSION, atomic_dir, read_json, write_json
from graphrec.errors import ArtifactError, DataError
from graphrec.vocab import ItemVocab

__all__ = ["Embeddings"]


@dataclass
class Embeddings:
    """Item vectors keyed by a vocabulary.

    Attributes:
        vocab: Item vocabulary (``N`` items).
        vectors: ``float32[N + 1, dim]``; row ``i`` is item index ``i``, row 0 (padding) is zero.
        config: Free-form description of how the vectors were made (model name, resolved config ...).
        known: Optional ``bool[N + 1]``: items that have a usable vector, trained or inferred (e.g. a cold-start
            item's vector from its side info). Rows marked False (items a model never saw and cannot infer) are
            zero and are never recommended or indexed. Recall never returns padding.
    """

    vocab: ItemVocab
    vectors: NDArray[np.float32]
    config: dict[str, Any] = field(default_factory=dict)
    known: NDArray[np.bool_] | None = None

    def __post_init__(self) -> None:
        self.vectors = np.ascontiguousarray(self.vectors, dtype=np.float32)
        if self.vectors.ndim != 2 or len(self.vectors) != self.vocab.size + 1:
            raise DataError(f"vectors must be [num_items + 1 = {self.vocab.size + 1}, dim] (got {self.vectors.shape})")
        if not np.all(np.isfinite(self.vectors)):
            raise DataError("embedding vectors contain NaN or inf")
        if self.known is not None and len(self.known) != len(self.vectors):
            raise DataError("known mask must have one entry per row")

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return self.vocab.size

    def vector(self, external_id: Any) -> NDArray[np.float32]:
        """The vector of one external item id."""
        return self.vectors[int(self.vocab.encode([external_id])[0])]

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``embeddings.npy``, ``vocab.npz`` and ``embeddings.json`` atomically into ``directory``."""
        directory = Path(directory)
        with atomic_dir(directory) as tmp:
            self.save_into(tmp)
        return directory

    def save_into(self, directory: Path) -> None:
        """Write the bundle's files into an existing directory (used inside a larger atomic run dir)."""
        np.save(directory / "embeddings.npy", self.vectors)
        self.vocab.save(directory / "vocab.npz")
        if self.known is not None:
            np.save(directory / "known.npy", self.known)
        write_json(directory / "embeddings.json", {"format_version": FORMAT_VERSION, "dim": self.dim,
                                                   "num_items": self.vocab.size, "config": self.config})

    @classmethod
    def load(cls, directory: str | Path) -> Embeddings:
        directory = Path(directory)
        meta = read_json(directory / "embeddings.json")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ArtifactError(f"{directory}: embeddings format version {meta.get('format_version')}, "
                                f"expected {FORMAT_VERSION}")
        try:
            vectors = np.load(directory / "embeddings.npy", allow_pickle=False)
            known = np.load(directory / "known.npy", allow_pickle=False) if (directory / "known.npy").exists() else None
        except (OSError, ValueError, EOFError) as exc:
            raise ArtifactError(f"cannot read {directory / 'embeddings.npy'}: {exc}") from exc
        return cls(ItemVocab.load(directory / "vocab.npz"), vectors, meta.get("config", {}), known)

    # ------------------------------------------------------------------ interop
    def to_keyedvectors(self) -> Any:
        """A gensim ``KeyedVectors`` keyed by ``str(external id)`` (padding excluded)."""
        from gensim.models import KeyedVectors

        kv = KeyedVectors(vector_size=self.dim)
        kv.add_vectors([str(x) for x in self.vocab.ids], self.vectors[1:])
        return kv

    def save_word2vec_format(self, path: str | Path, binary: bool = False) -> None:
        """Write the word2vec text (or binary) format, readable by gensim and most tools."""
        self.to_keyedvectors().save_word2vec_format(str(path), binary=binary)
