"""The gated fit's decay with the age of its data (``monitoring.staleness``), measured on its holdout
at evaluate and stored beside the drift reference (``reference/decay.json``), where the monitor and
``airloop backtest`` read it with the rest of the champion's references.

Only a time split has a holdout newer than the training data; a random split records nothing, and
the staleness trigger stays silent for it.
"""

from __future__ import annotations

from typing import Any

from airloop.steps.context import StepContext

FILE = "decay.json"


def clock(values: Any) -> Any:
    """Times as the monitor's clock reads them (``monitoring.window.newest``): UTC timestamps, NaT where unreadable."""
    import pandas as pd

    return pd.to_datetime(values, utc=True, errors="coerce")


def until_seconds(text: str | None) -> float | None:
    """A version's ``airloop.trained_until`` (a time, or a number for a numeric time column) as
    epoch seconds on the monitor's clock; None when absent or unreadable."""
    import pandas as pd

    if not text:
        return None
    try:
        value: Any = float(text)
    except ValueError:
        value = text
    when = clock(pd.Series([value]))[0]
    return None if pd.isna(when) else float(when.timestamp())


def measure(
    ctx: StepContext, refs: dict[str, Any], model: Any, holdout: Any, metrics: dict[str, float]
) -> dict[str, Any] | None:
    """The decay of ``model`` over ``holdout`` sliced by time (``Decay.to_dict``), relative to its
    ``metrics`` on the whole holdout; None when it cannot be told: no time split, no training time,
    or too few rows for a slope."""
    from airloop.metrics import METRICS
    from airloop.monitoring.staleness import DAY, fit, slices
    from airloop.steps.modeling import positive_of, score, xy

    spec = ctx.loaded.spec
    column, since = spec.split.column, until_seconds(refs.get("train_until"))
    if spec.split.method != "time" or since is None or column not in holdout.columns:
        return None
    when = clock(holdout[column])
    ordered = holdout.assign(_age=[(t.timestamp() - since) / DAY if t == t else None for t in when])
    ordered = ordered.dropna(subset=["_age"]).sort_values("_age", kind="stable")
    k = slices(len(ordered))
    if not k:
        return None
    metric = spec.promotion_metric
    holdout_value = metrics.get(metric)
    if holdout_value is None:
        return None
    ages, values = [], []
    bounds = [round(i * len(ordered) / k) for i in range(k + 1)]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        part = ordered.iloc[lo:hi]
        X, y = xy(spec, part.drop(columns="_age"))
        try:
            value = score(spec, [metric], model, X, y, positive_of(refs))[metric]
        except ValueError:  # undefined on this slice (one class only)
            continue
        ages.append(float(part["_age"].median()))
        values.append(float(value))
    maximize = METRICS[metric].direction == "maximize"
    decay = fit(metric, ages, values, float(holdout_value), maximize, spec.monitoring.confidence)
    return decay.to_dict() if decay is not None else None


def log_decay(
    ctx: StepContext, tracker: Any, refs: dict[str, Any], model: Any, holdout: Any, metrics: dict[str, float]
) -> None:
    """Measure and store the decay with the run's reference (nothing when it cannot be told)."""
    import json

    measured = measure(ctx, refs, model, holdout, metrics)
    if measured is None:
        return
    folder = ctx.run_dir / "reference"
    folder.mkdir(exist_ok=True)
    (folder / FILE).write_text(json.dumps(measured))
    tracker.log_artifact(refs["mlflow_run_id"], str(folder / FILE), "reference")
