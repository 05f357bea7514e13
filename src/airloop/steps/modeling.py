"""Build the scikit-learn pipeline of a candidate: user transform -> encoding -> estimator.

The whole pipeline is what gets logged to MLflow, so a served model takes the raw columns of the
data contract and applies the same transform and encoding as in training.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airloop.errors import UserCodeError
from airloop.model.transform import FeatureTransform  # noqa: F401 (old pickles name airloop.steps.modeling.FeatureTransform)
from airloop.model.userimport import import_object

if TYPE_CHECKING:
    import pandas as pd

    from airloop.spec.models import Candidate, Spec


# one-hot widens the matrix by a column per code; an ordinal code is one column however many there are
# native: HistGradientBoosting takes at most 255 bins per categorical column (XGBoost and LightGBM more)
MAX_CATEGORIES = {"onehot": 32, "ordinal": 1000, "native": 250}


def apply_transform(spec: Spec, frame: pd.DataFrame) -> pd.DataFrame:
    return FeatureTransform(spec.data.transform).transform(frame) if spec.data.transform else frame


def resolve_features(spec: Spec, transformed: pd.DataFrame) -> dict[str, list[str]]:
    """Declared feature lists, or inferred from the transformed frame's dtypes."""
    from airloop.data.contract import kind_of

    declared = spec.data.features
    skip = {spec.data.target, *declared.exclude}
    if spec.split.column:
        skip.add(spec.split.column)
    numeric, categorical = list(declared.numeric or []), list(declared.categorical or [])
    if declared.numeric is None and declared.categorical is None:
        for col in transformed.columns:
            if col in skip:
                continue
            kind = kind_of(transformed[col])
            if kind == "numeric":
                numeric.append(str(col))
            elif kind in ("categorical", "boolean"):
                categorical.append(str(col))
    missing = [c for c in numeric + categorical if c not in transformed.columns]
    if missing:
        from airloop.errors import DataError

        raise DataError(
            f"features not found in the data{' after the transform' if spec.data.transform else ''}: "
            + ", ".join(missing),
            hint=f"available columns: {', '.join(map(str, transformed.columns))}",
        )
    if not numeric and not categorical:
        from airloop.errors import DataError

        raise DataError("no feature columns", hint="declare data.features or add columns to the data")
    return {"numeric": numeric, "categorical": categorical}


def make_estimator(candidate: Candidate, params: dict[str, Any], seed: int | None = None) -> Any:
    """The estimator with its fixed and tuned params; seeded (``random_state``) unless the spec seeds
    it, so the same data and spec train the same model (HistGradientBoosting's early-stopping split,
    a forest's bootstraps)."""
    cls = import_object(candidate.estimator, what="estimator", sep=".")
    merged = {**candidate.params, **params}
    if seed is not None and "random_state" not in merged and _takes_random_state(cls):
        merged["random_state"] = seed
    try:
        estimator = cls(**merged)
    except TypeError as exc:
        raise UserCodeError(
            f"estimator `{candidate.estimator}` refused its parameters: {exc}",
            hint=f"check params/search of candidate `{candidate.name}`",
        ) from None
    from airloop.model.encoded import EncodedLabels, needs_encoded_labels

    return EncodedLabels(estimator) if needs_encoded_labels(estimator) else estimator


def _takes_random_state(cls: Any) -> bool:
    import inspect

    try:
        return "random_state" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def build_pipeline(spec: Spec, candidate: Candidate, features: dict[str, list[str]], params: dict[str, Any]) -> Any:
    from sklearn.pipeline import Pipeline

    from airloop.model.prepare import Prepare

    prepare = Prepare(
        features["numeric"],
        features["categorical"],
        encoding=candidate.encoding,
        scale=candidate.scale,
        impute=candidate.impute,
        max_categories=candidate.max_categories or MAX_CATEGORIES[candidate.encoding],
    )
    steps: list[tuple[str, Any]] = []
    if spec.data.transform:
        steps.append(("transform", FeatureTransform(spec.data.transform)))
    steps.append(("prepare", prepare))
    estimator = make_estimator(candidate, params, spec.tuning.seed)
    if candidate.encoding == "native":
        from airloop.model.native import declare_categories

        declare_categories(estimator, len(features["numeric"]), len(features["categorical"]))
    steps.append(("model", estimator))
    return Pipeline(steps)


def xy(spec: Spec, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    from airloop.model.labels import normalize

    target = spec.data.target
    return frame.drop(columns=[target]), normalize(frame[target], spec.task)


def predict_all(spec: Spec, model: Any, X: pd.DataFrame) -> tuple[Any, Any]:
    pred = model.predict(X)
    proba = model.predict_proba(X) if spec.task != "regression" and hasattr(model, "predict_proba") else None
    return pred, proba


def score(spec: Spec, names: list[str], model: Any, X: pd.DataFrame, y: Any, positive: Any = None) -> dict[str, float]:
    from airloop.metrics import compute

    pred, proba = predict_all(spec, model, X)
    classes = getattr(model, "classes_", None)
    classes = None if classes is None else classes.tolist()
    return {name: compute(name, y, pred, proba, classes, positive) for name in names}


def positive_of(refs: dict[str, Any]) -> Any:
    """The positive class split chose (None for regression, multiclass, or refs from before it did)."""
    return (refs.get("labels") or {}).get("positive")
