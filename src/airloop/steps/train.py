"""train: refit the best candidate on the whole training split and log it to MLflow."""

from __future__ import annotations

import time
from typing import Any

from airloop.steps import frames
from airloop.steps.context import StepContext


def user_code_paths(ctx: StepContext) -> list[str]:
    """The transform's module file, shipped with the model when it lives in the project folder."""
    transform = ctx.loaded.spec.data.transform
    if not transform:
        return []
    module = transform.split(":")[0]
    root = ctx.loaded.root
    candidates = [root / (module.replace(".", "/") + ".py"), root / module.split(".")[0]]
    return [str(p) for p in candidates if p.exists()][:1]


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    from mlflow.models import infer_signature

    from airloop.steps.modeling import build_pipeline, predict_all, xy
    from airloop.tracking import Tracker

    spec = ctx.loaded.spec
    best = refs["best"]
    cand = next(c for c in spec.candidates if c.name == best["candidate"])
    X, y = xy(spec, frames.load(refs["train_uri"]))
    started = time.perf_counter()
    model = build_pipeline(spec, cand, refs["features"], best["params"])
    model.fit(X, y)
    fit_seconds = time.perf_counter() - started
    example = X.head(5)
    pred, _ = predict_all(spec, model, example)
    example = _naive_datetimes(example)
    tracker = Tracker(ctx.workspace)
    model_uri, model_id = tracker.log_model(
        refs["mlflow_run_id"],
        model,
        signature=infer_signature(example, pred),
        input_example=example,
        code_paths=user_code_paths(ctx),
    )
    tracker.log(
        refs["mlflow_run_id"],
        params={"candidate": cand.name, "estimator": cand.estimator, **cand.params, **best["params"]},
        metrics={"train_rows": len(X), "fit_seconds": fit_seconds},
    )
    return {"model_uri": model_uri, "model_id": model_id, "candidate": cand.name, "fit_seconds": fit_seconds}


def _naive_datetimes(frame: Any) -> Any:
    """MLflow signatures refuse tz-aware datetimes: describe them as naive UTC."""
    from pandas.api import types

    out = frame.copy()
    for col in out.columns:
        if types.is_datetime64_any_dtype(out[col].dtype) and getattr(out[col].dt, "tz", None) is not None:
            out[col] = out[col].dt.tz_convert("UTC").dt.tz_localize(None)
    return out
