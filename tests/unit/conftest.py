"""Shared helpers for unit tests: a minimal valid spec, written to a temp folder and loaded."""

from __future__ import annotations

import copy
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from airloop.errors import SpecError, SpecProblem
from airloop.spec import LoadedSpec, load_spec
from airloop.spec.models import Spec

# The smallest spec the loader accepts; tests override parts of it.
BASE_SPEC: dict[str, Any] = {
    "name": "demo",
    "task": "binary",
    "data": {"source": {"path": "data/*.csv"}, "target": "y"},
    "candidates": [{"name": "lr", "estimator": "sklearn.linear_model.LogisticRegression"}],
}


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def spec_dict(drop: tuple[str, ...] = (), **overrides: Any) -> dict[str, Any]:
    """BASE_SPEC without the dotted keys in ``drop``, then with ``overrides`` merged in (dicts merge)."""
    base = copy.deepcopy(BASE_SPEC)
    for dotted in drop:
        *parents, last = dotted.split(".")
        node = base
        for part in parents:
            node = node[part]
        del node[last]
    return _merge(base, overrides)


class Problems(list):
    """The problems of one SpecError, findable by where they are."""

    def at(self, where: str) -> SpecProblem:
        found = [p for p in self if p.where == where]
        assert found, f"no problem at {where!r}; got {list(self)}"
        return found[0]


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


@pytest.fixture
def make_spec() -> Callable[..., Spec]:
    """``make_spec(drop=(), **overrides)``: a validated Spec (no file, no rules)."""

    def make(drop: tuple[str, ...] = (), **overrides: Any) -> Spec:
        return Spec.model_validate(spec_dict(drop, **overrides))

    return make


@pytest.fixture
def line_of() -> Callable[[Path, str], int]:
    """``line_of(path, needle)``: 1-based number of the first line holding ``needle``."""
    return _line_of


@pytest.fixture
def spec_problems() -> Callable[..., Problems]:
    """``spec_problems(path, deep=False)``: load a spec that must fail; its problems."""

    def problems(path: Path, *, deep: bool = False) -> Problems:
        with pytest.raises(SpecError) as info:
            load_spec(path, deep=deep)
        return Problems(info.value.problems)

    return problems


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """``write_spec(drop=(), **overrides)`` writes BASE_SPEC+overrides; ``write_spec(text=...)`` raw YAML."""

    def write(text: str | None = None, drop: tuple[str, ...] = (), **overrides: Any) -> Path:
        path = tmp_path / "airloop.yaml"
        body = text if text is not None else yaml.safe_dump(spec_dict(drop, **overrides), sort_keys=False)
        path.write_text(body)
        return path

    return write


@pytest.fixture
def base_data(tmp_path: Path) -> Path:
    """What BASE_SPEC's deep checks read (data/*.csv): 20 rows of x and a 0/1 target y."""
    data = tmp_path / "data" / "d.csv"
    data.parent.mkdir(exist_ok=True)
    data.write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    return data


@pytest.fixture
def load(write_spec: Callable[..., Path]) -> Callable[..., LoadedSpec]:
    def write_and_load(**overrides: Any) -> LoadedSpec:
        return load_spec(write_spec(**overrides))

    return write_and_load


@pytest.fixture
def isolated_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path, str], str]]:
    """``make_module(folder, source)`` writes a uniquely named module and returns its name.

    sys.path is restored after the test and the module is forgotten, so tests cannot leak imports.
    """
    monkeypatch.setattr(sys, "path", list(sys.path))
    names: list[str] = []

    def make_module(folder: Path, source: str) -> str:
        name = f"airloop_test_{uuid.uuid4().hex[:10]}"
        (folder / f"{name}.py").write_text(source)
        names.append(name)
        return name

    yield make_module
    for name in names:
        sys.modules.pop(name, None)
