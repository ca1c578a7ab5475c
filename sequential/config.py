"""Typed, frozen configuration of SASRec and of its graph-fused variant.

The defaults are the best configuration measured on ML-1M on the 2-core CPU of the project machine (see
``benchmarks/results/sasrec_ablation.md``), so ``SASRec()`` is what a new user should run on user histories
(leave-one-out, time cut). Session logs evaluated by the session protocol (every prefix predicts its next click, the
session's own items rankable) want another recipe: :data:`SESSION_RECIPE` and :data:`FUSION_SESSION_RECIPE`, which
``SASRec.recipe("session")`` returns and ``graphrec train`` / ``graphrec bench`` apply beneath the user's settings
on session data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

from graphrec.errors import ConfigError

__all__ = ["SASRecConfig", "FusionConfig", "LOSSES", "SAMPLERS", "SESSION_RECIPE", "FUSION_SESSION_RECIPE"]

LOSSES = ("ce", "bce", "sampled_softmax", "in_batch", "gbce")
SAMPLERS = ("uniform", "popularity", "log_uniform")

#: SASRec's recipe for the session protocol (Diginetica, SR-GNN split): short windows, sampled softmax with 4,096
#: shared negatives, cosine scores, the CORE readout (``readout="items"``), the rate decayed linearly to 0 over 12
#: epochs, and the inference-time terms of session logs chosen on validation in session 14 (a bonus for the
#: session's own items, larger the more recent; the last click's successors in the transition graph; a session-kNN
#: over the 200 most similar train sessions with recent sessions favoured, IDF item weights and exponential click
#: weights). Trained on train + validation (``--train-full``), it tests P@20 54.61 / MRR@20 19.35 on Diginetica
#: (``graphrec bench --dataset diginetica --model sasrec --train-full``, 1 h 53 min here; 6 epochs: 54.37 / 19.29;
#: ``benchmarks/results/fusion_notes.md``, sessions 14 and 15). The epoch count was not chosen on validation: 12 is
#: session 4's count for the hidden-state readout, and 6 the cheaper count tried first.
SESSION_RECIPE: dict[str, Any] = {
    "max_len": 50, "dropout": 0.1, "cosine_scale": 16.0, "loss": "sampled_softmax", "num_negatives": 4096,
    "lr": 3e-3, "lr_schedule": "linear", "epochs": 12, "readout": "items",
    "repeat_bonus": 9.0, "repeat_recency": 12.0, "transition_prior": 0.75, "transition_history": 1,
    "knn_neighbors": 200, "knn_prior": 18.0, "knn_recency": 0.3, "knn_idf": True, "knn_query_decay": 1.0,
}

#: The fused model's session recipe: :data:`SESSION_RECIPE` with frozen DeepWalk vectors of the train sessions fused
#: into the item table (``graph_source="deepwalk"``), over the 6 epochs it was measured with: trained on train +
#: validation, it tests P@20 54.38 / MRR@20 19.30 on Diginetica (53.61 / 19.17 with session 8's terms;
#: ``fusion_notes.md``, sessions 13 and 14), level with plain SASRec's 6 epochs (54.37 / 19.29). Its epochs cost
#: about twice plain SASRec's (the fused item table is recomputed for the whole catalogue on every step), and a
#: 12-epoch fused run has not been measured.
FUSION_SESSION_RECIPE: dict[str, Any] = {**SESSION_RECIPE, "graph_source": "deepwalk", "epochs": 6}


@dataclass(frozen=True)
class SASRecConfig:
    """Settings of :class:`~sequential.sasrec.SASRec`.

    Architecture:
        max_len: Longest history the model reads (the last ``max_len`` items). Default 200.
        embedding_dim: Width of item/position embeddings and hidden states. Default 128 (better than 64 per
            epoch on both ML-1M and Beauty; see ``benchmarks/results/sasrec_ablation.md``).
        num_blocks: Self-attention blocks. Default 2.
        num_heads: Attention heads per block. Default 2.
        dropout: Dropout on embeddings, attention weights and feed-forward outputs. None: the paper's rule, 0.5
            when the median training sequence is shorter than 20 items (sparse logs such as Amazon Beauty or
            sessions) and 0.2 otherwise (ML-1M); ``fit`` stores the value it chose. Default None.
        activation: Feed-forward activation, ``gelu`` or ``relu`` (the paper). Default ``gelu``.
        positions: ``from_start`` (position 0 = oldest item of the window: whole-sequence training then equals
            prefix training) or ``from_end`` (the paper: the newest item at position ``max_len - 1``).
            Default ``from_start``.
        side_info: Concatenate the mean embedding of each side-information field (category, brand, genre...) to
            the item id embedding, then project back to ``embedding_dim``. Ignored (with a warning) when the
            data has none. Default False.
        side_dim: Width of each side-information field embedding. Default 16.
        cosine_scale: 0 scores an item by the dot product of the last hidden state with its embedding; ``s > 0``
            by ``s`` times their cosine similarity (normalised representations, as NISER for session models:
            the embedding norm no longer carries popularity). Default 0: on ML-1M 16 trailed the dot product at
            equal epochs (test NDCG@10 0.1707 vs 0.1742 after 26 epochs); on Diginetica it learned faster
            (``benchmarks/results/sasrec_probe_diginetica.md``).
        readout: The query vector at each position: ``hidden`` (the last block's hidden state, as SASRec),
            ``items`` (CORE, Hou et al. SIGIR 2022: the history's own item vectors averaged with weights
            ``softmax_s(w . h_s)`` over the positions so far, so queries and items share one space) or ``both``
            (the sum of the two, each normalised). ``items`` and ``both`` need ``cosine_scale > 0``.
            Default ``hidden``.

        repeat_bonus: Added to the score of every item of the history by ``score`` (hence in evaluation), not in
            training: a re-consumption prior for session logs, where the next
            click often repeats an item of the session and seen items stay rankable (on Diginetica's test
            prefixes 20.5% of the targets are in the prefix, and the 12-epoch model of ``sasrec_quality.md``
            ranks only 68% of those in its top 20). Tune it on validation; it has no effect when the evaluation
            excludes seen items (ML-1M, Beauty), nor on ``graphrec recall``, which leaves the history out.
            Default 0.
        repeat_recency: Added on top of ``repeat_bonus`` as ``repeat_recency * repeat_decay ** age``, ``age``
            the clicks since the item's last occurrence (0 for the last item): on Diginetica the next click
            repeats the last item in 9.1% of the test prefixes and the one before in 6.5%, older items in 4.9%.
            Inference only, like ``repeat_bonus``. Must be >= 0. Default 0.
        repeat_decay: That term's base, in (0, 1]. Default 0.5.
        transition_window: Build the global transition graph of the train sequences at ``fit`` (``a -> b`` for
            ``b`` at most this many clicks after ``a``, weights ``1 / distance``, rows normalised to
            ``P(b | a)``) and keep it with the model, for ``transition_prior``. 0: none. Default 3.
        transition_prior: Score-level fusion with that graph: ``score`` adds ``transition_prior *
            log(1 + P(i | history) / 0.001)`` to every item, where ``P(i | history)`` mixes the graph's rows of the
            last ``transition_history`` items (below), so the items that followed the recent clicks in the global
            graph (sequential rules) rise by how often they did. Inference only, like ``repeat_bonus``: tune it on
            validation (``benchmarks/sasrec_repeat_bonus.py --priors ... --histories ...``). Needs
            ``transition_window >= 1``. ``user_embeddings`` do not carry it: ``graphrec recall`` merges the
            prior's items with the Faiss candidates (``SASRec.score_extras``). Must be >= 0. Default 1.
        transition_history: How many recent items' rows the prior mixes, the ``j``-th most recent weighted
            ``transition_decay ** (j - 1)`` (weights of a history's real items normalised to 1); 1 reads the last
            item only. Default 20.
        transition_decay: That weight's base, in (0, 1]. Default 0.8. The three defaults were chosen on
            validation NDCG@10 (window 3; ML-1M 0.1957 with the last item alone at weight 0.5 -> 0.2022, Beauty
            0.0692 -> 0.0715), and test on the refit models at ML-1M HR@10 / NDCG@10 0.3306 / 0.1965 (0.3267 /
            0.18995 with the last item alone, 0.3152 / 0.1820 without a prior) and Beauty 0.1121 / 0.0683 (0.1068 /
            0.0660, 0.1051 / 0.0633); see ``sequential/README.md``.
        transition_recency: Build that graph with each train sequence's pairs weighted by recency, ``exp(-(M - 1
            - m) / (transition_recency * M))`` for sequence ``m`` of ``M`` in time order (as ``knn_recency``), so the
            recent sessions' transitions count more. Read at ``fit``. 0: off. Must be >= 0. Default 0.
        knn_neighbors: Keep the item sets of the train sequences at ``fit`` for ``knn_prior``, which reads this
            many most similar of them. 0: none kept. Default 0.
        knn_prior: Score-level fusion with neighbouring train sequences (session-kNN, V-SKNN): ``score`` adds
            ``knn_prior * s(i) / max_j s(j)``, ``s(i)`` the summed similarity of the ``knn_neighbors`` train
            sequences most similar to the history that hold ``i`` (similarity: the shared items, each weighted
            by its position in the history, the last click 1 and the first ``1 / n``, a repeated item's weights
            added up). Inference only, like ``transition_prior``, and merged by ``graphrec recall`` the same way.
            Needs ``knn_neighbors >= 1``. Must be >= 0. Default 0: on the validation cases of ML-1M and Beauty
            it gained at most 0.0005 NDCG@10 (weight 1-2) and lost at higher weights; on Diginetica's (with
            ``repeat_recency``) it raised P@20 / MRR@20 from 49.37 / 18.18 to 50.46 / 18.28 at weight 16 and
            k 50 (``sequential/README.md``).
        knn_position_decay: STAN's ``lambda_3`` (Garg et al. SIGIR 2019) for ``knn_prior``: a neighbour's items
            count ``exp(-d / knn_position_decay)`` of its similarity, ``d`` their distance in clicks, within that
            neighbour, from the history's most recent item it holds (0: every item counts fully, V-SKNN). Must be
            >= 0. Default 0.
        knn_recency: STAN's ``lambda_2`` for ``knn_prior``, with the order of the train sequences as time (session
            files are in time order): the similarity of train sequence ``m`` of ``M`` is multiplied by
            ``exp(-(M - 1 - m) / (knn_recency * M))`` before the neighbours are chosen, so 0.1 divides it by
            ``e`` for every tenth of the log further back. 0: off. Must be >= 0. Default 0.
        knn_query_decay: STAN's ``lambda_1``: weigh the history's clicks ``exp(-age / knn_query_decay)`` in the
            similarity (``age`` 0 for the last click) instead of linearly by position. 0: linear. Must be >= 0.
            Default 0.
        knn_idf: Weigh each item the history shares with a train sequence by ``log(M / df)``, ``df`` the train
            sequences holding it. Default False.

    Objective:
        loss: ``ce`` (full softmax over the catalogue), ``bce`` (one sampled negative per position, the
            original), ``sampled_softmax`` (shared sampled negatives with log-Q correction), ``in_batch``
            (the batch's targets as negatives, plus ``cross_batch`` earlier batches, log-Q corrected with
            train popularity) or ``gbce`` (gSASRec's calibrated BCE). Default ``ce``.
        num_negatives: Negatives per position (``bce``: default 1) or per batch (``sampled_softmax``/``gbce``:
            default 256). None: the loss's default.
        sampler: Negative sampler of ``sampled_softmax``/``gbce``/``bce``: ``uniform``, ``popularity`` or
            ``log_uniform`` (Zipf over the popularity rank). Default ``uniform``.
        logq_correction: Subtract ``log(K q(j))`` from sampled logits (sampled softmax / in-batch). Default True.
        cross_batch: Earlier batches whose targets join the in-batch negatives. Default 0.
        hard_negatives: For ``bce``/``gbce``: per position, add the ``hard_negatives`` highest-scoring items of
            a shared pool of ``hard_pool`` uniform candidates as extra negatives. Default 0.
        hard_pool: Size of that pool. Default 256.
        gbce_t: gSASRec's calibration parameter t in [0, 1]. Default 0.75.
        next_n: Each position predicts the next ``next_n`` items (losses averaged, nearer first). Default 1.
        negative_weight: Weight of the negative-feedback auxiliary loss (push down items the user skipped or
            disliked right after each position); needs skip/dislike events in the training sequences. Default 0.

    Optimisation:
        lr, weight_decay, adam_beta2: Adam settings. Defaults 1e-3, 0, 0.98.
        lr_schedule: ``constant``, or ``linear`` / ``cosine`` decay of the learning rate, step by step, from ``lr``
            to 0 at the end of epoch ``epochs``. A decay suits runs of a fixed number of epochs (``--train-full``
            on session data, where the papers also decay the rate); with early stopping it follows the
            configured ``epochs``, not the epoch where training stops. Default ``constant``.
        batch_size: Sequences per step (each sequence trains on all its positions). Default 64: on a CPU, twice
            the steps per epoch of the GPU recipe's 128 for the same compute, which converges sooner in wall time.
        length_buckets: Batches per length-sorted bucket: every ``length_buckets`` batches of an epoch's shuffle
            are sorted by length before batching, so batches carry little padding (1: plain shuffled batches).
            Default 32.
        epochs: Maximum epochs. Default 200.
        patience: Evaluations without improvement of validation NDCG@10 before stopping. Default 10, as in the
            committed quality runs. 5 stops too early: ML-1M's default run went 5 epochs without a new best
            before epoch 38 (its best is 46, ``sasrec_runs/s3_ml1m_d128_refit.json``), and on LastFM fusion
            stopped after 6 epochs on a plateau that plain SASRec left at epoch 10 (``sasrec_fusion_small.md``).
        eval_every: Epochs between validations. Default 1.
        max_minutes: Wall-time budget of training (None: no budget), validation included. No epoch starts that
            the duration of the previous one says would end past the budget. Default None.
        bf16: Run the training forward/backward in bfloat16 autocast (matrix products in bfloat16, softmax and
            losses in float32; evaluation always runs in float32). None: on when the CPU has native bfloat16
            arithmetic (AVX512-BF16 or AMX), where it makes an ML-1M epoch ~1.3x faster at the same quality.
            Default None.
        grad_clip: Gradient norm clip (0: off). Default 0.
        seed: Seed of initialisation, shuffling, dropout and sampling. Default 0.
        num_threads: torch CPU threads (None: torch's default). Default None.
        progress: Show tqdm progress bars. Default True.
        checkpoint_dir: Where to keep ``last.pt`` (and resume from it when present). Default None.
        init_from: Warm start: a checkpoint file (``last.pt``) or a saved run directory (``model.pt``) whose
            network weights start this training; the optimiser, learning-rate schedule and epoch count start
            afresh (e.g. a final full-softmax phase after a sampled-softmax run). The architecture settings must
            match; a mismatch raises ConfigError. Ignored when ``checkpoint_dir`` holds a checkpoint to resume.
            Default None.
        eval_batch_size: Histories scored at once in validation. Default 512.
    """

    max_len: int = 200
    embedding_dim: int = 128
    num_blocks: int = 2
    num_heads: int = 2
    dropout: float | None = None
    activation: Literal["gelu", "relu"] = "gelu"
    positions: Literal["from_start", "from_end"] = "from_start"
    side_info: bool = False
    side_dim: int = 16
    cosine_scale: float = 0.0
    readout: Literal["hidden", "items", "both"] = "hidden"
    repeat_bonus: float = 0.0
    transition_window: int = 3
    transition_prior: float = 1.0
    transition_history: int = 20
    transition_decay: float = 0.8
    transition_recency: float = 0.0
    repeat_recency: float = 0.0
    repeat_decay: float = 0.5
    knn_neighbors: int = 0
    knn_prior: float = 0.0
    knn_position_decay: float = 0.0
    knn_recency: float = 0.0
    knn_idf: bool = False
    knn_query_decay: float = 0.0
    loss: Literal["ce", "bce", "sampled_softmax", "in_batch", "gbce"] = "ce"
    num_negatives: int | None = None
    sampler: Literal["uniform", "popularity", "log_uniform"] = "uniform"
    logq_correction: bool = True
    cross_batch: int = 0
    hard_negatives: int = 0
    hard_pool: int = 256
    gbce_t: float = 0.75
    next_n: int = 1
    negative_weight: float = 0.0
    lr: float = 1e-3
    lr_schedule: Literal["constant", "linear", "cosine"] = "constant"
    weight_decay: float = 0.0
    adam_beta2: float = 0.98
    batch_size: int = 64
    length_buckets: int = 32
    epochs: int = 200
    patience: int = 10
    eval_every: int = 1
    max_minutes: float | None = None
    bf16: bool | None = None
    grad_clip: float = 0.0
    seed: int = 0
    num_threads: int | None = None
    progress: bool = True
    checkpoint_dir: str | None = None
    init_from: str | None = None
    eval_batch_size: int = 512

    def validate(self) -> None:
        """Raise :class:`ConfigError` for out-of-range values (called by ``from_dict`` and at ``fit``)."""
        positive = ("max_len", "embedding_dim", "num_blocks", "num_heads", "side_dim", "hard_pool", "next_n",
                    "batch_size", "length_buckets", "epochs", "patience", "eval_every", "eval_batch_size")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1 (got {getattr(self, name)})")
        if self.embedding_dim % self.num_heads:
            raise ConfigError(f"embedding_dim ({self.embedding_dim}) must be divisible by num_heads "
                              f"({self.num_heads})")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1) (got {self.dropout})")
        if not math.isfinite(self.repeat_bonus):
            raise ConfigError(f"repeat_bonus must be finite (got {self.repeat_bonus})")
        if self.transition_window < 0 or not (math.isfinite(self.transition_prior) and self.transition_prior >= 0):
            raise ConfigError(f"transition_window and transition_prior must be finite and >= 0 (got "
                              f"{self.transition_window}, {self.transition_prior})")
        if self.transition_history < 1 or not 0.0 < self.transition_decay <= 1.0:
            raise ConfigError(f"transition_history must be >= 1 and transition_decay in (0, 1] (got "
                              f"{self.transition_history}, {self.transition_decay})")
        if self.transition_prior and not self.transition_window:
            raise ConfigError("transition_prior needs transition_window >= 1 (the graph it reads is built at fit)")
        if not (math.isfinite(self.repeat_recency) and self.repeat_recency >= 0) or not 0.0 < self.repeat_decay <= 1.0:
            raise ConfigError(f"repeat_recency must be finite and >= 0 and repeat_decay in (0, 1] (got "
                              f"{self.repeat_recency}, {self.repeat_decay})")
        if self.knn_neighbors < 0 or not (math.isfinite(self.knn_prior) and self.knn_prior >= 0):
            raise ConfigError(f"knn_neighbors and knn_prior must be finite and >= 0 (got {self.knn_neighbors}, "
                              f"{self.knn_prior})")
        for name in ("knn_position_decay", "knn_recency", "transition_recency", "knn_query_decay"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ConfigError(f"{name} must be finite and >= 0 (got {getattr(self, name)})")
        if self.knn_prior and not self.knn_neighbors:
            raise ConfigError("knn_prior needs knn_neighbors >= 1 (the train sequences it reads are kept at fit)")
        if self.cosine_scale < 0:
            raise ConfigError(f"cosine_scale must be >= 0 (got {self.cosine_scale})")
        if self.readout != "hidden" and self.cosine_scale <= 0:
            raise ConfigError(f"readout={self.readout!r} needs cosine_scale > 0 (it mixes item vectors, whose "
                              "norms the dot product would compare)")
        if self.num_negatives is not None and self.num_negatives < 1:
            raise ConfigError(f"num_negatives must be >= 1 (got {self.num_negatives})")
        if self.cross_batch < 0 or self.hard_negatives < 0:
            raise ConfigError(f"cross_batch and hard_negatives must be >= 0 (got {self.cross_batch}, "
                              f"{self.hard_negatives})")
        if self.hard_negatives and self.loss not in ("bce", "gbce"):
            raise ConfigError(f"hard_negatives applies to loss 'bce' or 'gbce' (got loss {self.loss!r}); softmax "
                              "losses already weight hard negatives by their probability")
        if self.hard_negatives > self.hard_pool:
            raise ConfigError(f"hard_negatives ({self.hard_negatives}) must be <= hard_pool ({self.hard_pool})")
        if self.cross_batch and self.loss != "in_batch":
            raise ConfigError(f"cross_batch applies to loss 'in_batch' (got loss {self.loss!r})")
        if not 0.0 <= self.gbce_t <= 1.0:
            raise ConfigError(f"gbce_t must be in [0, 1] (got {self.gbce_t})")
        if self.lr <= 0 or self.weight_decay < 0 or not 0 < self.adam_beta2 < 1:
            raise ConfigError(f"need lr > 0, weight_decay >= 0, 0 < adam_beta2 < 1 (got {self.lr}, "
                              f"{self.weight_decay}, {self.adam_beta2})")
        if self.negative_weight < 0 or self.grad_clip < 0:
            raise ConfigError(f"negative_weight and grad_clip must be >= 0 (got {self.negative_weight}, "
                              f"{self.grad_clip})")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ConfigError(f"max_minutes must be > 0 (got {self.max_minutes})")
        if self.num_threads is not None and self.num_threads < 1:
            raise ConfigError(f"num_threads must be >= 1 (got {self.num_threads})")

    def resolve(self, median_length: float) -> SASRecConfig:
        """This config with ``dropout`` chosen for data whose median training sequence has ``median_length``
        items (see the class docstring); unchanged when it is set."""
        if self.dropout is not None:
            return self
        return replace(self, dropout=0.5 if median_length < 20 else 0.2)

    def use_bf16(self) -> bool:
        """``bf16`` resolved against the CPU (see the class docstring)."""
        if self.bf16 is not None:
            return self.bf16
        import torch

        cpu = torch.cpu
        return bool(getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
                    or getattr(cpu, "_is_amx_tile_supported", lambda: False)())

    def negatives(self) -> int:
        """``num_negatives`` resolved against the loss's default."""
        if self.num_negatives is not None:
            return self.num_negatives
        return 1 if self.loss == "bce" else 256


@dataclass(frozen=True)
class FusionConfig(SASRecConfig):
    """Settings of :class:`~sequential.fusion.FusedSASRec`: every SASRec setting plus the graph side.

    Args:
        graph_source: ``encoder`` (a graph encoder trained end to end: the ``gnn`` package's edge-enhanced
            encoder when installed, else the built-in weighted GCN), ``builtin`` (always the built-in one),
            ``precomputed`` (frozen vectors from an Embeddings bundle, e.g. DeepWalk or EGES) or ``deepwalk``
            (frozen vectors of :class:`walks.DeepWalk` with its defaults and ``seed``, fitted on ``split.train`` at
            the start of ``fit`` on one skip-gram thread, so they are the same on every machine; about 15 minutes
            on Diginetica's 187k train sessions here, and saved with the model). Default ``encoder``.
        fusion: ``gate`` (gated sum of the id embedding and the projected graph vector) or ``concat``
            (concatenation followed by a linear projection). Default ``gate``.
        graph_dim: Width of the graph encoder. Default 64.
        graph_layers: Message-passing layers of the built-in encoder. Default 2.
        graph_window: Co-occurrence window of the item graph built from ``split.train``. Default 1.
        graph_directed: Build a directed transition graph (True) or an undirected co-occurrence graph. Default False.
        graph_top_k: Keep the heaviest ``graph_top_k`` out-edges per item (None: all). Default 10 (the edge-enhanced
            encoder costs ~9x less per step than on the top-50 graph of ML-1M; see ``fusion_notes.md``).
        precomputed_path: Directory of an Embeddings bundle (``graph_source='precomputed'``). Default None.
        graph_every: Run the graph encoder forward and backward on every ``graph_every``-th training step of an
            epoch and reuse its (detached) output in between: the encoder then trains on 1/``graph_every`` of the
            steps at 1/``graph_every`` of its cost; the fusion layers and SASRec train on every step, and
            evaluation always uses a fresh encoder output. Default 4: on Beauty, fusion with 4 (gnn encoder, gate,
            top-10 graph; train + validation, 29 epochs) tested HR@10 0.1073 / NDCG@10 0.0641 against the plain
            SASRec's 0.1051 / 0.0634 at the same epochs; its epochs took ~2.5x a plain SASRec epoch (under load),
            where 1 would cost an estimated ~6x (the encoder's 0.46 s forward + backward on every step,
            ``fusion_notes.md``). 1 (fully end to end) has not been trained to convergence here.
    """

    graph_source: Literal["encoder", "builtin", "precomputed", "deepwalk"] = "encoder"
    fusion: Literal["gate", "concat"] = "gate"
    graph_dim: int = 64
    graph_layers: int = 2
    graph_window: int = 1
    graph_directed: bool = False
    graph_top_k: int | None = 10
    precomputed_path: str | None = None
    graph_every: int = 4

    def validate(self) -> None:
        super().validate()
        if self.graph_every < 1:
            raise ConfigError(f"graph_every must be >= 1 (got {self.graph_every})")
        if self.graph_dim < 1 or self.graph_layers < 1 or self.graph_window < 1:
            raise ConfigError(f"graph_dim, graph_layers and graph_window must be >= 1 (got {self.graph_dim}, "
                              f"{self.graph_layers}, {self.graph_window})")
        if self.graph_top_k is not None and self.graph_top_k < 1:
            raise ConfigError(f"graph_top_k must be >= 1 (got {self.graph_top_k})")
        if self.graph_source == "precomputed" and not self.precomputed_path:
            raise ConfigError("graph_source='precomputed' needs precomputed_path (an Embeddings directory)")
        if self.precomputed_path and self.graph_source != "precomputed":
            raise ConfigError(f"precomputed_path is set but graph_source is {self.graph_source!r}: add "
                              "graph_source=precomputed to use those vectors")
