"""Fitted column preparation as plain numbers: impute, scale and encode features with numpy and dict
look-ups. ``airloop.model.prepare.Prepare`` fits it; this applies it, in training and in serving, so
the two cannot drift. Its state is JSON (``state()`` / ``from_state``): nothing to unpickle.

Numeric columns: missing values take the training median (or stay NaN for estimators that split on
them, ``impute=False``), then optional standard scaling. Categorical columns: each frequent category
has a code; rare, unseen or missing values share one "other" code (one-hot), -1 (ordinal) or NaN
(native: codes the estimator treats as categories, which takes unknown values as missing).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MISSING = "__missing__"


@dataclass
class PreparedColumns:
    numeric: list[str]
    categorical: list[str]
    encoding: str  # "onehot" | "ordinal" | "native"
    impute: bool
    medians: list[float]
    means: list[float]
    scales: list[float]
    codes: list[dict[str, int]]
    n_features_out: int

    def state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PreparedColumns:
        return cls(**state)

    def transform(self, X: Any) -> Any:
        import numpy as np

        n = len(X)
        out = np.zeros((n, self.n_features_out), dtype="float64")
        if self.numeric:
            # column by column: a mixed-dtype frame's to_numpy() copies through object arrays
            values = np.empty((n, len(self.numeric)), dtype="float64")
            for j, col in enumerate(self.numeric):
                values[:, j] = X[col].to_numpy(dtype="float64", na_value=np.nan)
            if self.impute:
                values = np.where(np.isnan(values), self._medians, values)
            out[:, : len(self.numeric)] = (values - self._means) / self._scales
        pos = len(self.numeric)
        rows = np.arange(n)
        for col, codes in zip(self.categorical, self.codes, strict=True):
            series = X[col]
            if n <= 64:  # a served request: plain dict look-ups beat pandas machinery
                raw = [MISSING if _missing(v) else str(v) for v in series.tolist()]
                idx = np.fromiter((codes.get(v, -1) for v in raw), dtype="int64", count=n)
            else:
                idx = as_text(series).map(codes).fillna(-1).to_numpy(dtype="int64")
            if self.encoding == "onehot":
                out[rows, pos + np.where(idx < 0, len(codes), idx)] = 1.0
                pos += len(codes) + 1
            else:  # native: the estimator splits on the codes as categories; unknown is missing to it
                out[:, pos] = np.where(idx < 0, np.nan, idx) if self.encoding == "native" else idx
                pos += 1
        return out

    def feature_names_out(self) -> list[str]:
        names = list(self.numeric)
        for col, codes in zip(self.categorical, self.codes, strict=True):
            if self.encoding == "onehot":
                names += [f"{col}={v}" for v in codes] + [f"{col}=other"]
            else:
                names.append(col)
        return names

    def __post_init__(self) -> None:
        import numpy as np

        # as arrays once: the server applies this on every request
        self._medians = np.asarray(self.medians, dtype="float64")
        self._means = np.asarray(self.means, dtype="float64")
        self._scales = np.asarray(self.scales, dtype="float64")


def as_text(values: Any) -> Any:
    """Categorical values as plain Python strings with an explicit missing marker."""
    return values.astype("string").fillna(MISSING).astype(object)


def _missing(value: Any) -> bool:
    if value is None or (isinstance(value, float) and value != value):
        return True
    import pandas as pd

    return value is pd.NA or value is pd.NaT
