"""The ``graphrec`` command line: data, graph, walk, train, recall, bench, demo.

Every command that takes ``--dataset NAME`` also takes ``--data PATH --format FMT`` (plus column mapping
options). Bad input exits with code 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys

# Idle OpenMP threads must not spin: on a busy machine spinning made 2-thread training ~6x slower than 1 thread.
# This has to be set before torch (or faiss) is imported, which the commands do lazily.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from graphrec.errors import GraphrecError

log = logging.getLogger("graphrec")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn graphrec's input errors into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GraphrecError as exc:
            _fail(str(exc))
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            _fail(f"{exc.strerror}: {exc.filename}")

    return wrapper


def data_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--dataset`` or ``--data/--format`` with column mapping and preprocessing options."""
    opts = [
        click.option("--dataset", help="A registered dataset: ml-1m, ml-100k, beauty, lastfm, diginetica, "
                     "diginetica-sample, synthetic."),
        click.option("--data", "data_path", type=click.Path(dir_okay=False), help="Your own interaction file."),
        click.option("--format", "fmt", help="csv|tsv|parquet|recbole|sasrec|movielens|behaviour-log|sessions "
                     "(default: from the file name)."),
        click.option("--user-col", default=None, help="Column holding user ids (csv/tsv/parquet)."),
        click.option("--item-col", default=None, help="Column holding item ids."),
        click.option("--time-col", default=None, help="Column holding timestamps."),
        click.option("--weight-col", default=None, help="Column holding weights or ratings."),
        click.option("--event-col", default=None, help="Column holding event types (click/like/skip/dislike)."),
        click.option("--session-col", default=None, help="Column holding session ids."),
        click.option("--sep", default=None, help="Field separator for csv/tsv."),
        click.option("--side-info", "side_info", type=click.Path(dir_okay=False), default=None,
                     help="Item side-information file (csv/parquet, S3-Rec JSON, RecBole .item, movies.dat)."),
        click.option("--protocol", default=None, help="leave-one-out | time-cut | session (default: the dataset's)."),
        click.option("--kcore", type=int, default=None, help="Iterative k-core filtering of users and items."),
        click.option("--min-rating", type=float, default=None, help="Keep interactions with weight >= this."),
        click.option("--dedup", default="keep", type=click.Choice(["keep", "first", "last", "sum"])),
        click.option("--session-gap", type=float, default=None, help="Sessionize by an inactivity gap (seconds)."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def load_dataset(kw: dict[str, Any]) -> Any:
    """The Dataset named by the data options (and pops them from ``kw``)."""
    from graphrec import datasets
    from graphrec.readers import ColumnMap

    name, path = kw.pop("dataset"), kw.pop("data_path")
    fmt, sep, side = kw.pop("fmt"), kw.pop("sep"), kw.pop("side_info")
    cols = {k: kw.pop(f"{k}_col") for k in ("user", "item", "time", "weight", "event", "session")}
    protocol, kcore, min_rating = kw.pop("protocol"), kw.pop("kcore"), kw.pop("min_rating")
    dedup, gap = kw.pop("dedup"), kw.pop("session_gap")
    if bool(name) == bool(path):
        raise click.UsageError("give exactly one of --dataset NAME or --data PATH")
    if name:
        ds = datasets.load(name)
        if protocol:
            ds.protocol = protocol
        return ds
    mapping = ColumnMap(user=cols["user"] or "user", item=cols["item"] or "item", timestamp=cols["time"],
                        weight=cols["weight"], event=cols["event"], session=cols["session"])
    return datasets.from_file(path, fmt, protocol or "leave-one-out", mapping, side, sep, kcore, min_rating,
                              dedup, gap)


class OneLineErrors(click.Group):
    """Usage errors (a directory where a file is expected, a bad option value) are one line on stderr with exit
    code 2, like graphrec's input errors, instead of click's usage block."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.pop("standalone_mode", True):
            return super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        except click.ClickException as exc:
            if isinstance(exc, getattr(click.exceptions, "NoArgsIsHelpError", ())):  # `graphrec graph`: the help
                exc.show()
                sys.exit(exc.exit_code)
            hint = ""
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            click.echo(f"error: {exc.format_message()}{hint}".replace("\n", " "), err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(package_name="graphrec")
def main(verbose: int) -> None:
    """graphrec: graph-based recall for recommender systems."""
    level = logging.WARNING if verbose == 0 else (logging.INFO if verbose == 1 else logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("faiss").setLevel(logging.WARNING)


# ---------------------------------------------------------------------- data
@main.group()
def data() -> None:
    """Generate and inspect behaviour logs."""


@data.command("synth")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Log file (.csv or .parquet).")
@click.option("--items-out", type=click.Path(dir_okay=False), default=None,
              help="Item side-info table (default: next to --out as *_items.csv).")
@click.option("--users", "num_users", type=int, default=2000, show_default=True)
@click.option("--items", "num_items", type=int, default=3000, show_default=True)
@click.option("--categories", "num_categories", type=int, default=30, show_default=True)
@click.option("--mean-length", type=float, default=30.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@handle_errors
def data_synth(out: str, items_out: str | None, num_users: int, num_items: int, num_categories: int,
               mean_length: float, seed: int) -> None:
    """Write the built-in synthetic behaviour log and its item side-info table."""
    from graphrec.synthetic import generate

    log_frame, items = generate(num_users=num_users, num_items=num_items, num_categories=num_categories,
                                mean_length=mean_length, seed=seed)
    out_p = Path(out)
    items_p = Path(items_out) if items_out else out_p.with_name(out_p.stem + "_items" + out_p.suffix)
    n_cold = int(items["cold"].sum())
    items = items.drop(columns="cold")  # cold items are the table's items that never occur in the log
    for frame, path in ((log_frame, out_p), (items, items_p)):
        _write_frame(frame, path)
    click.echo(f"wrote {len(log_frame)} interactions of {log_frame['user'].nunique()} users to {out_p}; "
               f"{len(items)} items ({n_cold} cold: side info, no interaction) to {items_p}")


def _write_frame(frame: Any, path: Path) -> None:
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if path.suffix in (".parquet", ".pq"):
        frame.to_parquet(tmp, index=False)
    else:
        frame.to_csv(tmp, index=False, sep="\t" if path.suffix == ".tsv" else ",")
    os.replace(tmp, path)


@data.command("inspect")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", default=None)
@click.option("--user-col", default=None)
@click.option("--item-col", default=None)
@click.option("--time-col", default=None)
@click.option("--sep", default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@handle_errors
def data_inspect(path: str, fmt: str | None, user_col: str | None, item_col: str | None, time_col: str | None,
                 sep: str | None, as_json: bool) -> None:
    """Print a data report: rows, users, items, duplicates, nulls, ties, sequence lengths, density."""
    from graphrec.readers import ColumnMap, read_data

    raw_nulls = _raw_null_report(path, fmt, sep)
    inter, side = read_data(path, fmt, ColumnMap(user=user_col or "user", item=item_col or "item",
                                                 timestamp=time_col), sep, null_ids="drop")
    report = {"file": path, **inter.report(), **raw_nulls}
    if side is not None:
        report["side_info"] = repr(side)
    _print_report(report, as_json)


def _raw_null_report(path: str, fmt: str | None, sep: str | None) -> dict[str, Any]:
    """Null cells per column for tabular files (rows with null ids are counted in ``rows_with_null_ids``)."""
    from graphrec.readers import _read_table, infer_format

    f = fmt or infer_format(path)
    if f not in ("csv", "tsv", "parquet"):
        return {}
    frame = _read_table(path, f, sep)
    nulls = {str(c): int(n) for c, n in frame.isna().sum().items() if n}
    return {"null_cells": nulls or 0}


def _print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    width = max(len(k) for k in report)
    for k, v in report.items():
        if isinstance(v, float):
            v = f"{v:.6g}"
        click.echo(f"{k:<{width}}  {v}")


# ---------------------------------------------------------------------- graph
@main.group()
def graph() -> None:
    """Build and inspect item graphs."""


@graph.command("build")
@data_options
@click.option("--edgelist", type=click.Path(dir_okay=False), default=None,
              help="A 'src dst [weight]' edge list (whitespace or comma separated) instead of a log.")
@click.option("--window", type=int, default=1, show_default=True, help="Co-occurrence window (1 = transitions).")
@click.option("--directed/--undirected", default=None,
              help="Default: directed for logs (transitions), undirected for edge lists (as node2vec reads them).")
@click.option("--weighting", default="count", show_default=True,
              type=click.Choice(["count", "inverse_distance", "sum_weight"]))
@click.option("--min-count", type=int, default=1, show_default=True)
@click.option("--top-k", type=int, default=None, help="Keep the top-k heaviest neighbours per item.")
@click.option("--symmetric", is_flag=True, help="Add reverse weights to a directed build (w_ij + w_ji).")
@click.option("--edge-attributes", is_flag=True, help="Store log_count, log_gap, forward_share, negative_share.")
@click.option("--all-events", is_flag=True, help="Include negative-feedback events (default: positive only).")
@click.option("--no-split", is_flag=True, help="Use every interaction, not only the train part of the split.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output directory (graph.npz).")
@handle_errors
def graph_build(edgelist: str | None, window: int, directed: bool | None, weighting: str, min_count: int,
                top_k: int | None, symmetric: bool, edge_attributes: bool, all_events: bool, no_split: bool,
                out: str, **kw: Any) -> None:
    """Build an item graph from the TRAIN part of a dataset's split (or from an edge list)."""
    import time

    from graphrec.artifacts import atomic_dir, environment, write_json
    from graphrec.build import build_item_graph, prune_top_k
    from graphrec.readers import read_edgelist

    t0 = time.perf_counter()
    if edgelist:
        if kw.get("dataset") or kw.get("data_path"):
            raise click.UsageError("give either --edgelist or --dataset/--data, not both")
        g = read_edgelist(edgelist, directed=bool(directed))
        if top_k:
            g = prune_top_k(g, top_k)
        source = {"edgelist": edgelist}
    else:
        ds = load_dataset(kw)
        seqs = ds.sequences if no_split else ds.split().train
        g = build_item_graph(seqs, window=window, directed=directed is not False, weighting=weighting,  # type: ignore[arg-type]
                             min_count=min_count, top_k=top_k, symmetric=symmetric,
                             edge_attributes=edge_attributes, events="all" if all_events else "positive",
                             vocab=ds.vocab, side_info=ds.side_info)
        source = {"dataset": ds.name, "data_hash": ds.data_hash, "part": "all" if no_split else "train"}
    seconds = time.perf_counter() - t0
    with atomic_dir(out) as tmp:
        g.save(tmp / "graph.npz")
        write_json(tmp / "graph.json", {**g.summary(), **source, "build_seconds": seconds, "meta": g.meta})
        write_json(tmp / "env.json", environment())
    click.echo(f"{g!r} built in {seconds:.2f}s -> {out}")


@graph.command("inspect")
@click.argument("path", type=click.Path())
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def graph_inspect(path: str, as_json: bool) -> None:
    """Print degree and weight statistics of a saved graph."""
    from graphrec.graph import ItemGraph

    _print_report({"path": path, **ItemGraph.load(path).summary()}, as_json)


# ---------------------------------------------------------------------- walk
@main.command("walk")
@click.option("--graph", "graph_path", required=True, type=click.Path(), help="Graph directory or .npz.")
@click.option("--method", default="deepwalk", type=click.Choice(["deepwalk", "node2vec"]), show_default=True)
@click.option("--p", type=float, default=1.0, show_default=True, help="node2vec return parameter.")
@click.option("--q", type=float, default=1.0, show_default=True, help="node2vec in-out parameter.")
@click.option("--num-walks", type=int, default=10, show_default=True)
@click.option("--walk-length", type=int, default=80, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=int, default=None, help="Threads (default: all cores).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Corpus file: one walk per line.")
@click.option("--ids", type=click.Choice(["index", "external"]), default="external", show_default=True,
              help="Write node indices or the external item ids.")
@handle_errors
def walk(graph_path: str, method: str, p: float, q: float, num_walks: int, walk_length: int, seed: int,
         threads: int | None, out: str, ids: str) -> None:
    """Generate random walks (numba, streamed to disk in chunks) with a progress bar."""
    from tqdm import tqdm

    from graphrec.graph import ItemGraph
    from graphrec.training import set_threads
    from walks import generate_walks

    set_threads(threads)
    g = ItemGraph.load(graph_path)
    bar = tqdm(total=1, unit="walk", desc=f"{method} walks", disable=None)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    tmp = Path(out).with_name(f".{Path(out).name}.tmp")
    stats = generate_walks(g, method, p, q, num_walks, walk_length, seed, out_path=tmp,  # type: ignore[arg-type]
                           progress=progress)
    bar.close()
    if ids == "external":
        _rewrite_external(tmp, g.vocab)
    import os

    os.replace(tmp, out)
    click.echo(f"{stats} -> {out}")


def _rewrite_external(path: Path, vocab: Any) -> None:
    """Replace node indices by external ids in a corpus file, chunk by chunk."""
    import numpy as np

    ids = np.concatenate([["<pad>"], np.asarray([str(x) for x in vocab.ids])])
    out = path.with_name(path.name + ".ext")
    with open(path, encoding="ascii") as src, open(out, "w", encoding="utf-8") as dst:
        for line in src:
            toks = np.asarray(line.split(), dtype=np.int64)
            dst.write(" ".join(ids[toks]) + "\n")
    import os

    os.replace(out, path)


# ---------------------------------------------------------------------- train
train_full_option = click.option(
    "--train-full", is_flag=True,
    help="Fit once on train + validation with no validation cases: models that stop early (sasrec, fusion) train "
         "their configured epochs. The protocol of fixed session splits (diginetica).")

recipe_option = click.option(
    "--recipe/--no-recipe", default=True, show_default=True,
    help="Start from the model's recipe for the data's protocol where it has one (sasrec and fusion on session "
         "data: sequential/config.py SESSION_RECIPE); --set (and train's --config) values override it key by key.")


@main.command("train")
@click.argument("model_name", metavar="MODEL")
@data_options
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML/YAML config (a [MODEL] table or top-level keys).")
@click.option("--set", "overrides", multiple=True, help="Override a config key: --set embedding_dim=128.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=int, default=None)
@click.option("--index/--no-index", default=True, show_default=True, help="Also build a Faiss index of the vectors.")
@train_full_option
@recipe_option
@handle_errors
def train(model_name: str, out: str, config_path: str | None, overrides: tuple[str, ...], seed: int,
          threads: int | None, index: bool, train_full: bool, recipe: bool, **kw: Any) -> None:
    """Train MODEL (popular, itemknn, deepwalk, node2vec, eges, graphsage, pinsage, edge-gnn, sasrec, fusion),
    evaluate it on validation and test, and save the run directory."""
    from graphrec.bench import FIT_TRAIN_FULL, check_train_full
    from graphrec.config import apply_overrides, parse_overrides, read_config_file
    from graphrec.evaluate import evaluate, summarize
    from graphrec.model import get_model_class
    from graphrec.split import train_full_split
    from graphrec.training import set_seed, set_threads

    cls = get_model_class(model_name)
    if train_full:
        check_train_full(cls)
    cfg: dict[str, Any] = {}
    if config_path:
        raw = read_config_file(config_path)
        cfg = raw.get(model_name, raw) if isinstance(raw.get(model_name), dict) else raw
    cfg = apply_overrides(cfg, parse_overrides(list(overrides)))
    if "seed" in getattr(cls.config_class, "__dataclass_fields__", {}):
        cfg.setdefault("seed", seed)
    ds = load_dataset(kw)
    if recipe:
        cfg = cls.with_recipe(ds.protocol, cfg)
    set_threads(threads)
    set_seed(seed)
    model = cls(**cfg)  # config errors surface before the data is split
    split = ds.split()
    fit_split = train_full_split(split) if train_full else split
    model.fit(fit_split)
    counts = split.train.item_counts()
    metrics = {"valid": evaluate(model, split.valid, item_counts=counts) if len(fit_split.valid) else {},
               "test": evaluate(model, split.test, item_counts=fit_split.train.item_counts()), "dataset": ds.name,
               "protocol": split.protocol, "fit_for_test": FIT_TRAIN_FULL if train_full else "train",
               "recipe": ds.protocol if recipe and cls.recipe(ds.protocol) else None}
    model.save(out, metrics=metrics, seed=seed, data_hash=ds.data_hash)
    if index and hasattr(model, "build_index"):
        _build_index(model, Path(out))
    click.echo(f"{model_name} on {ds.name}: valid {summarize(metrics['valid'])} | test {summarize(metrics['test'])}")
    click.echo(f"saved -> {out}")


def _build_index(model: Any, run_dir: Path) -> None:
    """Add ``index/`` (Faiss) to a finished run directory, atomically."""
    model.build_index().save(run_dir / "index")


# ---------------------------------------------------------------------- recall
@main.command("recall")
@click.option("--model", "run_dir", required=True, type=click.Path(), help="Run directory from `graphrec train`.")
@click.option("--item", "item_ids", multiple=True, help="Item id(s): similar items.")
@click.option("--history", default=None, help='Comma-separated item ids, oldest first: "a,b,c".')
@click.option("--batch", "batch_path", type=click.Path(dir_okay=False), default=None,
              help="A file with one history per line (comma or space separated); writes --out.")
@click.option("-k", "k", type=int, default=20, show_default=True)
@click.option("--unknown", type=click.Choice(["error", "skip"]), default="error", show_default=True,
              help="What to do with ids not in the model's vocabulary.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write .parquet or .json.")
@handle_errors
def recall(run_dir: str, item_ids: tuple[str, ...], history: str | None, batch_path: str | None, k: int,
           unknown: str, out: str | None) -> None:
    """Recall items for an item, a history, or a batch of histories."""
    from graphrec.recall_cli import run_recall

    if sum(bool(x) for x in (item_ids, history, batch_path)) != 1:
        raise click.UsageError("give exactly one of --item, --history or --batch")
    frame = run_recall(run_dir, list(item_ids), history, batch_path, k, unknown)
    if out:
        from graphrec.recall import write_recall

        if Path(out).suffix.lower() not in (".parquet", ".json", ".jsonl"):
            raise click.UsageError(f"--out must end in .parquet, .json or .jsonl (got {out})")
        write_recall(frame, out)
        click.echo(f"{len(frame)} rows -> {out}")
    else:
        click.echo(frame.to_string(index=False))


# ---------------------------------------------------------------------- bench
@main.command("bench")
@data_options
@click.option("--model", "models", required=True, help="Comma-separated model names, e.g. popular,itemknn.")
@click.option("--out", required=True, type=click.Path(file_okay=False))
@click.option("--set", "overrides", multiple=True, help="Override a model's config: --set itemknn.window=5.")
@click.option("--ks", default="5,10,20,50", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=int, default=None)
@click.option("--no-refit", is_flag=True, help="Never refit on train + validation before the test run.")
@click.option("--save-models", is_flag=True, help="Keep each model's run directory under OUT/<model>/run.")
@train_full_option
@recipe_option
@handle_errors
def bench(models: str, out: str, overrides: tuple[str, ...], ks: str, seed: int, threads: int | None,
          no_refit: bool, save_models: bool, train_full: bool, recipe: bool, **kw: Any) -> None:
    """Train each model with its default configuration, evaluate on the test split, write metrics.json."""
    from graphrec.bench import markdown_table, run_bench
    from graphrec.config import parse_overrides
    from graphrec.training import set_threads

    names = [m.strip() for m in models.split(",") if m.strip()]
    configs = parse_overrides(list(overrides))
    for key in configs:
        if key not in names:
            raise click.UsageError(f"--set {key}.…: {key} is not among --model {','.join(names)}")
    ds = load_dataset(kw)
    set_threads(threads)
    try:
        k_list = [int(x) for x in ks.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers such as 5,10,20 (got {ks!r})",
                                 param_hint="'--ks'") from None
    rows = run_bench(ds, names, out, k_list, configs, seed, save_models, not no_refit, train_full=train_full,
                     recipe=recipe)
    click.echo(markdown_table(rows, ds.name))


# ---------------------------------------------------------------------- demo
@main.command("demo")
@click.option("--out", default="demo_out", show_default=True, type=click.Path(file_okay=False))
@click.option("--seed", type=int, default=0, show_default=True)
@handle_errors
def demo(out: str, seed: int) -> None:
    """End to end on the built-in synthetic data: generate -> graph -> walks + skip-gram -> Faiss -> evaluate."""
    from graphrec.demo import run_demo

    click.echo(run_demo(Path(out), seed))


if __name__ == "__main__":  # pragma: no cover
    main()
