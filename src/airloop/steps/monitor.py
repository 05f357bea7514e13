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

from airloop.steps import live
from airloop.steps.context import StepContext
from airloop.tracking.tags import Tag, labels_of, metrics_of


def state_file(ctx: StepContext) -> Path:
    return ctx.workspace.monitoring_state(ctx.name)


def history_file(ctx: StepContext) -> Path:
    return ctx.workspace.monitoring_history(ctx.name)


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    from airloop.data.predlog import read_predictions
    from airloop.monitoring.policy import History, Policy, decide
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
    take_label_files(ctx, log)
    challenger, canary = live.judge_challenger(ctx, tracker, champion), live.judge_canary(ctx, tracker, champion)
    moved = live.moved(challenger, canary)
    if moved:  # the champion changed: the window is judged against the new one next time
        verdict, reason = moved
        brief: dict[str, Any] = {"champion": str(champion.version), "verdict": verdict, "reason": reason}
        return {"retrain": False, "reason": reason, "monitor": {**brief, "challenger": challenger, "canary": canary}}
    frame = read_predictions(log, start=since) if log.exists() else None
    rows = 0 if frame is None else len(frame)
    summary: dict[str, Any] = {"champion": str(champion.version), "rows": rows, "since": since, "at": time.time()}
    summary.update(challenger=challenger, canary=canary)
    if frame is None or rows < spec.monitoring.min_rows:
        summary["verdict"] = f"waiting: {rows} new predictions, {spec.monitoring.min_rows} needed"
        return {"retrain": False, "reason": summary["verdict"], "monitor": summary}

    labels = labels_of(champion.tags)
    drift = feature_drift(spec, champion, frame)
    perf = live_performance(spec, frame, labels)
    window = observe(spec, champion, frame, drift, perf)
    history = History(last_request=state.get("last_request_data_time"), holdout=metrics_of(champion.tags))
    decision = decide(history, window, Policy.of(spec))
    summary.update(drift=drift, performance=perf, estimated=window.estimated, data_time=window.end)
    summary.update(verdict=decision.verdict, reason=decision.reason, weighted_drift=decision.weighted_drift)
    record(ctx, tracker, champion, summary)
    remember(ctx, state, float(frame["logged_at"].max().timestamp()) + 1e-6, window.end if decision.retrain else None)
    # XCom gets the verdict; the per-feature statistics live in MLflow and the history file
    brief = {
        "champion": summary["champion"],
        "rows": rows,
        "verdict": decision.verdict,
        "reason": decision.reason,
        "data_time": window.end,
        "weighted_drift": decision.weighted_drift,
        "drifted": drift.get("drifted", []),
        "live": {k: v for k, v in (perf.get("metrics") or {}).items()},
        "estimated": window.estimated,
        "challenger": challenger,
        "canary": canary,
    }
    return {"retrain": decision.retrain, "reason": decision.reason, "monitor": brief}


def take_label_files(ctx: StepContext, log: Path) -> None:
    """Labels dropped as files (the server takes them too; whoever is first records them)."""
    if not log.exists():
        return
    from airloop.data.predlog import PredictionLog, ingest_label_files

    predlog = PredictionLog(log)
    try:
        ingest_label_files(predlog, ctx.workspace.labels_folder(ctx.name))
    finally:
        predlog.close()


def remember(ctx: StepContext, state: dict[str, Any], last_ts: float, request_at: float | None) -> None:
    """Where the next run starts reading the log, and (on a request) its data time and count."""
    new_state = {**state, "last_ts": last_ts}
    if request_at is not None:
        from airloop.data.requests import RetrainRequests

        new_state["last_request_data_time"] = request_at
        RetrainRequests(ctx.workspace.retrain_requests(ctx.name)).make()
    path = state_file(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(new_state))


def data_time(spec: Any, frame: Any) -> float:
    """The window's place on the data's own clock: the newest value of the time column when the
    predictions carry it (a replay of last year is last year), else when the newest was logged."""
    import pandas as pd

    column = spec.split.column
    if column and column in frame.columns:
        when = pd.to_datetime(frame[column], utc=True, errors="coerce").dropna()
        if len(when):
            return float(when.max().timestamp())
    return float(frame["logged_at"].max().timestamp())


