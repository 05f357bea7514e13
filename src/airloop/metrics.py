"""Metric names a spec may use, and how to compute them.

Only names and metadata live at module level; scikit-learn is imported when a metric is computed,
because the spec (and so this module) is loaded while Airflow parses DAG files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CLASSIFICATION = ("binary", "multiclass")
ALL_TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class Metric:
    name: str
    function: str  # attribute of sklearn.metrics
    direction: str  # "maximize" or "minimize"
    tasks: tuple[str, ...]
    uses_proba: bool = False
    kwargs: tuple[tuple[str, Any], ...] = ()


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("accuracy", "accuracy_score", "maximize", CLASSIFICATION),
        Metric("balanced_accuracy", "balanced_accuracy_score", "maximize", CLASSIFICATION),
        Metric("f1", "f1_score", "maximize", ("binary",)),
        Metric("precision", "precision_score", "maximize", ("binary",), kwargs=(("zero_division", 0),)),
        Metric("recall", "recall_score", "maximize", ("binary",)),
        Metric("f1_macro", "f1_score", "maximize", CLASSIFICATION, kwargs=(("average", "macro"),)),
        Metric("roc_auc", "roc_auc_score", "maximize", ("binary",), uses_proba=True),
        Metric(
            "roc_auc_ovr",
            "roc_auc_score",
            "maximize",
            ("multiclass",),
            uses_proba=True,
            kwargs=(("multi_class", "ovr"),),
        ),
        Metric("log_loss", "log_loss", "minimize", CLASSIFICATION, uses_proba=True),
        Metric("rmse", "root_mean_squared_error", "minimize", ("regression",)),
        Metric("mae", "mean_absolute_error", "minimize", ("regression",)),
        Metric("r2", "r2_score", "maximize", ("regression",)),
    ]
}

DEFAULT_METRICS = {
    "binary": ["roc_auc", "f1", "accuracy", "log_loss"],
    "multiclass": ["accuracy", "f1_macro", "log_loss"],
    "regression": ["rmse", "mae", "r2"],
}


def metrics_for(task: str) -> list[str]:
    return [name for name, m in METRICS.items() if task in m.tasks]


def compute(name: str, y_true: Any, y_pred: Any, proba: Any, classes: Any = None, positive: Any = None) -> float:
    """Compute one metric. ``proba`` is the predict_proba matrix (or None), its columns in the order
    of ``classes``; ``positive`` is a binary task's positive class (default: the last class)."""
    import numpy as np
    import sklearn.metrics as skm

    metric = METRICS[name]
    fn = getattr(skm, metric.function)
    kwargs = dict(metric.kwargs)
    binary = metric.tasks == ("binary",)
    if binary and positive is None:
        positive = list(classes)[-1] if classes is not None else 1
    if metric.uses_proba:
        if proba is None:
            raise ValueError(f"metric {name!r} needs predicted probabilities")
        if binary:  # roc_auc: the positive class's column against "is it the positive class"
            column = list(classes).index(positive) if classes is not None else 1
            return float(fn(np.asarray(y_true, dtype=object) == positive, proba[:, column]))
        if classes is not None:
            kwargs["labels"] = list(classes)
        return float(fn(y_true, proba, **kwargs))
    if binary:
        kwargs["pos_label"] = positive
    return float(fn(y_true, y_pred, **kwargs))
