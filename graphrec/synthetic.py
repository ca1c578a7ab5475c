"""The built-in synthetic behaviour log: learnable structure, deterministic per seed, scalable.

Users hold 1-3 latent interests over item categories; items have a category and a brand and a Zipf
popularity inside their category; a sparse Markov structure links each item to a few successors (so order
matters); users browse in sessions with realistic timestamps; events include clicks, likes and negative feedback
(skips of off-interest items, dislikes); a share of items is *cold*: side info but no interaction at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numba
import numpy as np
import pandas as pd

from graphrec.errors import ConfigError

__all__ = ["SyntheticConfig", "generate"]


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of the generator (defaults: 2k users, 3k items, ~60k events; under a second to make).

    The defaults are calibrated so that the structure is learnable but not trivial: on the leave-one-out test,
    popularity reaches HR@10 ~0.05 and item-KNN ~0.42.
    """

    num_users: int = 2000
    num_items: int = 3000
    num_categories: int = 30
    brands_per_category: int = 5
    mean_length: float = 30.0
    min_length: int = 5
    markov_prob: float = 0.4
    successors: int = 4
    interest_switch: float = 0.1
    noise_prob: float = 0.08
    popularity_exponent: float = 0.8
    cold_fraction: float = 0.05
    session_mean: float = 6.0
    seed: int = 0

    def validate(self) -> None:
        for name in ("num_users", "num_items", "num_categories", "brands_per_category", "min_length", "successors"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1 (got {getattr(self, name)})")
        for name in ("markov_prob", "interest_switch", "noise_prob", "cold_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise ConfigError(f"{name} must be in [0, 1) (got {v})")
        if self.mean_length < self.min_length:
            raise ConfigError(f"mean_length must be >= min_length (got {self.mean_length} < {self.min_length})")
        if self.num_items < self.num_categories * 2:
            raise ConfigError(f"num_items must be >= 2 * num_categories (got {self.num_items})")


def generate(config: SyntheticConfig | None = None, **overrides: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate a behaviour log and an item side-info table.

    Returns:
        ``(log, items)``: ``log`` has columns ``user`` (str ``u0``...), ``item`` (int, ``10000 + k``), ``timestamp``
        (epoch seconds), ``event`` (click/like/skip/dislike), ``weight`` (float), ``session`` (int);
        ``items`` has ``item``, ``category``, ``brand``, ``cold`` (bool: never in the log).

    Example:
        >>> log, items = generate(num_users=50, num_items=100, num_categories=5, seed=1)
        >>> sorted(set(log["event"])) <= ["click", "dislike", "like", "skip"]
        True
    """
    cfg = config or SyntheticConfig()
    if overrides:
        from graphrec.config import from_dict  # a misspelt setting is a ConfigError with a hint, not a TypeError

        cfg = from_dict(SyntheticConfig, {**asdict(cfg), **overrides})
    cfg.validate()
    rng = np.random.default_rng(cfg.seed)
    n_items, n_cat = cfg.num_items, cfg.num_categories

    # items: category (Zipf-ish sizes), brand within category, popularity within category
    cat_sizes = rng.dirichlet(np.full(n_cat, 2.0))
    category = np.sort(rng.choice(n_cat, size=n_items, p=cat_sizes))
    category[:n_cat] = np.arange(n_cat)  # every category has an item
    category = np.sort(category)
    brand = category * cfg.brands_per_category + rng.integers(0, cfg.brands_per_category, n_items)
    cold = np.zeros(n_items, dtype=bool)
    n_cold = int(round(cfg.cold_fraction * n_items))
    if n_cold:
        cold[rng.choice(n_items, n_cold, replace=False)] = True
    members = [np.flatnonzero((category == c) & ~cold) for c in range(n_cat)]
    members = [m if len(m) else np.flatnonzero(category == c)[:1] for c, m in enumerate(members)]
    for m in members:
        cold[m] = False
    pop = {c: _zipf(len(m), cfg.popularity_exponent, rng) for c, m in enumerate(members)}
    global_pop = np.zeros(n_items)
    for c, m in enumerate(members):
        global_pop[m] = pop[c] * cat_sizes[c]
    global_pop /= global_pop.sum()
    # Markov successors: mostly same category, fixed transition probabilities
    # members of each category as CSR with cumulative popularity, for O(log n) draws inside the kernel
    cat_items = np.concatenate(members).astype(np.int64)
    cat_off = np.zeros(n_cat + 1, dtype=np.int64)
    np.cumsum([len(m) for m in members], out=cat_off[1:])
    shape = (n_items, cfg.successors)
    sizes = (cat_off[1:] - cat_off[:-1])[category][:, None]
    same_cat = cat_items[cat_off[category][:, None] + (rng.random(shape) * sizes).astype(np.int64)]
    anywhere = rng.choice(n_items, size=shape, p=global_pop)
    succ = np.where(rng.random(shape) < 0.8, same_cat, anywhere).astype(np.int64)
    succ_p = rng.dirichlet(np.full(cfg.successors, 1.0), size=n_items)
    cat_cum = np.concatenate([np.cumsum(pop[c]) for c in range(n_cat)])
    lengths = np.maximum(cfg.min_length, rng.geometric(1.0 / cfg.mean_length, cfg.num_users)).astype(np.int64)
    n_int = rng.integers(1, 4, size=cfg.num_users)
    interests = np.full((cfg.num_users, 3), -1, dtype=np.int64)
    int_cum = np.zeros((cfg.num_users, 3))
    for u in range(cfg.num_users):
        k = n_int[u]
        interests[u, :k] = rng.choice(n_cat, size=k, replace=False, p=cat_sizes)
        int_cum[u, :k] = np.cumsum(rng.dirichlet(np.ones(k)))
    users, items, times, ev_code, sessions = _simulate(
        lengths, interests, int_cum, cat_items, cat_off, cat_cum, np.cumsum(global_pop), category, cold,
        succ, np.cumsum(succ_p, axis=1), cfg.markov_prob, cfg.noise_prob, cfg.interest_switch, cfg.session_mean,
        int(rng.integers(0, 2**31 - 1)))
    ev_arr = np.asarray(["click", "like", "skip", "dislike"])[ev_code]
    weight = np.where(ev_arr == "like", 2.0, np.where(ev_arr == "click", 1.0, 0.0))
    log = pd.DataFrame({
        "user": np.char.add("u", np.asarray(users).astype(str)),
        "item": 10_000 + np.asarray(items, dtype=np.int64),
        "timestamp": np.round(np.asarray(times)).astype(np.int64),
        "event": ev_arr, "weight": weight, "session": np.asarray(sessions, dtype=np.int64),
    })
    table = pd.DataFrame({"item": 10_000 + np.arange(n_items), "category": [f"c{c}" for c in category],
                          "brand": [f"b{b}" for b in brand], "cold": cold & ~np.isin(np.arange(n_items), items)})
    return log, table


def _zipf(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    ranks = rng.permutation(n) + 1.0
    p = ranks ** (-exponent)
    return p / p.sum()


@numba.njit(cache=True)
def _simulate(lengths, interests, int_cum, cat_items, cat_off, cat_cum, global_cum, category, cold,  # noqa: ANN001
              succ, succ_cum, markov_prob, noise_prob, interest_switch, session_mean, seed):  # noqa: ANN001, ANN202
    """The per-event simulation (sequential and seeded, so the log is identical on every machine)."""
    np.random.seed(seed)
    n = lengths.sum()
    users = np.empty(n, np.int64)
    items = np.empty(n, np.int64)
    times = np.empty(n, np.float64)
    events = np.empty(n, np.int64)  # 0 click, 1 like, 2 skip, 3 dislike
    sessions = np.empty(n, np.int64)
    n_succ = succ.shape[1]
    pos = 0
    sess_id = 0
    for u in range(len(lengths)):
        k = 0
        while k < 3 and interests[u, k] >= 0:
            k += 1
        cur = interests[u, _pick(int_cum[u, :k])]
        t = 1_600_000_000.0 + np.random.random() * 90 * 86400.0
        prev = -1
        in_session = 0
        session_len = 1 + np.random.poisson(session_mean)
        for _ in range(lengths[u]):
            ev = 0
            if prev >= 0 and np.random.random() < markov_prob:
                item = succ[prev, _pick(succ_cum[prev, :n_succ])]
            elif np.random.random() < noise_prob:
                item = _pick(global_cum)
                liked = False
                for j in range(k):
                    if category[item] == interests[u, j]:
                        liked = True
                if not liked:
                    ev = 2 if np.random.random() < 0.7 else 3
            else:
                if np.random.random() < interest_switch:
                    cur = interests[u, _pick(int_cum[u, :k])]
                lo, hi = cat_off[cur], cat_off[cur + 1]
                c = cat_cum[lo:hi]
                item = cat_items[lo + _pick(c)]
            if ev == 0 and np.random.random() < 0.15:
                ev = 1
            if cold[item]:
                item = cat_items[cat_off[category[item]]]
            users[pos] = u
            items[pos] = item
            times[pos] = t
            events[pos] = ev
            sessions[pos] = sess_id
            pos += 1
            if ev <= 1:
                prev = item
            in_session += 1
            if in_session >= session_len:
                sess_id += 1
                in_session = 0
                session_len = 1 + np.random.poisson(session_mean)
                t += np.random.exponential(2 * 86400.0)
                prev = -1
            else:
                t += np.random.exponential(60.0) + 1.0
        sess_id += 1
    return users, items, times, events, sessions


@numba.njit(cache=True)
def _pick(cum: np.ndarray) -> int:
    """Index drawn from cumulative weights ``cum`` (its last entry is the total)."""
    r = np.random.random() * cum[-1]
    j = np.searchsorted(cum, r, side="right")
    return min(j, len(cum) - 1)
