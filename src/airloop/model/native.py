"""``encoding: native``: the prepared matrix holds each categorical column as codes (unknown values
missing), and the estimator is told which columns those are, so that it splits on sets of
categories instead of on the codes' order: XGBoost ``enable_categorical`` with ``feature_types``,
LightGBM ``cat_feature`` (the alias its scikit-learn class passes on without a warning),
HistGradientBoosting ``categorical_features``. Whether it beats ordinal codes is measured on the
zoo (bench/results/zoo-families.md, its verdict)."""

from __future__ import annotations

from typing import Any

from airloop.errors import UserCodeError

HINT = "use XGBoost, LightGBM or HistGradientBoosting, or encoding: ordinal / onehot"


def refusal(estimator: str) -> str:
    return f"encoding: native needs an estimator that splits on categories; `{estimator}` does not"


def supports(cls: type) -> bool:
    name = f"{cls.__module__}.{cls.__name__}"
    return name.split(".")[0] in ("xgboost", "lightgbm") or (
        name.startswith("sklearn.ensemble") and cls.__name__.startswith("HistGradientBoosting")
    )


def declare_categories(estimator: Any, n_numeric: int, n_categorical: int) -> None:
    """Tell ``estimator`` (or the one ``EncodedLabels`` wraps) that the last ``n_categorical`` of
    its inputs are categories."""
    from airloop.model.encoded import EncodedLabels

    inner = estimator.estimator if isinstance(estimator, EncodedLabels) else estimator
    if not supports(type(inner)):
        raise UserCodeError(refusal(type(inner).__name__), hint=HINT)
    if not n_categorical:
        return
    positions = list(range(n_numeric, n_numeric + n_categorical))
    top = type(inner).__module__.split(".")[0]
    if top == "xgboost":
        inner.set_params(enable_categorical=True, feature_types=["q"] * n_numeric + ["c"] * n_categorical)
    elif top == "lightgbm":
        inner.set_params(cat_feature=positions)
    else:
        inner.set_params(categorical_features=positions)
