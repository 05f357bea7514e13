"""monitor: drift and live performance of the champion, and whether to ask for retraining.

Reads the prediction log since the last monitor run, compares every feature (and the scores)
with the champion's training reference, scores the labeled predictions, records the results
(an MLflow run under the champion's training run, plus a Parquet history), and applies the
spec's policy, cooldown included. The Airflow layer turns ``retrain: true`` into an asset event.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from airloop.steps.context import StepContext
from airloop.tracking.tags import Tag, labels_of


def state_file(ctx: StepContext) -> Path:
    return ctx.workspace.monitoring_state(ctx.name)


def history_file(ctx: StepContext) -> Path:
    return ctx.workspace.monitoring_history(ctx.name)


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    from airloop.data.predlog import read_predictions
    from airloop.tracking import Tracker
    from airloop.tracking.tags import CHAMPION

    spec = ctx.loaded.spec
    tracker = Tracker(ctx.workspace)
    champion = tracker.alias(spec.name, CHAMPION)
    if champion is None:
        return {"retrain": False, "reason": "no champion to monitor", "monitor": {}}
    path = state_file(ctx)
    state = json.loads(path.read_text()) if path.exists() else {}
    since = state.get("last_ts")
    log = ctx.workspace.prediction_log(spec.name)
    if log.exists():  # labels dropped as files (the server takes them too; whoever is first records them)
        from airloop.data.predlog import PredictionLog, ingest_label_files

        predlog = PredictionLog(log)
        try:
            ingest_label_files(predlog, ctx.workspace.labels_folder(spec.name))
        finally:
            predlog.close()
    frame = read_predictions(log, start=since) if log.exists() else None
    now = time.time()
    rows = 0 if frame is None else len(frame)
    summary: dict[str, Any] = {"champion": str(champion.version), "rows": rows, "since": since, "at": now}
    if frame is None or rows < spec.monitoring.min_rows:
        summary["verdict"] = f"waiting: {rows} new predictions, {spec.monitoring.min_rows} needed"
        return {"retrain": False, "reason": summary["verdict"], "monitor": summary}

    drift = feature_drift(spec, champion, frame)
    perf = live_performance(spec, frame, labels_of(champion.tags))
    summary.update(drift=drift, performance=perf)
    retrain, reasons = decide(spec, champion, drift, perf)
    cooldown = spec.monitoring.cooldown_hours * 3600
    if retrain and state.get("last_request") and now - state["last_request"] < cooldown:
        left = (cooldown - (now - state["last_request"])) / 3600
        reasons.append(
            f"but the last retrain request was {(now - state['last_request']) / 60:.0f} min ago: "
            f"cooldown {spec.monitoring.cooldown_hours:g} h ({left:.1f} h left)"
        )
        retrain = False
    reason = "; ".join(reasons) if reasons else "no drift and performance within policy"
    summary.update(verdict="retrain requested" if retrain else "no action", reason=reason)
    record(ctx, tracker, champion, summary)
    last_ts = float(frame["logged_at"].max().timestamp()) + 1e-6
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**state, "last_ts": last_ts, **({"last_request": now} if retrain else {})}))
    # XCom gets the verdict; the per-feature statistics live in MLflow and the history file
    brief = {
        "champion": summary["champion"],
        "rows": rows,
        "verdict": summary["verdict"],
        "drifted": drift.get("drifted", []),
        "live": {k: v for k, v in (perf.get("metrics") or {}).items()},
    }
    return {"retrain": retrain, "reason": reason, "monitor": brief}


def feature_drift(spec: Any, champion: Any, frame: Any) -> dict[str, Any]:
    import mlflow.artifacts
    import numpy as np

    from airloop.monitoring.drift import NumericSummary, Reference, compute_drift, prediction_drift

    uri = champion.tags.get(Tag.REFERENCE_URI)
    if not uri:
        return {"error": "the champion carries no drift reference (trained before airloop stored one)"}
    m = spec.monitoring
    reference = Reference.from_json(mlflow.artifacts.load_text(f"{uri}/features.json"))
    results = compute_drift(
        reference,
        frame,
        numeric_method=m.numeric_method,
        categorical_method=m.categorical_method,
        psi_threshold=m.psi_threshold,
        p_threshold=m.p_threshold,
    )
    out = {"features": [r.to_dict() for r in results], "drifted": [r.feature for r in results if r.drifted]}
    probs = [p for p in frame["probabilities"] if p is not None]
    from airloop.model.labels import Labels

    known = Labels.from_dict(labels_of(champion.tags))
    at = known.positive_index if known else -1
    scores = np.array([p[at] if len(p) == 2 else max(p) for p in probs]) if probs else frame["prediction"]
    summary = NumericSummary(**json.loads(mlflow.artifacts.load_text(f"{uri}/prediction.json")))
    if len(scores):
        out["prediction"] = prediction_drift(
            summary, np.asarray(scores, dtype="float64"), psi_threshold=m.psi_threshold
        ).to_dict()
    return out


def live_performance(spec: Any, frame: Any, labels: dict[str, Any] | None = None) -> dict[str, Any]:
    """Metrics on the labeled predictions; ``labels`` (the champion's classes and positive class)
    maps labels posted as text or numbers onto the model's classes ("1" -> 1, "yes" -> "YES")."""
    import numpy as np

    from airloop.metrics import compute
    from airloop.model.labels import coerce

    labeled = frame[frame["label"].notna()]
    out: dict[str, Any] = {"labeled": len(labeled)}
    if len(labeled) < spec.monitoring.min_labeled:
        return out
    classes = labels["classes"] if labels else None
    y_list, pred_list = list(labeled["label"]), list(labeled["prediction"])
    if classes:
        y_list, pred_list = coerce(y_list, classes), coerce(pred_list, classes)
    y, pred = np.asarray(y_list), np.asarray(pred_list)  # object arrays of numbers read as "unknown" to sklearn
    probs = list(labeled["probabilities"])
    proba = np.asarray(probs, dtype="float64") if probs and probs[0] is not None else None
    metrics: dict[str, float | None] = {}
    for name in spec.metric_names:
        try:
            value = compute(name, y, pred, proba, classes, labels["positive"] if labels else None)
        except ValueError as exc:  # e.g. one class only among the labels so far
            value, why = None, str(exc)
        else:
            why = "undefined on these labels"
        if value is None or value != value:  # NaN: sklearn warns instead of raising for some metrics
            metrics[name] = None
            out.setdefault("skipped", {})[name] = why
        else:
            metrics[name] = value
    out["metrics"] = metrics
    return out


def decide(spec: Any, champion: Any, drift: dict[str, Any], perf: dict[str, Any]) -> tuple[bool, list[str]]:
    """The spec's policy: drift on N features, a metric under its floor, or a drop from holdout."""
    from airloop.metrics import METRICS

    m = spec.monitoring
    reasons: list[str] = []
    drifted = drift.get("drifted", [])
    if len(drifted) >= m.drifted_features:
        reasons.append(
            f"{len(drifted)} features drifted ({', '.join(drifted)}), policy allows {m.drifted_features - 1}"
        )
    live = perf.get("metrics") or {}
    for name, floor in m.min_performance.items():
        value = live.get(name)
        if value is not None and value < floor:
            reasons.append(f"live {name} {value:.4f} is below the minimum {floor}")
    metric = spec.promotion_metric
    holdout = champion.tags.get(Tag.metric(metric))
    if m.max_performance_drop is not None and live.get(metric) is not None and holdout is not None:
        maximize = METRICS[metric].direction == "maximize"
        drop = (float(holdout) - live[metric]) if maximize else (live[metric] - float(holdout))
        if drop > m.max_performance_drop:
            reasons.append(
                f"live {metric} {live[metric]:.4f} is {drop:.4f} worse than the holdout "
                f"{float(holdout):.4f} (policy allows {m.max_performance_drop})"
            )
    return bool(reasons), reasons


def record(ctx: StepContext, tracker: Any, champion: Any, summary: dict[str, Any]) -> None:
    """An MLflow run under the champion's training run, and one history row per feature."""
    import pandas as pd

    metrics: dict[str, float] = {"rows": summary["rows"]}
    for item in summary["drift"].get("features", []):
        metrics[f"drift_{item['method']}_{item['feature']}"] = item["statistic"]
    if "prediction" in summary["drift"]:
        metrics["drift_psi_prediction"] = summary["drift"]["prediction"]["statistic"]
    metrics["drifted_features"] = len(summary["drift"].get("drifted", []))
    perf = summary["performance"]
    metrics["labeled"] = perf.get("labeled", 0)
    metrics.update({f"live_{k}": v for k, v in (perf.get("metrics") or {}).items() if v is not None})
    run_id = tracker.child_run(champion.run_id, f"monitor {time.strftime('%Y-%m-%d %H:%M')}", {}, metrics)
    tracker.log(
        run_id,
        tags={
            Tag.KIND: "monitor",
            Tag.CHAMPION_VERSION: summary["champion"],
            Tag.VERDICT: summary["verdict"],
            Tag.REASON: summary["reason"][:4000],
            Tag.DAG_ID: ctx.dag_id,
            Tag.RUN_ID: ctx.run_id,
        },
    )
    rows = [
        {
            "at": summary["at"],
            "champion": summary["champion"],
            "feature": item["feature"],
            "method": item["method"],
            "statistic": item["statistic"],
            "drifted": item["drifted"],
            "rows": summary["rows"],
            "verdict": summary["verdict"],
        }
        for item in summary["drift"].get("features", [])
    ]
    rows += [
        {
            "at": summary["at"],
            "champion": summary["champion"],
            "feature": f"live_{k}",
            "method": "metric",
            "statistic": v,
            "drifted": False,
            "rows": perf.get("labeled", 0),
            "verdict": summary["verdict"],
        }
        for k, v in (perf.get("metrics") or {}).items()
        if v is not None
    ]
    path = history_file(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = pd.DataFrame(rows)
    if path.exists():
        new = pd.concat([pd.read_parquet(path), new], ignore_index=True)
    tmp = path.with_suffix(".tmp")
    new.to_parquet(tmp, index=False)
    tmp.replace(path)
