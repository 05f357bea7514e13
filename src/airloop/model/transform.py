"""``FeatureTransform``: the user's ``module:function`` as the first step of a registered pipeline.

Pickled into every registered model that has a ``data.transform``: it stores the import path,
not the code, and imports the function when the model transforms data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airloop.errors import UserCodeError
from airloop.model.userimport import import_object

if TYPE_CHECKING:
    import pandas as pd


class FeatureTransform:
    """Applies the user's ``module:function`` to the raw frame; picklable by path, not by code."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fit(self, X: Any, y: Any = None) -> FeatureTransform:
        return self

    def transform(self, X: pd.DataFrame, copy: bool = True) -> pd.DataFrame:
        """``copy=False`` hands ``X`` itself to the user's function, which may change it: for a caller
        that built ``X`` for this call alone (the server's request frame: saves ~0.07 ms a request)."""
        fn = import_object(self.path, what="transform", sep=":")
        try:
            out = fn(X.copy() if copy else X)
        except Exception as exc:
            raise UserCodeError(
                f"transform `{self.path}` raised {type(exc).__name__}: {exc}",
                hint="fix the transform; it must take a DataFrame and return one",
            ) from exc
        import pandas as pd

        if not isinstance(out, pd.DataFrame):
            raise UserCodeError(
                f"transform `{self.path}` returned {type(out).__name__}, not a DataFrame",
                hint="return the (modified) DataFrame",
            )
        return out

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        return self.transform(X)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"path": self.path}

    def set_params(self, **params: Any) -> FeatureTransform:
        self.path = params.get("path", self.path)
        return self
