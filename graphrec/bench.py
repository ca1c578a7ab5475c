"""The benchmark harness behind ``graphrec bench`` and ``benchmarks/run_all.py``.

Every model is trained with its default (best known) configuration on the split's train part and scored by the
one evaluator on the test cases. Models without early stopping (``refit_on_full``) are refitted on train +
validation before the test run; the others are fitted on train only (early stopping on validation). The test
histories always include the validation item (S3-Rec/RecBole convention). ``metrics.json`` records which.

With ``train_full`` every model is fitted once on train + validation with no validation cases
(:func:`~graphrec.split.train_full_split`): models that early-stop train their configured number of epochs. This
is the protocol of fixed session splits (Diginetica), where the published models train on every train session.
"""

from __future__ import annotations

import logging
import platform
import resource
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graphrec.artifacts import atomic_dir, environment, write_json
from graphrec.datasets import Dataset
from graphrec.errors import ConfigError
from graphrec.evaluate import DEFAULT_KS, evaluate, summarize
from graphrec.model import Recommender, can_train_full, get_model_class
from graphrec.split import Split, refit_split, train_full_split
from graphrec.training import set_seed

__all__ = ["bench_model", "run_bench", "check_train_full", "best_epoch_count", "markdown_table", "PUBLISHED",
           "FIT_TRAIN_FULL", "FIT_REFIT_BEST", "refit_best_epochs"]

log = logging.getLogger(__name__)

#: ``fit_for_test`` of a model trained once on train + validation without validation cases (``train_full``).
FIT_TRAIN_FULL = "train+valid, no validation"
#: ``fit_for_test`` of an early-stopping model refitted on train + validation for its best validation epoch count.
FIT_REFIT_BEST = "train+valid, best-epoch count"

