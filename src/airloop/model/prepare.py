"""``Prepare``: impute, scale and encode features in one lean, fitted transformer.

scikit-learn's ColumnTransformer with imputers, encoders and a text cast costs ~5 ms per call
on one row (pandas dtype work and joblib dispatch), which is most of a served prediction. This
does the same job with numpy and dict look-ups: median imputation and optional scaling for
numeric columns (or missing values left as NaN for estimators that split on them, such as
HistGradientBoosting: ``impute=False``); for categorical ones, the frequent categories (at least ``min_frequency``
rows, at most ``max_categories``) each get a code, and rare, unseen or missing values share
one "other" code (one-hot) or -1 (ordinal).
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator, TransformerMixin  # noqa: TID253 (model code only, never DAG parsing)

from airloop_runtime.prepare import MISSING, PreparedColumns, as_text

__all__ = ["MISSING", "Prepare", "as_text"]


class Prepare(TransformerMixin, BaseEstimator):
    def __init__(
        self,
        numeric: list[str] | None = None,
        categorical: list[str] | None = None,
        encoding: str = "onehot",
        scale: bool = True,
        max_categories: int = 32,
        min_frequency: int = 5,
        impute: bool = True,
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.encoding = encoding
        self.scale = scale
        self.max_categories = max_categories
        self.min_frequency = min_frequency
        self.impute = impute

    def fit(self, X: Any, y: Any = None) -> Prepare:
        import numpy as np

        numeric, categorical = list(self.numeric or []), list(self.categorical or [])
        if numeric:
            values = X[numeric].to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(all="ignore"):
                med = np.nanmedian(values, axis=0)
            self.medians_ = np.where(np.isnan(med), 0.0, med)
            filled = np.where(np.isnan(values), self.medians_, values)
            self.means_ = filled.mean(axis=0) if self.scale else np.zeros(len(numeric))
            std = filled.std(axis=0) if self.scale else np.ones(len(numeric))
            self.scales_ = np.where(std > 0, std, 1.0)
        self.codes_: list[dict[str, int]] = []
        for col in categorical:
            counts = as_text(X[col]).value_counts()
            frequent = counts[counts >= self.min_frequency].index[: self.max_categories - 1]
            self.codes_.append({str(v): i for i, v in enumerate(frequent)})
        widths = [len(c) + 1 for c in self.codes_] if self.encoding == "onehot" else [1] * len(categorical)
        self.n_features_out_ = len(numeric) + sum(widths)
        self.feature_names_in_ = np.asarray(numeric + categorical, dtype=object)
        self.__dict__.pop("_prepared", None)
        return self

    def prepared(self) -> PreparedColumns:
        """The fitted state as the runtime applies it (plain numbers: what a registered model stores)."""
        cached = self.__dict__.get("_prepared")
        if cached is None:
            numeric, categorical = list(self.numeric or []), list(self.categorical or [])
            zeros = [0.0] * len(numeric)
            cached = PreparedColumns(
                numeric=numeric,
                categorical=categorical,
                encoding=self.encoding,
                impute=bool(getattr(self, "impute", True)),  # pickles from before `impute` existed imputed
                medians=[float(v) for v in getattr(self, "medians_", zeros)],
                means=[float(v) for v in getattr(self, "means_", zeros)],
                scales=[float(v) for v in getattr(self, "scales_", [1.0] * len(numeric))],
                codes=[{str(k): int(v) for k, v in c.items()} for c in self.codes_],
                n_features_out=int(self.n_features_out_),
            )
            self.__dict__["_prepared"] = cached
        return cached

    def transform(self, X: Any) -> Any:
        return self.prepared().transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        import numpy as np

        return np.asarray(self.prepared().feature_names_out(), dtype=object)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_prepared", None)  # derived: rebuilt on first use
        return state
