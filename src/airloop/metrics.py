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


# Binary metrics computed from class indexes with numpy alone: equal to scikit-learn's (to float
# rounding) and several times faster on millions of labeled rows, where sklearn's input checks,
# label discovery and stable sorts took 5 s for 5M rows (the monitor's live metrics at volume).
FAST_BINARY = ("accuracy", "f1", "precision", "recall", "roc_auc", "log_loss")


def fast_binary(name: str, truth: Any, answered: Any, proba: Any, positive: int) -> float:
    """``name`` (one of FAST_BINARY) of a binary model: ``truth`` and ``answered`` are class indexes
    (0 or 1, into the columns of ``proba``), ``positive`` is the positive class's index. Raises
    ValueError where scikit-learn refuses or answers NaN (one class only for ROC AUC, missing
    probabilities), with the reason."""
    import numpy as np

    y = np.asarray(truth) == positive
    if name == "accuracy":
        return float(np.mean(np.asarray(truth) == np.asarray(answered)))
    if name in ("f1", "precision", "recall"):
        said = np.asarray(answered) == positive
        tp = int(np.count_nonzero(y & said))
        fp, fn = int(np.count_nonzero(said)) - tp, int(np.count_nonzero(y)) - tp
        num, den = {"f1": (2 * tp, 2 * tp + fp + fn), "precision": (tp, tp + fp), "recall": (tp, tp + fn)}[name]
        return num / den if den else 0.0  # scikit-learn's zero_division: 0
    if proba is None:
        raise ValueError(f"metric {name!r} needs predicted probabilities")
    p = np.asarray(proba, dtype=np.float64)
    if np.isnan(p).any():
        raise ValueError("Input contains NaN.")
    if name == "roc_auc":
        return _auc(p[:, positive], y)
    if p.max() > 1 or p.min() < 0:
        raise ValueError("y_prob contains values outside [0, 1]")
    eps = np.finfo(np.float64).eps
    seen = np.clip(p[np.arange(len(p)), np.asarray(truth, dtype=np.intp)], eps, 1 - eps)
    return float(np.mean(-np.log(seen)))


def _auc(score: Any, positive: Any) -> float:
    """ROC AUC as the Mann-Whitney statistic: the share of (positive, negative) pairs ranked right,
    ties counting half; equal to the area under the ROC curve with ties on one threshold."""
    import numpy as np

    pos, neg = np.sort(score[positive]), np.sort(score[~positive])
    if not len(pos) or not len(neg):
        raise ValueError("Only one class is present in y_true. ROC AUC score is not defined in that case.")
    below = np.searchsorted(neg, pos, side="left")
    at_or_below = np.searchsorted(neg, pos, side="right")
    pairs = int(below.sum()) + (int(at_or_below.sum()) - int(below.sum())) / 2
    return float(pairs / (len(pos) * len(neg)))
