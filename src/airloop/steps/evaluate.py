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
    model = mlflow.sklearn.load_model(refs["model_uri"])
    candidate = score(spec, names, model, X, y, positive)
    log_sensitivity(ctx, tracker, refs, model, X, y)
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


def log_sensitivity(ctx: StepContext, tracker: Any, refs: dict[str, Any], model: Any, X: Any, y: Any) -> None:
    """With the drift reference: how much the model depends on each column (permutation importance
    of the promotion metric) and, for binary models, how its scores map to probabilities on this
    holdout (what performance estimation needs before labels arrive)."""
    import json

    from airloop.metrics import METRICS
    from airloop.monitoring.estimate import Calibration
    from airloop.monitoring.importance import permutation_importance
    from airloop.steps.modeling import positive_of, score
    from airloop.steps.train import positive_scores, reference_columns

    spec = ctx.loaded.spec
    metric = spec.promotion_metric
    sample = X.sample(n=min(len(X), IMPORTANCE_ROWS), random_state=0)
    truth = y.loc[sample.index]
    positive = positive_of(refs)
    importance = permutation_importance(
        lambda frame: score(spec, [metric], model, frame, truth, positive)[metric],
        sample,
        reference_columns(ctx, X),
        maximize=METRICS[metric].direction == "maximize",
    )
    folder = ctx.run_dir / "reference"
    folder.mkdir(exist_ok=True)
    (folder / "importance.json").write_text(json.dumps({"metric": metric, "importance": importance}))
    tracker.log_artifact(refs["mlflow_run_id"], str(folder / "importance.json"), "reference")
    if spec.task == "binary" and hasattr(model, "predict_proba"):
        scores = positive_scores(model.predict_proba(X), None, refs.get("labels"))
        positive = positive if positive is not None else model.classes_[-1]
        calibration = Calibration.fit(scores, (y == positive).to_numpy())
        (folder / "calibration.json").write_text(json.dumps(calibration.to_dict()))
        tracker.log_artifact(refs["mlflow_run_id"], str(folder / "calibration.json"), "reference")


# rows of the holdout the importance is measured on: 3 shuffles per column, each a full prediction
IMPORTANCE_ROWS = 5000
