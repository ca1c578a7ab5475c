"""Typed, frozen configuration: defaults < file (TOML or YAML) < ``--set key=value`` overrides.

Every model is configured by a frozen dataclass. :func:`from_dict` builds one from a mapping and rejects
unknown keys with a did-you-mean hint (a misspelt key never silently becomes a default).

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class C:
    ...     embedding_dim: int = 64
    >>> from_dict(C, {"embedding_dim": "32"}).embedding_dim
    32
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from graphrec.errors import ConfigError, did_you_mean

__all__ = ["from_dict", "to_dict", "load_config", "parse_overrides", "apply_overrides"]

T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str = "") -> T:
    """Build the dataclass ``cls`` from ``data``, converting strings to the field types.

    Raises:
        ConfigError: an unknown key (with the closest known one), or a value of the wrong type.
    """
    data = dict(data or {})
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls} is not a dataclass")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise ConfigError(f"unknown config key {where + key!r}{did_you_mean(key, fields)}; "
                              f"known keys: {', '.join(sorted(fields))}")
        kwargs[key] = _coerce(value, hints[key], f"{where}{key}")
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"invalid config for {cls.__name__}: {exc}") from exc
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate()
    return obj


def to_dict(obj: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) dataclass."""
    return dataclasses.asdict(obj)


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key}: cannot use {value!r}")
    if origin is typing.Literal:
        if value not in args:
            hint = did_you_mean(str(value), map(str, args))
            raise ConfigError(f"{key} must be one of {list(args)} (got {value!r}){hint}")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table of settings (got {value!r})")
        return from_dict(tp, value, f"{key}.")  # type: ignore[arg-type]
    if origin in (tuple, list):
        if isinstance(value, str):
            value = [v for v in value.replace(" ", "").split(",") if v]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key} must be a list (got {value!r})")
        inner = args[0] if args else Any
        seq = [_coerce(v, inner, key) for v in value]
        return tuple(seq) if origin is tuple else seq
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            return value.lower() in ("true", "1", "yes", "on")
        raise ConfigError(f"{key} must be true or false (got {value!r})")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key} must be an integer (got {value!r})")
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be an integer (got {value!r})") from None
        if f != int(f):
            raise ConfigError(f"{key} must be an integer (got {value!r})")
        return int(f)
    if tp is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a number (got {value!r})") from None
    if tp is str:
        if not isinstance(value, str | int | float):
            raise ConfigError(f"{key} must be a string (got {value!r})")
        return str(value)
    return value


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["a.b=3", "c=x"]`` -> ``{"a": {"b": "3"}, "c": "x"}`` (values stay strings; typing happens later)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set expects key=value (got {pair!r})")
        key, value = pair.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"--set expects key=value (got {pair!r})")
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {p} is not a table")
        node[parts[-1]] = value.strip()
    return out


def apply_overrides(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``overrides`` into a copy of ``base``."""
    out = dict(base)
    for k, v in overrides.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = apply_overrides(out[k], v)
        else:
            out[k] = v
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file into a dict."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"no such config file: {p}")
    text = p.read_text(encoding="utf-8")
    if p.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: invalid TOML: {exc}") from exc
    if p.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: invalid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: expected a mapping at the top level")
        return data
    raise ConfigError(f"config file must end in .toml, .yaml or .yml (got {p.name})")


def load_config(cls: type[T], path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (),
                section: str | None = None) -> T:
    """Defaults < file < overrides. ``section`` picks a table of the file (e.g. ``[sasrec]``) when present."""
    data: dict[str, Any] = {}
    if path is not None:
        data = read_config_file(path)
        if section and section in data and isinstance(data[section], dict):
            data = data[section]
    return from_dict(cls, apply_overrides(data, parse_overrides(list(overrides))))
