"""Import the user's estimators and transforms, turning every failure into an actionable error."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airloop.errors import UserCodeError

# model libraries airloop installs as extras (pyproject.toml): a missing one is named with its extra
EXTRAS = {"xgboost": "xgboost", "lightgbm": "lightgbm", "torch": "torch", "keras": "keras"}


def import_object(path: str, *, what: str, sep: str, search: Sequence[Path] = ()) -> Any:
    """Import ``pkg.mod.Name`` (sep=".") or ``pkg.mod:name`` (sep=":")."""
    module_name, _, attr = path.rpartition(sep) if sep == "." else path.partition(sep)
    if not module_name or not attr:
        raise UserCodeError(f"{what} `{path}` is not an import path", hint=f"write it as module{sep}name")
    for folder in search:
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = EXTRAS.get((exc.name or module_name).split(".")[0])
        raise UserCodeError(
            f"{what} `{path}`: cannot import module `{module_name}` ({exc})",
            hint=f'install the {extra} extra: pip install "airloop[{extra}]" (in a checkout: '
            f'.venv/bin/pip install -e ".[{extra}]")'
            if extra
            else "check the spelling, or install the package that provides it in this environment",
        ) from None
    except Exception as exc:  # the user's module itself raised while importing
        raise UserCodeError(
            f"{what} `{path}`: importing `{module_name}` raised {type(exc).__name__}: {exc}",
            hint="fix the error in that module",
        ) from None
    try:
        obj = getattr(module, attr)
    except AttributeError:
        names = [n for n in dir(module) if not n.startswith("_")]
        import difflib

        close = difflib.get_close_matches(attr, names, n=1)
        raise UserCodeError(
            f"{what} `{path}`: module `{module_name}` has no `{attr}`",
            hint=f"did you mean `{close[0]}`?" if close else "check the name",
        ) from None
    needs = getattr(obj, "airloop_requires", ())
    missing = [m for m in needs if not _installed(m)] if isinstance(needs, tuple) else []
    if missing:  # an airloop family whose library is an extra not installed here
        extra = getattr(obj, "extra", missing[0])
        raise UserCodeError(
            f"{what} `{path}` needs {', '.join(missing)}, which is not installed",
            hint=f'install the {extra} extra: pip install "airloop[{extra}]" (in a checkout: '
            f'.venv/bin/pip install -e ".[{extra}]")',
        )
    if not callable(obj):
        raise UserCodeError(f"{what} `{path}` is not callable", hint="point it at a class or a function")
    return obj


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
