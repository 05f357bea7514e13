"""What a registered model needs installed to load, pinned to the versions installed here, and
derived from the model itself: never a fixed list, never a silent fallback.

Two sources, both what loading really imports:
- the fitted object: it is unpickled once with an unpickler that records every class and function
  it looks up (the modules cloudpickle stored by reference: scikit-learn, numpy, xgboost, ...);
- the user's transform, shipped with the model as code: the modules its source imports (found by
  ``ast``, imports inside functions included), except the standard library and what is shipped.
Each top-level module is mapped to the distribution that provides it
(``importlib.metadata.packages_distributions``: ``sklearn`` -> ``scikit-learn``, ``xgboost`` ->
``xgboost-cpu`` where that wheel is the one installed). A module no installed distribution provides
and no shipped file holds is an error naming it: such a model would not load anywhere else.
"""

from __future__ import annotations

import ast
import functools
import io
import pickle
import sys
from pathlib import Path
from typing import Any

from airloop.errors import UserCodeError

# what loading needs whatever the model holds: MLflow's pyfunc entry and the format it is stored in
LOADER = ("mlflow", "cloudpickle")
NOT_PACKAGES = {"builtins", "__main__", "copyreg", "__builtin__"}


class _Recorder(pickle.Unpickler):
    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.modules: set[str] = set()

    def find_class(self, module: str, name: str) -> Any:
        self.modules.add(module)
        return super().find_class(module, name)


def modules_of_object(model: Any) -> set[str]:
    """The modules unpickling ``model`` imports (as cloudpickle stores it, the format it is logged in)."""
    import cloudpickle

    recorder = _Recorder(cloudpickle.dumps(model))
    recorder.load()
    return recorder.modules


def modules_of_code(paths: list[str]) -> tuple[set[str], set[str]]:
    """(modules imported by the shipped files, the top-level names those files provide)."""
    files: list[Path] = []
    shipped: set[str] = set()
    for p in map(Path, paths):
        shipped.add(p.stem if p.is_file() else p.name)
        files += [p] if p.is_file() else sorted(p.rglob("*.py"))
    imported: set[str] = set()
    for f in files:
        if f.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(f.read_text(), filename=str(f))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
    return imported, shipped


@functools.cache
def _owners() -> dict[str, list[str]]:
    """Top-level module -> installed distributions (a scan of every installed package: ~0.3 s, once)."""
    from importlib.metadata import packages_distributions

    return dict(packages_distributions())


def pinned(model: Any, code_paths: list[str] | None = None) -> list[str]:
    """``name==version`` for every distribution loading ``model`` (and its shipped code) imports."""
    imported, shipped = modules_of_code(code_paths or [])
    modules = modules_of_object(model) | imported
    tops = {m.split(".")[0] for m in modules} - NOT_PACKAGES - set(sys.stdlib_module_names) - shipped
    owners = _owners()
    dists: set[str] = set(LOADER)
    for top in sorted(tops):
        names = owners.get(top, [])
        if len(names) > 1:  # a namespace package (google.*): the distribution that holds this module
            names = _holding(top, modules, names) or names
        if not names:
            raise UserCodeError(
                f"the model needs module `{top}` to load, and no installed package provides it",
                hint=f"install `{top}` as a package, or ship it with the model: put it beside the spec "
                "as the transform's own module",
            )
        dists.update(names)
    return sorted(_pin(d) for d in dists)


def _holding(top: str, modules: set[str], names: list[str]) -> list[str]:
    from importlib.metadata import files

    wanted = {m.replace(".", "/") for m in modules if m.split(".")[0] == top}
    held = []
    for name in names:
        paths = {str(f).removesuffix(".py").removesuffix("/__init__") for f in files(name) or []}
        if wanted & paths:
            held.append(name)
    return held


def _pin(dist: str) -> str:
    from importlib.metadata import version

    # a local build label (torch 2.13.0+cpu) is not on any index: the public version matches it
    return f"{dist}=={version(dist).split('+')[0]}"
