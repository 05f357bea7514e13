"""``FeatureTransform``: the user's ``module:function`` as the first step of a fitted pipeline.

The runtime's ``UserTransform`` with airloop's errors: an import that fails names the fix, and a
transform that raises or returns no DataFrame is the user's code error. Versions pickled before the
safe format name this class; it stores the import path, not the code.
"""

from __future__ import annotations

from typing import Any

from airloop.errors import UserCodeError
from airloop.model.userimport import import_object
from airloop_runtime.transform import TransformError, UserTransform


class FeatureTransform(UserTransform):
    """Applies the user's ``module:function`` to the raw frame; picklable by path, not by code."""

    def function(self) -> Any:
        return import_object(self.path, what="transform", sep=":")

    def transform(self, X: Any, copy: bool = True) -> Any:
        try:
            return super().transform(X, copy=copy)
        except TransformError as exc:
            hint = (
                "return the (modified) DataFrame"
                if "not a DataFrame" in str(exc)
                else "fix the transform; it must take a DataFrame and return one"
            )
            raise UserCodeError(str(exc), hint=hint) from exc

    def fit(self, X: Any, y: Any = None) -> FeatureTransform:
        return self

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        return self.transform(X)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"path": self.path}

    def set_params(self, **params: Any) -> FeatureTransform:
        self.path = params.get("path", self.path)
        return self
