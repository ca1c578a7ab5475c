"""Typed configs: defaults < file (TOML/YAML) < --set overrides; unknown keys are errors with a hint."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from graphrec.config import apply_overrides, from_dict, load_config, parse_overrides, read_config_file, to_dict
from graphrec.errors import ConfigError


@dataclass(frozen=True)
class Optim:
    lr: float = 0.001
    weight_decay: float = 0.0


@dataclass(frozen=True)
class Cfg:
    embedding_dim: int = 64
    walk_length: int = 80
    p: float = 1.0
    normalize: bool = False
    pooling: Literal["last", "mean"] = "last"
    top_k: int | None = None
    ks: tuple[int, ...] = (10, 20)
    name: str = "model"
    optim: Optim = field(default_factory=Optim)

    def validate(self) -> None:
        if self.walk_length < 2:
            raise ConfigError(f"walk_length must be >= 2 (got {self.walk_length})")


def test_defaults_and_frozen() -> None:
    c = from_dict(Cfg, None)
    assert c == Cfg()
    with pytest.raises(AttributeError):
        c.p = 2.0  # type: ignore[misc]


def test_strings_are_coerced_to_field_types() -> None:
    c = from_dict(Cfg, {"embedding_dim": "32", "p": "0.25", "normalize": "yes", "pooling": "mean", "top_k": "none",
                        "ks": "5, 10,50", "name": 7, "optim": {"lr": "1e-2"}})
    assert c.embedding_dim == 32 and c.p == 0.25 and c.normalize is True and c.pooling == "mean"
    assert c.top_k is None and c.ks == (5, 10, 50) and c.name == "7" and c.optim.lr == 0.01
    assert from_dict(Cfg, {"top_k": "20", "embedding_dim": 128.0}).top_k == 20
    assert from_dict(Cfg, {"normalize": "off"}).normalize is False


def test_unknown_key_has_a_did_you_mean_hint() -> None:
    with pytest.raises(ConfigError, match=r"unknown config key 'embeding_dim' \(did you mean 'embedding_dim'\?\)"):
        from_dict(Cfg, {"embeding_dim": 32})
    with pytest.raises(ConfigError, match=r"unknown config key 'optim.weight_decy' \(did you mean 'weight_decay'\?\)"):
        from_dict(Cfg, {"optim": {"weight_decy": 1}})
    with pytest.raises(ConfigError, match="known keys: .*walk_length"):
        from_dict(Cfg, {"zzz": 1})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"embedding_dim": "sixty"}, r"embedding_dim must be an integer \(got 'sixty'\)"),
        ({"embedding_dim": 1.5}, r"must be an integer \(got 1.5\)"),
        ({"embedding_dim": True}, r"must be an integer \(got True\)"),
        ({"p": "high"}, r"p must be a number \(got 'high'\)"),
        ({"normalize": "maybe"}, r"normalize must be true or false \(got 'maybe'\)"),
        ({"pooling": "meen"}, r"pooling must be one of \['last', 'mean'\] \(got 'meen'\) \(did you mean 'mean'\?\)"),
        ({"optim": 3}, r"optim must be a table of settings \(got 3\)"),
        ({"ks": 5}, r"ks must be a list \(got 5\)"),
        ({"walk_length": 1}, r"walk_length must be >= 2 \(got 1\)"),
    ],
)
def test_bad_values(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_dict(Cfg, data)


def test_from_dict_needs_a_dataclass() -> None:
    with pytest.raises(TypeError, match="not a dataclass"):
        from_dict(dict, {})  # type: ignore[type-var]


def test_parse_and_apply_overrides() -> None:
    o = parse_overrides(["embedding_dim=128", "optim.lr = 0.1", "name=a=b"])
    assert o == {"embedding_dim": "128", "optim": {"lr": "0.1"}, "name": "a=b"}
    merged = apply_overrides({"optim": {"lr": 1, "weight_decay": 2}, "p": 3}, o)
    assert merged == {"optim": {"lr": "0.1", "weight_decay": 2}, "p": 3, "embedding_dim": "128", "name": "a=b"}
    for bad in ("embedding_dim", "=3"):
        with pytest.raises(ConfigError, match="--set expects key=value"):
            parse_overrides([bad])


def test_layering_defaults_file_overrides_toml(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('embedding_dim = 32\np = 0.5\n[optim]\nlr = 0.01\n')
    c = load_config(Cfg, tmp_path / "c.toml", ["p=4", "optim.weight_decay=0.1"])
    assert c.embedding_dim == 32  # file beats default
    assert c.p == 4.0  # override beats file
    assert c.optim == Optim(lr=0.01, weight_decay=0.1)
    assert c.walk_length == 80  # default survives


def test_yaml_and_sections(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("node2vec:\n  p: 0.25\n  ks: [1, 2]\nother:\n  x: 1\n")
    c = load_config(Cfg, tmp_path / "c.yaml", section="node2vec")
    assert c.p == 0.25 and c.ks == (1, 2)
    assert load_config(Cfg, None, ["walk_length=5"]).walk_length == 5


def test_misspelt_key_in_a_file(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("walk_lenght = 10\n")
    with pytest.raises(ConfigError, match=r"'walk_lenght' \(did you mean 'walk_length'\?\)"):
        load_config(Cfg, tmp_path / "c.toml")
    with pytest.raises(ConfigError, match=r"'embeding_dim' \(did you mean 'embedding_dim'\?\)"):
        load_config(Cfg, None, ["embeding_dim=3"])


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c.toml", "p = = 1\n", "c.toml: invalid TOML"),
        ("c.yaml", "p: [1, 2\n", "c.yaml: invalid YAML"),
        ("c.yaml", "- 1\n- 2\n", "expected a mapping at the top level"),
        ("c.json", "{}", r"must end in .toml, .yaml or .yml \(got c.json\)"),
    ],
)
def test_bad_config_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_config_file(tmp_path / name)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file: .*absent.toml"):
        load_config(Cfg, tmp_path / "absent.toml")


def test_to_dict_round_trip() -> None:
    c = from_dict(Cfg, {"embedding_dim": 16, "optim": {"lr": 0.5}})
    d = to_dict(c)
    assert d["optim"] == {"lr": 0.5, "weight_decay": 0.0}
    assert from_dict(Cfg, d) == c