#: Published anchors (full ranking, leave-one-out, seen items excluded; Diginetica: SR-GNN split, percent).
PUBLISHED: dict[str, list[dict[str, Any]]] = {
    "ml-1m": [
        {"model": "SASRec (BCE), published", "HR@10": 0.2500, "NDCG@10": 0.1341},
        {"model": "SASRec full-CE, published", "HR@10": 0.3152, "NDCG@10": 0.1821},
    ],
    "beauty": [
        {"model": "SASRec (S3-Rec split), published", "HR@10": 0.0605, "NDCG@10": 0.0318},
        {"model": "eSASRec, published", "HR@10": 0.0928, "NDCG@10": 0.0523},
    ],
    "diginetica": [
        {"model": "POP, published", "HR@20": 0.0089, "MRR@20": 0.0020},
        {"model": "SR-GNN, published", "HR@20": 0.5073, "MRR@20": 0.1759},
        {"model": "GCE-GNN, published", "HR@20": 0.5422, "MRR@20": 0.1904},
    ],
}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_model(name: str, split: Split, dataset: Dataset | None = None, ks: Sequence[int] = DEFAULT_KS,
                config: dict[str, Any] | None = None, seed: int = 0, save_dir: Path | None = None,
                refit: bool = True, train_full: bool = False, recipe: bool = True) -> dict[str, Any]:
    """Fit one model, evaluate it on validation and test, and return the metrics row.

    ``config`` overrides the model's defaults; with ``recipe`` they sit over the model's recipe for the split's
    protocol (:meth:`~graphrec.model.Recommender.recipe`, e.g. SASRec's for session data), and ``recipe`` in the
    row names the protocol whose recipe was used (None: the plain defaults).

    Top-level keys are the test metrics (``HR@10``, ``NDCG@10`` ...); ``valid`` holds the validation metrics
    (empty with ``train_full``: the validation targets are training data then).

    With ``refit`` the model tested is trained on train + validation: models that never early-stop
    (``refit_on_full``) with their config, early-stopping models that can train without validation (SASRec,
    fusion) for the epoch count of their best validation epoch. ``fit_for_test`` records which.

    Raises:
        ConfigError: ``train_full`` for a model that needs validation cases (see :func:`check_train_full`).
    """
    cls = get_model_class(name)
    if train_full:
        check_train_full(cls)
    set_seed(seed)
    cfg = dict(config or {})
    used_recipe = split.protocol if recipe and cls.recipe(split.protocol) else None
    if used_recipe:
        cfg = cls.with_recipe(split.protocol, cfg)
    if "seed" in getattr(cls.config_class, "__dataclass_fields__", {}) and "seed" not in cfg:
        cfg["seed"] = seed
    fit_split = train_full_split(split) if train_full else split
    t0 = time.perf_counter()
    model = cls(**cfg).fit(fit_split)
    fit_seconds = time.perf_counter() - t0
    valid = evaluate(model, split.valid, ks, item_counts=split.train.item_counts()) if len(fit_split.valid) else {}
    fit_for_test = FIT_TRAIN_FULL if train_full else "train"
    best_epochs = best_epoch_count(model)
    history = getattr(model, "history_", {}) or None  # of the fit that validation watched
    if refit and cls.refit_on_full and not train_full:
        set_seed(seed)
        t1 = time.perf_counter()
        model = cls(**cfg).fit(refit_split(split))
        fit_seconds += time.perf_counter() - t1
        fit_for_test = "train+valid"
    elif refit and not train_full and best_epochs and _can_refit_epochs(cls):
        # early-stopped: train again on train + validation for the epoch count validation chose, so the test
        # histories' last items (the validation targets) have been seen in training, as they are for refitted models
        set_seed(seed)
        t1 = time.perf_counter()
        model = refit_best_epochs(cls, cfg, split, best_epochs)
        fit_seconds += time.perf_counter() - t1
        fit_for_test = FIT_REFIT_BEST
    test = evaluate(model, split.test, ks, item_counts=split.train_full.item_counts())
    row: dict[str, Any] = {**test, "model": name, "dataset": split.name, "protocol": split.protocol,
                           "fit_for_test": fit_for_test, "recipe": used_recipe, "fit_seconds": fit_seconds,
                           "eval_seconds": test["seconds"], "peak_rss_mb": peak_rss_mb(), "seed": seed,
                           "config": _config_dict(model), "valid": valid,
                           "data_hash": dataset.data_hash if dataset is not None else None,
                           "command": " ".join(shlex.quote(a) for a in sys.argv),
                           "history": history}
    row.update({"env": environment(seed, row["data_hash"]), "machine": platform.node()})
    log.info("%s on %s: %s (fit %.1fs)", name, split.name, summarize(test), fit_seconds)
    if save_dir is not None:
        model.save(save_dir / "run", metrics=row, seed=seed, data_hash=row["data_hash"])
    return row


def best_epoch_count(model: Recommender) -> int | None:
    """The number of epochs up to the best validation epoch of an early-stopped fit, or None when the model has
    no such history. ``history_['best_epoch']`` is ``[epoch]`` (1-based, sequential models) or an int epoch index
    (0-based, the gnn trainer's early-stopping step)."""
    best = (getattr(model, "history_", None) or {}).get("best_epoch")
    if isinstance(best, list | tuple):
        return int(best[0]) if best else None
    if best is None or int(best) < 0:
        return None
    return int(best) + 1


def refit_best_epochs(cls: type[Recommender], config: dict[str, Any], split: Split, epochs: int) -> Recommender:
    """``cls`` fitted on train + validation for exactly ``epochs`` epochs (the best validation epoch count of an
    early-stopped fit with ``config``): no wall-time cap, never the first fit's checkpoint. Models that need
    validation cases evaluate only at the last epoch, so nothing stops them early."""
    again = {**config, "epochs": epochs}
    fields = getattr(cls.config_class, "__dataclass_fields__", {})
    schedule = config.get("lr_schedule", getattr(fields.get("lr_schedule"), "default", "constant"))
    if schedule != "constant":
        log.warning("%s: the refit decays the learning rate (%s) to 0 over %d epochs, the validated fit over its "
                    "configured %s: pass --train-full to train the configured epochs once (the session protocol)",
                    cls.name, schedule, epochs, config.get("epochs", getattr(fields.get("epochs"), "default", "?")))
    for key in ("checkpoint_dir", "max_minutes"):
        if key in fields:
            again[key] = None
    if cls.trains_without_validation:
        return cls(**again).fit(train_full_split(split))
    again.update(patience=epochs, eval_every=epochs)
    return cls(**again).fit(refit_split(split))


