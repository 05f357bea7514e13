"""evaluate: score the candidate and the current champion on the same holdout."""

from __future__ import annotations

from typing import Any

from airloop.steps import frames
from airloop.steps.context import StepContext


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    import mlflow.sklearn

    from airloop.steps.modeling import positive_of, score, xy
    from airloop.tracking import Tracker
    from airloop.tracking.tags import CHAMPION

    spec = ctx.loaded.spec
    names = spec.metric_names
    X, y = xy(spec, frames.load(refs["holdout_uri"]))
    tracker = Tracker(ctx.workspace)
    positive = positive_of(refs)
    candidate = score(spec, names, mlflow.sklearn.load_model(refs["model_uri"]), X, y, positive)
    champion: dict[str, Any] | None = None
    current = tracker.alias(spec.name, CHAMPION)
    if current is not None:
        champion = {"version": str(current.version)}
        try:
            model = mlflow.sklearn.load_model(f"models:/{spec.name}/{current.version}")
            champion["metrics"] = score(spec, names, model, X, y, positive)
        except Exception as exc:  # e.g. the champion was trained on other columns
            champion["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    metrics = {f"holdout_{k}": v for k, v in candidate.items()}
    if champion and "metrics" in champion:
        metrics.update({f"champion_holdout_{k}": v for k, v in champion["metrics"].items()})
    tracker.log(refs["mlflow_run_id"], metrics=metrics)
    return {"metrics": candidate, "champion": champion}
