"""What a registered model needs installed to load, pinned to the versions installed here, and
derived from the stored model itself: never a fixed list, never a silent fallback.

Three sources, all of them what loading really imports:
- the runtime that reads the model folder (``airloop_runtime``: numpy, pandas) and MLflow's pyfunc
  entry (``mlflow-skinny``); airloop itself is never needed (the runtime travels with the model);
- the stored estimator: every module a skops file names (scikit-learn, numpy, scipy, ...), or the
  library whose own format holds it (xgboost, lightgbm); nothing more for an MLP's arrays;
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
import sys
from pathlib import Path
from typing import Any

from airloop.errors import UserCodeError

# what loading needs whatever the model holds: MLflow's pyfunc entry and the runtime's own imports
LOADER = ("mlflow-skinny",)
RUNTIME = {"numpy", "pandas"}
NOT_PACKAGES = {"builtins", "__main__", "copyreg", "__builtin__", "airloop_runtime"}
# an MLP's arrays are read by numpy alone: the library that trained it is not needed to load it
FORMAT_MODULES = {"xgboost-ubj": {"xgboost"}, "lightgbm-text": {"lightgbm"}, "skops": {"skops"}, "mlp-npz": set()}


def modules_of_folder(folder: Path) -> set[str]:
    """The modules loading the model stored in ``folder`` imports (``airloop_runtime``'s format)."""
    import json
    import zipfile

    from airloop_runtime import META

    entry = json.loads((folder / META).read_text())["estimator"]
    modules = set(RUNTIME) | FORMAT_MODULES[entry["format"]]
    if entry["format"] == "skops":  # every object in the file names its module
        with zipfile.ZipFile(folder / entry["file"]) as z:
            modules |= _named_modules(json.loads(z.read("schema.json")))
    return modules


def _named_modules(node: Any) -> set[str]:
    found: set[str] = set()
    todo = [node]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            if isinstance(item.get("__module__"), str):
                found.add(item["__module__"])
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return found


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


def pinned(folder: Path, code_paths: list[str] | None = None) -> list[str]:
    """``name==version`` for every distribution loading the model in ``folder`` (and its shipped
    code) imports."""
    imported, shipped = modules_of_code(code_paths or [])
    if "airloop" in {m.split(".")[0] for m in imported}:
        raise UserCodeError(
            "the transform imports `airloop`: a registered model must load without airloop installed",
            hint="import what the transform needs from its own packages (pandas, numpy, ...)",
        )
    modules = modules_of_folder(folder) | imported
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


def constraints(pins: list[str]) -> list[str]:
    """``name==version`` for everything the pinned distributions depend on, as installed here: so
    that a fresh environment resolves the same scipy, pyarrow, ... the model was checked with."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    todo = [p.split("==")[0] for p in pins]
    found: list[str] = []
    while todo:
        dist = todo.pop()
        key = canonicalize_name(dist)
        if key in seen:
            continue
        seen.add(key)
        try:
            found.append(_pin(dist))
            needs = requires(dist) or []
        except PackageNotFoundError:  # an optional dependency not installed here: nothing to pin
            continue
        for line in needs:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return sorted(found, key=str.lower)


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