def _can_refit_epochs(cls: type[Recommender]) -> bool:
    """Whether ``cls`` can be retrained for a given number of epochs: it trains without validation, or its
    config has ``epochs``, ``patience`` and ``eval_every`` (the gnn models)."""
    fields = getattr(cls.config_class, "__dataclass_fields__", {})
    return "epochs" in fields and (cls.trains_without_validation or {"patience", "eval_every"} <= set(fields))


def check_train_full(cls: type[Recommender]) -> None:
    """Raise :class:`ConfigError` unless ``cls`` can be trained without validation cases."""
    if not can_train_full(cls):
        raise ConfigError(f"{cls.name} stops early on validation cases and cannot train without them: "
                          "--train-full needs a model that trains a fixed number of epochs (sasrec, fusion) or "
                          "never stops early (popular, itemknn, walk models)")


def _config_dict(model: Any) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    cfg = model.config
    return asdict(cfg) if is_dataclass(cfg) and not isinstance(cfg, type) else {}


def run_bench(dataset: Dataset, models: Sequence[str], out: str | Path, ks: Sequence[int] = DEFAULT_KS,
              configs: dict[str, dict[str, Any]] | None = None, seed: int = 0, save_models: bool = False,
              refit: bool = True, split: Split | None = None, train_full: bool = False,
              recipe: bool = True) -> list[dict[str, Any]]:
    """Benchmark ``models`` on ``dataset`` and write ``OUT/<model>/metrics.json`` (atomically) per model,
    plus ``OUT/results.md``. Returns the rows. ``train_full``, ``recipe``: see :func:`bench_model`."""
    out = Path(out)
    split = split or dataset.split()
    for name in models:  # fail fast on a misspelt model (or one that cannot train without validation)
        cls = get_model_class(name)
        if train_full:
            check_train_full(cls)
    rows = []
    for name in models:
        with atomic_dir(out / name) as tmp:
            row = bench_model(name, split, dataset, ks, (configs or {}).get(name), seed,
                              tmp if save_models else None, refit, train_full, recipe)
            write_json(tmp / "metrics.json", row)
        rows.append(row)
    (out / "results.md").write_text(markdown_table(rows, split.name), encoding="utf-8")
    return rows


def markdown_table(rows: Sequence[dict[str, Any]], dataset: str | None = None,
                   keys: Sequence[str] | None = None, published: bool = True) -> str:
    """A markdown table of rows (our numbers), followed by the published anchors for the dataset."""
    if keys is None:
        keys = ("HR@20", "MRR@20", "HR@10", "NDCG@10") if dataset and dataset.startswith("diginetica") else (
            "HR@10", "NDCG@10", "MRR@10", "HR@20", "NDCG@20", "Coverage@10")
    head = "| model | " + " | ".join(keys) + " | fit s | fit for test |\n"
    head += "|---|" + "---|" * len(keys) + "---|---|\n"
    lines = []
    for r in rows:
        vals = " | ".join(f"{r[k]:.4f}" if k in r else "" for k in keys)
        lines.append(f"| {r['model']} | {vals} | {r.get('fit_seconds', 0):.1f} | {r.get('fit_for_test', '')} |")
    for p in PUBLISHED.get(dataset or "", []) if published else []:
        vals = " | ".join(f"{p[k]:.4f}" if k in p else "" for k in keys)
        lines.append(f"| *{p['model']}* | {vals} | | |")
    return head + "\n".join(lines) + "\n"
