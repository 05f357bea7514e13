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

MISSING = "__missing__"


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
        return self

    def transform(self, X: Any) -> Any:
        import numpy as np

        numeric, categorical = list(self.numeric or []), list(self.categorical or [])
        n = len(X)
        out = np.zeros((n, self.n_features_out_), dtype="float64")
        if numeric:
            # column by column: a mixed-dtype frame's to_numpy() copies through object arrays
            values = np.empty((n, len(numeric)), dtype="float64")
            for j, col in enumerate(numeric):
                values[:, j] = X[col].to_numpy(dtype="float64", na_value=np.nan)
            if getattr(self, "impute", True):  # pickles from before `impute` existed imputed
                values = np.where(np.isnan(values), self.medians_, values)
            out[:, : len(numeric)] = (values - self.means_) / self.scales_
        pos = len(numeric)
        rows = np.arange(n)
        for col, codes in zip(categorical, self.codes_, strict=True):
            series = X[col]
            if n <= 64:  # a served request: plain dict look-ups beat pandas machinery
                raw = [MISSING if _missing(v) else str(v) for v in series.tolist()]
                idx = np.fromiter((codes.get(v, -1) for v in raw), dtype="int64", count=n)
            else:
                idx = as_text(series).map(codes).fillna(-1).to_numpy(dtype="int64")
            if self.encoding == "onehot":
                out[rows, pos + np.where(idx < 0, len(codes), idx)] = 1.0
                pos += len(codes) + 1
            else:
                out[:, pos] = idx
                pos += 1
        return out

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        import numpy as np

        names = list(self.numeric or [])
        for col, codes in zip(self.categorical or [], self.codes_, strict=True):
            if self.encoding == "onehot":
                names += [f"{col}={v}" for v in codes] + [f"{col}=other"]
            else:
                names.append(col)
        return np.asarray(names, dtype=object)


def as_text(values: Any) -> Any:
    """Categorical values as plain Python strings with an explicit missing marker."""
    return values.astype("string").fillna(MISSING).astype(object)


def _missing(value: Any) -> bool:
    if value is None or (isinstance(value, float) and value != value):
        return True
    import pandas as pd

    return value is pd.NA or value is pd.NaT
