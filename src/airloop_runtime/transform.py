"""The user's ``module:function`` feature transform, imported by path when the model transforms data."""

from __future__ import annotations

import importlib
from typing import Any


class TransformError(Exception):
    """The user's transform could not be imported, raised, or did not return a DataFrame."""


class UserTransform:
    """Applies ``module:function`` to the raw frame. Stores the import path, never the code."""

    def __init__(self, path: str) -> None:
        self.path = path

    def function(self) -> Any:
        module, _, name = self.path.partition(":")
        return getattr(importlib.import_module(module), name)

    def source_sha256(self) -> str | None:
        """The SHA-256 of the module file the transform is imported from here (None where it is
        not a file): stored with a model, it tells whether the code that answers is the code that
        was trained with."""
        import hashlib
        import importlib.util

        try:
            spec = importlib.util.find_spec(self.path.partition(":")[0])
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.origin or not spec.has_location:
            return None
        try:
            with open(spec.origin, "rb") as f:
                return hashlib.sha256(f.read()).hexdigest()
        except OSError:
            return None

    def transform(self, X: Any, copy: bool = True) -> Any:
        """``copy=False`` hands ``X`` itself to the user's function, which may change it: for a caller
        that built ``X`` for this call alone (the server's request frame: saves ~0.07 ms a request)."""
        import pandas as pd

        try:
            fn = self.function()
        except (ImportError, AttributeError) as exc:
            raise TransformError(f"transform `{self.path}` cannot be imported: {exc}") from exc
        try:
            out = fn(X.copy() if copy else X)
        except Exception as exc:
            raise TransformError(f"transform `{self.path}` raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(out, pd.DataFrame):
            raise TransformError(f"transform `{self.path}` returned {type(out).__name__}, not a DataFrame")
        return out