def observe(spec: Any, champion: Any, frame: Any, drift: dict[str, Any], perf: dict[str, Any]) -> Any:
    """The policy's view of this window: drift weighted by the champion's importance, measured and
    estimated performance, in data time."""
    from airloop.monitoring.policy import Signal, Window

    sensitivity = reference_extras(champion)
    importance = sensitivity.get("importance", {}).get("importance", {})
    signals = tuple(
        Signal(f["feature"], bool(f["drifted"]), float(f["statistic"]), importance.get(f["feature"]))
        for f in drift.get("features", [])
    )
    return Window(
        end=data_time(spec, frame),
        rows=len(frame),
        signals=signals,
        measured=perf.get("metrics") or {},
        labeled=perf.get("labeled", 0),
        estimated=estimated_performance(spec, champion, frame, sensitivity.get("calibration")),
    )


def reference_extras(champion: Any) -> dict[str, Any]:
    """importance.json and calibration.json beside the champion's drift reference (absent for
    champions trained before airloop recorded them)."""
    import mlflow.artifacts

    uri = champion.tags.get(Tag.REFERENCE_URI)
    out: dict[str, Any] = {}
    for name in ("importance", "calibration"):
        try:
            out[name] = json.loads(mlflow.artifacts.load_text(f"{uri}/{name}.json"))
        except Exception:  # not recorded for this champion: the policy falls back
            continue
    return out


def estimated_performance(spec: Any, champion: Any, frame: Any, calibration: dict[str, Any] | None) -> dict[str, Any]:
    from airloop.model.labels import Labels
    from airloop.monitoring.estimate import Calibration, estimate_binary, estimate_multiclass

    scored = [(p, pred) for p, pred in zip(frame["probabilities"], frame["prediction"], strict=True) if p is not None]
    if spec.task == "regression" or not scored:
        return {}
    if spec.task == "multiclass":
        return estimate_multiclass([p for p, _ in scored])
    if calibration is None:
        return {}
    known = Labels.from_dict(labels_of(champion.tags))
    at = known.positive_index if known else -1
    scores = [p[at] for p, _ in scored]
    positive = known.positive if known else None
    answered = [pred == positive if positive is not None else p[at] >= 0.5 for p, pred in scored]
    estimate = estimate_binary(Calibration(**calibration), scores, answered)
    return {k: v for k, v in estimate.items() if k in spec.metric_names}


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

    from airloop.metrics import compute

    labeled = frame[frame["label"].notna()]
    out: dict[str, Any] = {"labeled": len(labeled)}
    if len(labeled) < spec.monitoring.min_labeled:
        return out
    classes = labels["classes"] if labels else None
    y, (pred, proba) = live.answers(labeled, "label", labels), live.answers_of(labeled, "", labels)
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
    metrics.update({f"estimated_{k}": v for k, v in (summary.get("estimated") or {}).items() if v is not None})
    if summary.get("weighted_drift") is not None:
        metrics["weighted_drift"] = summary["weighted_drift"]
    shadow = summary.get("challenger") or {}
    if shadow.get("challenger") is not None:  # the paired live comparison with the shadow challenger
        metrics.update(
            shadow_rows=shadow["rows"], shadow_champion=shadow["champion"], shadow_challenger=shadow["challenger"]
        )
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
    rows = history_rows(summary)
    path = history_file(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = pd.DataFrame(rows)
    if path.exists():
        new = pd.concat([pd.read_parquet(path), new], ignore_index=True)
    tmp = path.with_suffix(".tmp")
    new.to_parquet(tmp, index=False)
    tmp.replace(path)


def history_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The history file's rows of one run: a drift statistic per feature, then the live (measured)
    and estimated metrics."""
    perf = summary["performance"]

    def row(feature: str, method: str, statistic: float, drifted: bool, rows: int) -> dict[str, Any]:
        return {
            "at": summary["at"],
            "champion": summary["champion"],
            "feature": feature,
            "method": method,
            "statistic": statistic,
            "drifted": drifted,
            "rows": rows,
            "verdict": summary["verdict"],
        }

    out = [
        row(item["feature"], item["method"], item["statistic"], item["drifted"], summary["rows"])
        for item in summary["drift"].get("features", [])
    ]
    labeled = perf.get("labeled", 0)
    out += [
        row(f"live_{k}", "metric", v, False, labeled) for k, v in (perf.get("metrics") or {}).items() if v is not None
    ]
    estimated = (summary.get("estimated") or {}).items()
    out += [row(f"estimated_{k}", "estimate", v, False, summary["rows"]) for k, v in estimated if v is not None]
    return out
