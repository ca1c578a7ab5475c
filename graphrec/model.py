"""The contract every model follows, and the run directory it is saved into.

* configured by one frozen dataclass (``config_class``); unknown keys are errors;
* ``fit(split) -> self`` sees only ``split.train`` (and ``split.valid`` for early stopping);
* ``score(histories) -> float32[B, num_items + 1]`` makes it evaluable by :func:`graphrec.evaluate.evaluate`;
* item encoders add ``item_embeddings() -> Embeddings``; user-side models add ``user_embeddings(histories)``;
* ``save(dir)`` writes a run directory atomically; :func:`load_model` reads any of them back.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from graphrec.artifacts import FORMAT_VERSION, atomic_dir, environment, read_json, write_json
from graphrec.config import from_dict, to_dict
from graphrec.embeddings import Embeddings
from graphrec.errors import ArtifactError, ConfigError, did_you_mean
from graphrec.pooling import pool_histories
from graphrec.sequences import Sequences
from graphrec.split import Split
from graphrec.vocab import ItemVocab

__all__ = ["Recommender", "EmbeddingRecommender", "MODELS", "get_model_class", "load_model", "pool_histories",
           "can_train_full"]

log = logging.getLogger(__name__)

#: Model name -> "module:Class", imported lazily so the foundation never imports the model packages.
MODELS: dict[str, str] = {
    "popular": "graphrec.baselines:Popular",
    "random": "graphrec.baselines:RandomRecommender",
    "itemknn": "graphrec.baselines:ItemKNN",
    "deepwalk": "walks.models:DeepWalk",
    "node2vec": "walks.models:Node2Vec",
    "eges": "walks.eges:EGES",
    "ges": "walks.eges:GES",
    "graphsage": "gnn.models:GraphSAGE",
    "pinsage": "gnn.models:PinSAGE",
    "edge-gnn": "gnn.models:EdgeGNN",
    "sasrec": "sequential.sasrec:SASRec",
    "fusion": "sequential.fusion:FusedSASRec",
}




def get_model_class(name: str) -> type[Recommender]:
    """The class registered under ``name`` (raises ConfigError with a hint for unknown names)."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}{did_you_mean(name, MODELS)}; known: {', '.join(MODELS)}")
    module, cls = MODELS[name].split(":")
    try:
        return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"model {name!r} is not available in this installation ({exc})") from exc


class Recommender(ABC):
    """Base class of every model and baseline.

    Subclasses set ``name`` and ``config_class`` and implement :meth:`fit`, :meth:`score`, and the state
    hooks :meth:`_save_state` / :meth:`_load_state`.
    """

    name: ClassVar[str] = "model"
    config_class: ClassVar[type] = object
    #: Whether `graphrec bench` refits the model on train + validation before the test run. True for models
    #: without early stopping (baselines, walk models); models that early-stop on validation keep False.
    refit_on_full: ClassVar[bool] = False
    #: Whether :meth:`fit` accepts a split without validation cases (and then trains its configured number of
    #: epochs instead of stopping early). Models that never early-stop (``refit_on_full``) accept it anyway.
    trains_without_validation: ClassVar[bool] = False

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        if config is not None and kwargs:
            raise ConfigError("pass either a config object or keyword settings, not both")
        if config is None:
            config = from_dict(self.config_class, kwargs)
        elif isinstance(config, dict):
            config = from_dict(self.config_class, config)
        self.config = config
        self.vocab_: ItemVocab | None = None
        self.history_: dict[str, Any] = {}

    #: Per evaluation protocol, the settings measured as best for the model where they differ from its config's
    #: defaults (see :meth:`recipe`).
    recipes: ClassVar[dict[str, dict[str, Any]]] = {}
    #: Keys whose user value voids the recipe's values of the keys listed (e.g. ``loss`` and its ``num_negatives``).
    recipe_links: ClassVar[dict[str, tuple[str, ...]]] = {}

    @classmethod
    def recipe(cls, protocol: str) -> dict[str, Any]:
        """A copy of ``recipes[protocol]`` (``leave-one-out``, ``time-cut``, ``session``; empty when the model has
        none): ``graphrec train`` and ``graphrec bench`` apply it beneath the user's own settings (``--no-recipe``:
        the plain defaults)."""
        return dict(cls.recipes.get(protocol, {}))

    @classmethod
    def with_recipe(cls, protocol: str, config: dict[str, Any]) -> dict[str, Any]:
        """``config`` over :meth:`recipe` of ``protocol``: the user's settings win, key by key. Logs the recipe's
        settings that apply."""
        recipe = cls.recipe(protocol)
        for key, dependents in cls.recipe_links.items():  # a user's value voids the recipe's keys tied to it
            if key in config:
                recipe = {k: v for k, v in recipe.items() if k not in dependents}
        used = {k: v for k, v in recipe.items() if k not in config}
        if used:
            log.info("%s: the %s recipe sets %s (override with --set, or --no-recipe)", cls.name, protocol,
                     ", ".join(f"{k}={v}" for k, v in used.items()))
        return {**recipe, **config}

    @abstractmethod
    def fit(self, split: Split) -> Recommender:
        """Train on ``split.train`` (``split.valid`` may drive early stopping)."""

    @abstractmethod
    def score(self, histories: Sequences) -> NDArray[np.float32]:
        """Scores ``[len(histories), num_items + 1]``."""

    @property
    def num_items(self) -> int:
        if self.vocab_ is None:
            raise ConfigError(f"{self.name} is not fitted yet: call fit() first")
        return self.vocab_.size

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path, metrics: dict[str, Any] | None = None, seed: int | None = None,
             data_hash: str | None = None) -> Path:
        """Write the run directory atomically: ``config.json``, ``vocab.npz``, model state, ``env.json``
        (and ``metrics.json`` when given)."""
        if self.vocab_ is None:
            raise ConfigError(f"{self.name} is not fitted yet: nothing to save")
        directory = Path(directory)
        with atomic_dir(directory) as tmp:
            write_json(tmp / "config.json", {"format_version": FORMAT_VERSION, "model": self.name,
                                             "config": to_dict(self.config)})
            self.vocab_.save(tmp / "vocab.npz")
            self._save_state(tmp)
            write_json(tmp / "env.json", environment(seed if seed is not None else getattr(self.config, "seed", None),
                                                     data_hash))
            if self.history_:
                write_json(tmp / "history.json", self.history_)
            if metrics is not None:
                write_json(tmp / "metrics.json", metrics)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Recommender:
        directory = Path(directory)
        meta = read_json(directory / "config.json")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ArtifactError(f"{directory}: run format version {meta.get('format_version')}, "
                                f"expected {FORMAT_VERSION}")
        obj = cls(from_dict(cls.config_class, cls._upgrade_config(dict(meta.get("config", {})))))
        obj.vocab_ = ItemVocab.load(directory / "vocab.npz")
        obj._load_state(directory)
        return obj

    @classmethod
    def _upgrade_config(cls, saved: dict[str, Any]) -> dict[str, Any]:
        """The saved config of an older version, with the settings added since filled so that the loaded model
        behaves as it did when saved (not with today's defaults). Identity unless a model needs it."""
        return saved

    def _save_state(self, directory: Path) -> None:
        """Write the fitted state into ``directory`` (arrays without pickle, torch state_dicts)."""

    def _load_state(self, directory: Path) -> None:
        """Read what :meth:`_save_state` wrote."""


