"""The monitor DAG through dag.test(): drift and live performance from the prediction log, the
retrain-requested asset event when the policy says so, and the cooldown."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
from helpers.projects import make_frame, train_with_steps, write_project

from airloop.data.predlog import PredictionLog
from airloop.local.embedded import run_dag
from airloop.spec import load_spec
from airloop.tracking.tags import Tag
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration

POLICY = """
monitoring:
  min_rows: 100
  min_labeled: 50
  drifted_features: 2
  max_performance_drop: 0.5
  cooldown_hours: 1
"""


def log_predictions(ws: Workspace, frame: pd.DataFrame) -> None:
    """What `airloop serve` writes: one row per record, with the champion's probabilities and the label."""
    from airloop.model import store
    from airloop.tracking import Tracker

    Tracker(ws)  # points MLflow at the workspace
    model = store.load("models:/tiny@champion")
    X = frame.drop(columns=["label"])
    proba = model.predict_proba(X)
    log = PredictionLog(ws.prediction_log("tiny"))
    rid, now = uuid.uuid4().hex, time.time()
    records = json.loads(X.to_json(orient="records"))
    log.write(
        [
            (rid, i, now, "1", None, json.dumps(rec), json.dumps(int(p[1] > 0.5)), json.dumps(p.tolist()))
            for i, (rec, p) in enumerate(zip(records, proba, strict=True))
        ]
    )
    # the label arrives later; one label for the whole request (the majority class) is enough here
    log.add_labels([{"request_id": rid, "label": int(frame["label"].mean() > 0.5)}])
    log.close()


def asset_events(ws: Workspace) -> list[dict]:
    con = sqlite3.connect(ws.airflow_db)
    rows = con.execute(
        "select e.extra from asset_event e join asset a on a.id = e.asset_id where a.uri = ?",
        ("airloop://tiny/retrain-requested",),
    ).fetchall()
    con.close()
    return [json.loads(r[0]) for r in rows]


def states(outcome) -> dict[str, str]:
    return {t["task_id"]: t["state"] for t in outcome.result["tasks"]}


def test_monitor_flags_drift_requests_retraining_and_respects_cooldown(tmp_path: Path) -> None:
    spec_path = write_project(tmp_path / "p", min_auc=0.0, extra=POLICY)
    ws = Workspace(tmp_path / "ws")
    train_with_steps(spec_path, ws)
    loaded = load_spec(spec_path)

    # 1. live traffic like the training data: no drift, no request
    log_predictions(ws, make_frame(300, seed=31))
    calm = run_dag(loaded, ws, "tiny__monitor")
    assert calm.ok, calm.events
    assert states(calm) == {"monitor": "success", "request_retrain": "skipped"}
    assert asset_events(ws) == []

    # 2. a shifted batch: x moved by 3 sd and every flight is red -> two features drift
    shifted = make_frame(300, seed=32)
    shifted["x"] += 3
    shifted["color"] = "red"
    log_predictions(ws, shifted)
    drift = run_dag(loaded, ws, "tiny__monitor")
    assert drift.ok
    assert states(drift) == {"monitor": "success", "request_retrain": "success"}
    events = asset_events(ws)
    assert len(events) == 1
    # x and color carry most of what the model uses (permutation importance recorded at training)
    assert "drifted features (x, color) carry" in events[0]["reason"]
    assert events[0]["champion"] == "1"

    # 3. still shifted, inside the cooldown (data time: these rows are no newer): no second request
    log_predictions(ws, shifted.assign(x=shifted["x"] + 0.1))
    again = run_dag(loaded, ws, "tiny__monitor")
    assert again.ok
    assert states(again) == {"monitor": "success", "request_retrain": "skipped"}
    assert len(asset_events(ws)) == 1

    history = pd.read_parquet(ws.project("tiny") / "monitoring" / "history.parquet")
    assert list(dict.fromkeys(history["verdict"])) == ["no action", "retrain requested", "suppressed"]
    x_rows = history[history["feature"] == "x"]
    assert list(x_rows["drifted"]) == [False, True, True]
    from airloop.tracking import Tracker

    tracker = Tracker(ws)
    champion_run = tracker.version("tiny", "1").run_id
    monitor_runs = tracker.client.search_runs(
        [tracker.experiment_id("tiny")], filter_string=f"tags.`{Tag.KIND}` = 'monitor'"
    )
    assert len(monitor_runs) == 3
    assert {r.data.tags["mlflow.parentRunId"] for r in monitor_runs} == {champion_run}
    reasons = [r.data.tags[Tag.REASON] for r in monitor_runs]
    assert any("suppressed: cooldown until" in r for r in reasons)
    assert all("live_accuracy" in r.data.metrics for r in monitor_runs)
