"""monitor: drift and live performance of the champion, and whether to ask for retraining.

Reads the prediction log since the last monitor run, compares every feature (and the scores)
with the champion's training reference, scores the labeled predictions, records the results
(an MLflow run under the champion's training run, plus a Parquet history), and applies the
spec's policy, cooldown included. The Airflow layer turns ``retrain: true`` into an asset event.
Where the next window starts is the shared cursor (`monitoring.cursor`): a window the policy leaves
accumulating is read again, with the newer rows, by the next run, exactly as ``airloop backtest`` does.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from airloop.steps import live
from airloop.steps.context import StepContext
from airloop.tracking.tags import Tag, labels_of

ALARM_SEP = ";"


def state_file(ctx: StepContext) -> Path:
    return ctx.workspace.monitoring_state(ctx.name)


def history_file(ctx: StepContext) -> Path:
    return ctx.workspace.monitoring_history(ctx.name)


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    from airloop.data.replicas import sources as log_sources
    from airloop.data.scan import scan
    from airloop.monitoring.cursor import Cursor
    from airloop.monitoring.policy import ACCUMULATING, Policy, decide
    from airloop.steps.window import columns_needed, judge, observe, over, references
    from airloop.steps.window import history as window_history
    from airloop.tracking import Tracker
    from airloop.tracking.tags import CHAMPION

    spec = ctx.loaded.spec
    tracker = Tracker(ctx.workspace)
    champion = tracker.alias(spec.name, CHAMPION)
    if champion is None:
        return {"retrain": False, "reason": "no champion to monitor", "monitor": {}}
    path = state_file(ctx)
    state = json.loads(path.read_text()) if path.exists() else {}
    cursor = Cursor.of(state)
    log = ctx.workspace.prediction_log(spec.name)
    take_label_files(ctx, log, champion)
    challenger, canary = live.judge_challenger(ctx, tracker, champion), live.judge_canary(ctx, tracker, champion)
    moved = live.moved(challenger, canary)
    if moved:  # the champion changed: the window is judged against the new one next time
        verdict, reason = moved
        brief: dict[str, Any] = {"champion": str(champion.version), "verdict": verdict, "reason": reason}
        brief["deployed"] = live.deploy_moved(ctx, tracker, str(champion.version), verdict, reason)
        return {"retrain": False, "reason": reason, "monitor": {**brief, "challenger": challenger, "canary": canary}}
    parts = log_sources(ctx.workspace, spec.name)  # every replica's front and segments seen from here
    tidy(spec, parts)
    saved = references(champion)  # what training recorded for the monitor
    columns = columns_needed(spec, saved) if "features" in saved else None
    marks: dict[str, int] = {}
    batches = scan(None, cursor.start, features=columns, ids=False, sources=parts, after=cursor.marks, marks=marks)
    seen = over(spec, champion, batches, saved) if parts else None
    rows = 0 if seen is None else seen.rows
    summary: dict[str, Any] = {
        "champion": str(champion.version),
        "rows": rows,
        "since": cursor.since,
        "at": time.time(),
    }
    summary.update(challenger=challenger, canary=canary)
    if seen is None or not rows:
        summary.update(verdict=ACCUMULATING, reason="accumulating: no new predictions")
        return {"retrain": False, "reason": summary["reason"], "monitor": summary}

    drift, perf, guess = judge(spec, seen, saved, labels_of(champion.tags))
    window = observe(spec, seen, saved, drift, perf, guess)
    history = window_history(champion, saved, cursor.last_request)
    decision = decide(history, window, Policy.of(spec))
    if decision.verdict == ACCUMULATING:  # the cursor stays: the next run judges these rows with newer ones
        summary.update(verdict=decision.verdict, reason=decision.reason, data_time=window.end)
        return {"retrain": False, "reason": decision.reason, "monitor": summary}
    summary.update(drift=drift, performance=perf, estimated=window.estimated, data_time=window.end)
    summary.update(verdict=decision.verdict, reason=decision.reason, weighted_drift=decision.weighted_drift)
    summary.update(alarms=list(decision.alarms), staleness=decision.staleness, persistent=list(decision.persistent))
    record(ctx, tracker, champion, summary)
    remember(ctx, state, cursor.after(decision, float(seen.last_logged), window.end, marks), decision.retrain)
    return {"retrain": decision.retrain, "reason": decision.reason, "monitor": brief_of(summary, decision, window)}


def brief_of(summary: dict[str, Any], decision: Any, window: Any) -> dict[str, Any]:
    """What XCom gets: the verdict; the per-feature statistics live in MLflow and the history file."""
    return {
        "champion": summary["champion"],
        "rows": summary["rows"],
        "verdict": decision.verdict,
        "reason": decision.reason,
        "data_time": window.end,
        "weighted_drift": decision.weighted_drift,
        "confidence": decision.confidence,
        "drifted": summary["drift"].get("drifted", []),
        "persistent": list(decision.persistent),  # of the drifted: present at the last training, not counted
        "staleness": decision.staleness,  # the champion's expected loss from its data age
        "live": dict(summary["performance"].get("metrics") or {}),
        "estimated": window.estimated,
        "challenger": summary["challenger"],
        "canary": summary["canary"],
    }


def tidy(spec: Any, parts: list[Any]) -> None:
    """The log before it is read: a compaction round of each front here when one is due (the
    servers start them too; a replica that is gone leaves its front to this), and segments past
    ``monitoring.retention_days`` deleted."""
    from airloop.data.segments import compact, drop_older

    for part in parts:
        if part.front is not None:
            compact(part.front, folder=part.folder, replica=part.replica)
        if spec.monitoring.retention_days is not None:
            drop_older(part.front, spec.monitoring.retention_days, folder=part.folder, replica=part.replica)


def take_label_files(ctx: StepContext, log: Path, champion: Any) -> None:
    """Labels dropped as files (the server takes them too; whoever is first records them), checked
    against the champion's task and classes as POST /labels checks them: the champion's tags hold
    its classes, already read here, so no model is loaded for it."""
    if not log.exists():
        return
    from airloop.data.labelcheck import Rules
    from airloop.data.labelfiles import take
    from airloop.data.predlog import PredictionLog

    known = labels_of(champion.tags)
    rules = Rules.of(ctx.loaded.spec.task, known["classes"] if known else None)
    predlog = PredictionLog(log)
    try:
        take(predlog, ctx.workspace.labels_folder(ctx.name), rules, f"monitor {ctx.run_id}")
    finally:
        predlog.close()


def remember(ctx: StepContext, state: dict[str, Any], cursor: Any, requested: bool) -> None:
    """Where the next run starts reading the log (the ``Cursor``: with a request, its data time), and
    the request's count."""
    new_state = {**state, **cursor.state()}
    if requested:
        from airloop.data.requests import RetrainRequests

        RetrainRequests(ctx.workspace.retrain_requests(ctx.name)).make()
    path = state_file(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(new_state))


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
    if summary.get("staleness") is not None:
        metrics["staleness"] = summary["staleness"]
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

    persistent = set(summary.get("persistent", []))

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
            "alarms": ALARM_SEP.join(summary.get("alarms", [])),  # what fired: alarm fatigue reads it
            "persistent": feature in persistent,  # drifted at the last training too: not counted
            "staleness": summary.get("staleness"),  # the champion's expected loss from its data age
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