def can_train_full(cls: type[Recommender]) -> bool:
    """Whether ``cls`` can be fitted on :func:`graphrec.split.train_full_split` (no validation cases): models
    that never early-stop, and models that then train their configured number of epochs (SASRec, fusion)."""
    return bool(cls.refit_on_full or cls.trains_without_validation)


def load_model(directory: str | Path) -> Recommender:
    """Load any saved run directory, dispatching on the model name in ``config.json``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ArtifactError(f"no run directory at {directory}")
    meta = read_json(directory / "config.json")
    return get_model_class(str(meta.get("model"))).load(directory)


@dataclasses.dataclass(frozen=True)
class QueryConfig:
    """How an item-embedding model turns a history into scores."""

    pooling: Literal["last", "mean", "mean_recent"] = "last"
    recent: int = 5
    decay: float = 1.0
    similarity: Literal["dot", "cosine"] = "cosine"


class EmbeddingRecommender(Recommender):
    """A recommender whose scores are similarities between a pooled history vector and item vectors.

    Subclasses fill ``self.embeddings_`` in :meth:`fit`; the config may carry ``pooling``/``recent``/
    ``decay``/``similarity`` fields (see :class:`QueryConfig`).
    """

    embeddings_: Embeddings | None = None

    def item_embeddings(self) -> Embeddings:
        if self.embeddings_ is None:
            raise ConfigError(f"{self.name} is not fitted yet: call fit() first")
        return self.embeddings_

    def _query(self) -> QueryConfig:
        fields = {f.name for f in dataclasses.fields(QueryConfig)}
        return QueryConfig(**{k: getattr(self.config, k) for k in fields if hasattr(self.config, k)})

    def index_metric(self) -> str:
        """The Faiss metric that ranks like :meth:`score`: ``cosine`` or ``ip`` (inner product)."""
        return "cosine" if self._query().similarity == "cosine" else "ip"

    def build_index(self, **params: Any) -> Any:
        """A :class:`~graphrec.index.FaissIndex` over the item vectors with the metric :meth:`score` uses."""
        from graphrec.index import FaissIndex

        return FaissIndex.build(self.item_embeddings(), **{"metric": self.index_metric(), **params})

    def user_embeddings(self, histories: Sequences) -> NDArray[np.float32]:
        q = self._query()
        vecs = self._normalised() if q.similarity == "cosine" else self.item_embeddings().vectors
        return pool_histories(histories, vecs, q.pooling, q.recent, q.decay)

    def clear_cache(self) -> None:
        """Forget the cached unit-length item vectors that cosine scoring uses.

        Replacing ``embeddings_`` (or its ``vectors`` array) is noticed without this; call it after changing
        ``embeddings_.vectors`` in place."""
        self._normed: NDArray[np.float32] | None = None
        self._normed_of: NDArray[np.float32] | None = None

    def _normalised(self) -> NDArray[np.float32]:
        v = self.item_embeddings().vectors
        cached = getattr(self, "_normed", None)
        if cached is None or getattr(self, "_normed_of", None) is not v:
            norms = np.linalg.norm(v, axis=1, keepdims=True)
            cached = (v / np.maximum(norms, 1e-12)).astype(np.float32)
            self._normed, self._normed_of = cached, v
        return cached

    def score(self, histories: Sequences) -> NDArray[np.float32]:
        q = self._query()
        items = self._normalised() if q.similarity == "cosine" else self.item_embeddings().vectors
        scores = self.user_embeddings(histories) @ items.T
        known = self.item_embeddings().known
        if known is not None:
            scores[:, ~known] = -np.inf
        return scores

    def _save_state(self, directory: Path) -> None:
        self.item_embeddings().save_into(directory)

    def _load_state(self, directory: Path) -> None:
        self.embeddings_ = Embeddings.load(directory)
