"""Train and evaluate SASRec / FusedSASRec from the command line; also the ``torchrun`` entry point.

Examples::

    python -m sequential.run --dataset ml-1m --out runs/sasrec-ml1m
    python -m sequential.run --dataset beauty --set max_len=50 --set dropout=0.5
    torchrun --nproc_per_node=2 -m sequential.run --dataset synthetic --set epochs=3

Prints one JSON line (``config``, ``valid``/``test`` metrics, ``history``, ``fit_seconds``) on rank 0.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Any

from graphrec import datasets
from graphrec.bench import best_epoch_count, refit_best_epochs
from graphrec.config import from_dict, parse_overrides, to_dict
from graphrec.evaluate import evaluate

__all__ = ["main", "run"]


def run(dataset: str, model: str = "sasrec", overrides: dict[str, Any] | None = None, out: str | None = None,
        ks: tuple[int, ...] = (5, 10, 20, 50), train_full: bool = False, refit: bool = False) -> dict[str, Any]:
    """Fit ``model`` (``sasrec`` or ``fusion``) on ``dataset``'s standard split and evaluate valid and test.

    ``train_full=True`` trains on ``split.train_full`` for the configured number of epochs without early stopping
    (the session protocol's option); otherwise training sees ``split.train`` and stops early on ``split.valid``.
    ``refit=True`` then trains again on ``split.train_full`` for the best validation epoch count and tests that
    model (what ``graphrec bench`` does); ``valid`` stays the first model's, ``test_no_refit`` is also reported.
    """
    from sequential.trainer import distributed_context

    if model == "sasrec":
        from sequential.sasrec import SASRec as cls
    elif model == "fusion":
        from sequential.fusion import FusedSASRec as cls
    else:
        raise SystemExit(f"--model must be sasrec or fusion (got {model!r})")
    config: Any = from_dict(cls.config_class, overrides or {})
    split = datasets.load(dataset).split()
    if train_full:
        from graphrec.split import train_full_split

        split = train_full_split(split)
    rank, _ = distributed_context()
    t0 = time.perf_counter()
    rec: Any = cls(config).fit(split)
    fit_s = time.perf_counter() - t0
    result: dict[str, Any] = {"dataset": dataset, "model": model, "config": to_dict(rec.config),
                              "fit_seconds": fit_s}
    counts = split.train_full.item_counts()
    if rank == 0:
        if len(split.valid):
            result["valid"] = evaluate(rec, split.valid, ks, item_counts=counts)
        result["history"] = {k: v for k, v in rec.history_.items() if k != "step_loss"}
    best = best_epoch_count(rec)
    if refit and not train_full and best:
        if rank == 0:
            result["test_no_refit"] = evaluate(rec, split.test, ks, item_counts=counts)
        t1 = time.perf_counter()
        rec = refit_best_epochs(cls, to_dict(rec.config), split, best)
        result["refit_seconds"] = time.perf_counter() - t1
        result["refit_epochs"] = best
    if rank == 0:
        result["test"] = evaluate(rec, split.test, ks, item_counts=counts)
        if out:
            rec.save(out, metrics={"valid": result.get("valid"), "test": result["test"]}, data_hash=None)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sequential.run", description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", default="sasrec", choices=["sasrec", "fusion"])
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    p.add_argument("--out", default=None, help="run directory to write")
    p.add_argument("--train-full", action="store_true", help="train on train+valid for a fixed number of epochs")
    p.add_argument("--refit", action="store_true",
                   help="after early stopping, train again on train+valid for the best epoch count and test that")
    p.add_argument("--json", default=None, help="also write the result JSON here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    result = run(args.dataset, args.model, parse_overrides(args.set), args.out, train_full=args.train_full,
                 refit=args.refit)
    if "test" in result:
        line = json.dumps(result, default=float)
        print(line, flush=True)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                f.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
