"""SASRec: Self-Attentive Sequential Recommendation (Kang & McAuley, ICDM 2018), trained on whole sequences.

Example:
    >>> import graphrec.datasets
    >>> from graphrec.evaluate import evaluate
    >>> split = graphrec.datasets.load("synthetic", num_users=200, num_items=100, num_categories=5).split()
    >>> model = SASRec(max_len=20, epochs=2, progress=False).fit(split)
    >>> 0.0 <= evaluate(model, split.test)["NDCG@10"] <= 1.0
    True
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray
from torch import nn

from graphrec.artifacts import read_json, write_json
from graphrec.embeddings import Embeddings
from graphrec.errors import ArtifactError, ConfigError
from graphrec.evaluate import evaluate
from graphrec.model import Recommender
from graphrec.sequences import Sequences
from graphrec.split import Split
from graphrec.training import set_seed
from sequential.config import SESSION_RECIPE, SASRecConfig
from sequential.data import TrainData, padded_histories
from sequential.network import IdEmbedding, SASRecNet, SideInfoEmbedding
from sequential.priors import knn_bias, repeat_bias, sequence_matrix, transition_bias, transition_matrix
from sequential.trainer import train_network

__all__ = ["SASRec"]

log = logging.getLogger(__name__)


class SASRec(Recommender):
    """SASRec with the loss, sampler and options of :class:`~sequential.config.SASRecConfig`.

    ``fit`` trains on every position of every ``split.train`` sequence (one sample per user per epoch), validates
    NDCG@10 on ``split.valid`` with :func:`graphrec.evaluate.evaluate` and keeps the best epoch. ``score`` ranks the
    catalogue by the dot product of the last hidden state with the shared item table.

    Args:
        config: A :class:`SASRecConfig` (or a dict / keyword settings; unknown keys raise ConfigError).
    """

    name: ClassVar[str] = "sasrec"
    trains_without_validation: ClassVar[bool] = True  # empty split.valid: the configured epochs, no early stop
    config_class: ClassVar[type] = SASRecConfig
    config: SASRecConfig

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.net_: SASRecNet | None = None
        self.transitions_: sp.csr_matrix | None = None
        self.sequences_: sp.csr_matrix | None = None

    #: :data:`~sequential.config.SESSION_RECIPE` on session data; the defaults are the recipe of user histories.
    recipes: ClassVar[dict[str, dict[str, Any]]] = {"session": SESSION_RECIPE}
    recipe_links: ClassVar[dict[str, tuple[str, ...]]] = {"loss": ("num_negatives",)}

    # ------------------------------------------------------------------ training
    def fit(self, split: Split) -> SASRec:
        """Train on ``split.train``; early stopping on ``split.valid`` NDCG@10."""
        self.config.validate()
        data = TrainData(split.train, self.config.max_len, self.config.next_n)
        self.config = cfg = self.config.resolve(float(np.median(data.lengths)) if data.num_rows else 0.0)
        self.vocab_ = split.vocab
        self.fit_priors(split.train)
        set_seed(cfg.seed)
        self.net_ = self._build(self._item_encoder(split), split.num_items)
        if data.num_rows == 0:
            raise ConfigError("no training sequence has two or more items: nothing to learn from")

        def validate() -> float:
            return evaluate(self, split.valid, ks=(10,), batch_size=cfg.eval_batch_size)["NDCG@10"]

        self.history_ = train_network(self.net_, data, cfg, split.train.item_counts(),
                                      validate if len(split.valid) else None)
        self.net_.eval()
        return self

    def fit_priors(self, train: Sequences) -> None:
        """Build what the configured inference-time priors read from ``train``: the transition graph
        (``transition_window``) and the neighbour base of the session-kNN prior (``knn_neighbors``)."""
        cfg = self.config
        self.transitions_ = (transition_matrix(train, cfg.transition_window, cfg.transition_recency)
                             if cfg.transition_window else None)
        self.sequences_ = sequence_matrix(train) if cfg.knn_neighbors else None

    def _item_encoder(self, split: Split) -> nn.Module:
        cfg = self.config
        if cfg.side_info:
            if split.side_info is None or not split.side_info.fields:
                log.warning("side_info=True but %s has no side information: using id embeddings only", split.name)
            else:
                return SideInfoEmbedding(split.num_items, cfg.embedding_dim, cfg.side_dim,
                                         SideInfoEmbedding.fields_from(split.side_info))
        return IdEmbedding(split.num_items, cfg.embedding_dim)

    def _build(self, encoder: nn.Module, num_items: int) -> SASRecNet:
        cfg = self.config
        return SASRecNet(encoder, num_items, cfg.embedding_dim, cfg.max_len, cfg.num_blocks, cfg.num_heads,
                         cfg.dropout if cfg.dropout is not None else 0.0, cfg.activation, cfg.positions,
                         cfg.cosine_scale, cfg.readout)

    # ------------------------------------------------------------------ inference
    def _net(self) -> SASRecNet:
        if self.net_ is None:
            raise ConfigError(f"{self.name} is not fitted yet: call fit() first")
        return self.net_

    @torch.no_grad()
    def user_embeddings(self, histories: Sequences) -> NDArray[np.float32]:
        """The last hidden state for each history, ``float32[B, d]`` (zero rows are not special-cased)."""
        net = self._net()
        was = net.training
        net.eval()
        table = self._eval_table(net)
        hidden, _ = net.head(net.last_hidden(padded_histories(histories, net.max_len), table), table)
        out = hidden.float().numpy()
        net.train(was)
        return out

    @torch.no_grad()
    def score(self, histories: Sequences) -> NDArray[np.float32]:
        """Scores ``float32[B, num_items + 1]`` (column 0 is ``-inf``): last hidden state · item table, plus the
        terms of :meth:`score_extras` (``repeat_bonus``, ``repeat_recency``, ``transition_prior``, ``knn_prior``)."""
        net = self._net()
        was = net.training
        net.eval()
        table = self._eval_table(net)
        inputs = padded_histories(histories, net.max_len)
        hidden, out_table = net.head(net.last_hidden(inputs, table), table)
        scores = hidden @ out_table.T
        net.train(was)
        rows, items, values = self._extras(inputs)
        if len(rows):
            scores = scores.index_put((rows, items), values.to(scores.dtype), accumulate=True)
        scores[:, 0] = -torch.inf
        return scores.float().numpy()

    def score_extras(self, histories: Sequences) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]:
        """What :meth:`score` adds to the dot product of :meth:`user_embeddings` and :meth:`item_embeddings`, as
        ``(row, item, value)`` triples (values of repeated pairs add up): ``repeat_bonus`` (+ ``repeat_recency``)
        on each distinct item of the history the model reads (its last ``max_len``), ``transition_prior`` on the
        successors of the last ``transition_history`` items (within that window) and ``knn_prior`` on the items of
        the neighbouring train sequences. Empty when all are 0. ``graphrec recall`` merges these items with the
        Faiss candidates."""
        rows, items, values = self._extras(padded_histories(histories, self._net().max_len))
        return rows.numpy(), items.numpy(), values.numpy()

    def _extras(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        cfg = self.config
        if cfg.repeat_bonus or cfg.repeat_recency:
            parts.append(repeat_bias(inputs, cfg.repeat_bonus, cfg.repeat_recency, cfg.repeat_decay))
        if cfg.transition_prior:
            if self.transitions_ is None:
                raise ConfigError("transition_prior needs the transition graph: fit with transition_window >= 1")
            parts.append(transition_bias(self.transitions_, inputs, cfg.transition_prior, cfg.transition_history,
                                         cfg.transition_decay))
        if cfg.knn_prior:
            if self.sequences_ is None:
                raise ConfigError("knn_prior needs the train sequences: fit with knn_neighbors >= 1")
            parts.append(knn_bias(self.sequences_, inputs, cfg.knn_prior, cfg.knn_neighbors, cfg.knn_position_decay,
                                  cfg.knn_recency, cfg.knn_idf, cfg.knn_query_decay))
        if not parts:
            empty = torch.zeros(0, dtype=torch.long)
            return empty, empty, torch.zeros(0)
        return (torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]),
                torch.cat([p[2].float() for p in parts]))

    def _eval_table(self, net: SASRecNet) -> torch.Tensor:
        """The item table in eval mode, cached until a parameter changes (graph encoders are not free)."""
        key = (id(net), tuple(p._version for p in net.parameters()))
        if getattr(self, "_table_key", None) != key:
            self._table, self._table_key = net.table(), key
        return self._table

    @torch.no_grad()
    def item_embeddings(self) -> Embeddings:
        """The shared item table as an :class:`Embeddings` bundle (row 0 zero); dot product with
        :meth:`user_embeddings` reproduces :meth:`score` up to the terms of :meth:`score_extras`."""
        net = self._net()
        was = net.training
        net.eval()
        vectors = net.output_table(net.table()).float().numpy().copy()
        net.train(was)
        vectors[0] = 0.0
        return Embeddings(self.vocab_, vectors, {"model": self.name, "similarity": "dot"})  # type: ignore[arg-type]

    def build_index(self, **params: Any) -> Any:
        """A :class:`~graphrec.index.FaissIndex` (inner product) over :meth:`item_embeddings`, which ``graphrec
        train`` saves in the run directory; ``graphrec recall`` searches it with :meth:`user_embeddings` and merges
        the items of :meth:`score_extras`, so it ranks as :meth:`score`."""
        from graphrec.index import FaissIndex

        return FaissIndex.build(self.item_embeddings(), **{"metric": "ip", **params})

    # ------------------------------------------------------------------ persistence
    def _network_meta(self) -> dict[str, Any]:
        enc = self._net().item_encoder
        meta: dict[str, Any] = {"num_items": self._net().num_items, "encoder": type(enc).__name__}
        if isinstance(enc, SideInfoEmbedding):
            meta["side_values"] = enc.value_counts()
        return meta

    @classmethod
    def _upgrade_config(cls, saved: dict[str, Any]) -> dict[str, Any]:
        if "transition_prior" not in saved:  # saved before the transition prior existed: no graph was kept
            saved = {**saved, "transition_window": 0, "transition_prior": 0.0}
        if "transition_history" not in saved:  # saved when the prior read the last item alone
            saved = {**saved, "transition_history": 1}
        return saved

    def _save_state(self, directory: Path) -> None:
        torch.save(self._net().state_dict(), directory / "model.pt")
        write_json(directory / "network.json", self._network_meta())
        if self.transitions_ is not None:
            sp.save_npz(directory / "transitions.npz", self.transitions_)
        if self.sequences_ is not None:
            sp.save_npz(directory / "sequences.npz", self.sequences_)

    def _load_state(self, directory: Path) -> None:
        meta = read_json(directory / "network.json")
        try:
            state = torch.load(directory / "model.pt", map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ArtifactError(f"cannot read {directory / 'model.pt'}: {type(exc).__name__}: {exc}") from exc
        self.net_ = self._build(self._encoder_from_state(meta, state), int(meta["num_items"]))
        self.net_.load_state_dict(state)
        self.net_.eval()
        self.transitions_ = self._load_matrix(directory / "transitions.npz", self.num_items + 1)
        self.sequences_ = self._load_matrix(directory / "sequences.npz", None)

    def _load_matrix(self, path: Path, rows: int | None) -> sp.csr_matrix | None:
        """A saved prior matrix (``None`` when absent) with ``num_items + 1`` columns and, if given, ``rows``."""
        try:
            m = sp.csr_matrix(sp.load_npz(path)) if path.exists() else None
        except Exception as exc:
            raise ArtifactError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc
        if m is not None and (m.shape[1] != self.num_items + 1 or (rows is not None and m.shape[0] != rows)):
            raise ArtifactError(f"{path} holds a {m.shape} matrix for {self.num_items} items")
        return m

    def _encoder_from_state(self, meta: dict[str, Any], state: dict[str, torch.Tensor],
                            prefix: str = "item_encoder.") -> nn.Module:
        n, d = int(meta["num_items"]), self.config.embedding_dim
        if meta["encoder"] == "IdEmbedding":
            return IdEmbedding(n, d)
        if meta["encoder"] == "SideInfoEmbedding":
            fields = [(state[f"{prefix}offsets_{f}"], state[f"{prefix}values_{f}"], int(v))
                      for f, v in enumerate(meta["side_values"])]
            return SideInfoEmbedding(n, d, self.config.side_dim, fields)
        raise ArtifactError(f"unknown item encoder {meta['encoder']!r} in network.json")
