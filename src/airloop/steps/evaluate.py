"""evaluate: score the candidate and the current champion on the same holdout."""

from __future__ import annotations

from typing import Any

from airloop.steps import frames
from airloop.steps.context import StepContext
from airloop.tracking.tags import Tag

# A fair comparison needs rows the champion did not learn from; with fewer, the whole holdout is used.
MIN_UNSEEN_ROWS = 50


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    from airloop.model import store
    from airloop.steps.decay import log_decay
    from airloop.steps.modeling import positive_of, score, xy
    from airloop.tracking import Tracker
    from airloop.tracking.tags import CHAMPION

    spec = ctx.loaded.spec
    names = spec.metric_names
    holdout = frames.load(refs["holdout_uri"])
    X, y = xy(spec, holdout)
    tracker = Tracker(ctx.workspace)
    positive = positive_of(refs)
    options = store.LoadOptions.of(spec)
    model = store.load(refs["model_uri"], options, what="the candidate")
    candidate = score(spec, names, model, X, y, positive)
    log_sensitivity(ctx, tracker, refs, model, X, y)
    log_decay(ctx, tracker, refs, model, holdout, candidate)
    champion: dict[str, Any] | None = None
    current = tracker.alias(spec.name, CHAMPION)
    if current is not None:
        champion = {"version": str(current.version)}
        try:
            # the champion's fit as its gate judged it (before any refit on its holdout): the same
            # protocol as the candidate's, on holdout rows neither learned from
            judged = current.tags.get(Tag.GATED_MODEL_URI) or f"models:/{spec.name}/{current.version}"
            champ_model = store.load(judged, options, what=f"champion v{current.version}")
            fresh = unseen_by(spec, X, current.tags.get(Tag.GATED_UNTIL))
            champion.update(compare(spec, names, model, champ_model, X, y, positive, fresh))
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


def unseen_by(spec: Any, X: Any, trained_until: str | None) -> Any:
    """Which holdout rows are newer than the champion's training data (a boolean mask), or None
    when that cannot be told (no time split, or a champion without the tag)."""
    if not trained_until or spec.split.method != "time" or spec.split.column not in X.columns:
        return None
    import pandas as pd

    from airloop.data.preflight import time_values

    when = time_values(X[spec.split.column], spec.split.column)
    if pd.api.types.is_datetime64_any_dtype(when.dtype):
        when, limit = pd.to_datetime(when, utc=True), pd.Timestamp(trained_until)
        limit = limit.tz_localize("UTC") if limit.tzinfo is None else limit.tz_convert("UTC")
    else:
        when, limit = when.astype("float64"), float(trained_until)
    return (when > limit).to_numpy()


def compare(
    spec: Any, names: list[str], candidate: Any, champion: Any, X: Any, y: Any, positive: Any, fresh: Any
) -> dict[str, Any]:
    """The champion's metrics for the gate: on the holdout rows it never saw when there are enough
    (a champion's training data may reach into this holdout: a random split, or an older run's
    holdout is this one's past), with the candidate's on the same rows; else on the whole holdout."""
    from airloop.steps.modeling import score

    if fresh is not None and int(fresh.sum()) >= MIN_UNSEEN_ROWS and not fresh.all():
        Xf, yf = X[fresh], y[fresh]
        return {
            "metrics": score(spec, names, champion, Xf, yf, positive),
            "candidate_metrics": score(spec, names, candidate, Xf, yf, positive),
            "rows": int(fresh.sum()),
            "on": "holdout rows newer than the champion's training data",
        }
    return {"metrics": score(spec, names, champion, X, y, positive)}
