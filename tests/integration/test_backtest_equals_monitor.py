"""One window, one cursor: the same history replayed through the monitor DAG (dag.test() per period)
and through `airloop backtest` gives the same verdicts, including a window too small to judge that
carries over to the next period, in both."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers.projects import train_with_steps, write_project

from airloop.backtest.periods import load_history, periods
from airloop.backtest.replay import run_backtest
from airloop.data.predlog import PredictionLog
from airloop.local.embedded import run_dag
from airloop.spec import load_spec
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration

POLICY = """
monitoring:
  min_rows: 100
  min_labeled: 20
  max_relative_drop: 0.1
  cooldown_hours: 0
"""
START, END = "2024-03-01", "2024-03-29"
SIZES = (6, 40, 60, 150)  # rows per week: the first is under the 10 any judgement needs


def rows(n: int, start: str, days: float, seed: int, flipped: bool) -> pd.DataFrame:
    """n rows over `days` from `start`; flipped: the label follows `size`, no longer `x`."""
    rng = np.random.default_rng(seed)
    x, size = rng.normal(size=n), rng.uniform(0, 10, n)
    color = rng.choice(["red", "green", "blue"], size=n)
    logit = (size - 5) * 1.2 if flipped else 1.5 * x - 0.5
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    ts = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.uniform(0, days, n)), unit="D")
    return pd.DataFrame({"ts": ts.astype(str), "x": x, "size": size, "color": color, "label": label})


@pytest.fixture
def history(tmp_path: Path) -> Path:
    spec = write_project(tmp_path / "p", min_auc=0.0, batches=0, extra=POLICY)
    data = tmp_path / "p" / "data"
    rows(800, "2024-01-01", 59, seed=1, flipped=False).to_csv(data / "before.csv", index=False)
    for week, n in enumerate(SIZES):
        start = pd.Timestamp(START) + pd.Timedelta(weeks=week)
        rows(n, str(start), 6.9, seed=10 + week, flipped=week == 3).to_csv(data / f"w{week}.csv", index=False)
    return spec


def log_period(ws: Workspace, spec: Any, period: pd.DataFrame) -> None:
    """What `airloop serve` and POST /labels write: the champion's answer per record, then its label."""
    from airloop.model import store
    from airloop.steps.modeling import predict_all
    from airloop.tracking import Tracker

    Tracker(ws)
    model = store.load("models:/tiny@champion", store.LoadOptions.of(spec))  # the server's one loader
    X = period.drop(columns=["label"]).reset_index(drop=True)
    pred, proba = predict_all(spec, model, X)
    log = PredictionLog(ws.prediction_log("tiny"))
    ids, now = [uuid.uuid4().hex for _ in range(len(X))], time.time()
    records = json.loads(X.to_json(orient="records"))
    log.write(
        [
            (rid, 0, now, "1", None, json.dumps(rec), json.dumps(p.item()), json.dumps(pr.tolist()))
            for rid, rec, p, pr in zip(ids, records, pred, proba, strict=True)
        ]
    )
    log.add_labels([{"request_id": rid, "label": int(y)} for rid, y in zip(ids, period["label"], strict=True)])
    log.close()


def test_the_backtest_decides_what_the_monitor_dag_decides(history: Path, tmp_path: Path) -> None:
    root = tmp_path / "bt"
    result = run_backtest(load_spec(history), root, START, END, "week")
    replayed = [(d["verdict"], d["rows"], d["reason"]) for d in (p["loop_decision"] for p in result["periods"])]

    # production: the backtest's first training data as the project's data, a champion, then each
    # period's predictions and labels logged and the monitor DAG run once
    shutil.copytree(root / "cuts" / "p000", tmp_path / "prod")
    ws = Workspace(tmp_path / "ws")
    prod = load_spec(tmp_path / "prod" / "airloop.yaml")
    train_with_steps(tmp_path / "prod" / "airloop.yaml", ws)
    frame, when = load_history(load_spec(history))
    live = []
    for lo, hi in periods(START, END, "week"):
        log_period(ws, prod.spec, frame[((when >= lo) & (when < hi)).to_numpy()])
        outcome = run_dag(prod, ws, "tiny__monitor")
        assert outcome.ok, outcome.events
        verdict = outcome.outputs()["monitor"]  # what `airloop monitor` prints
        live.append((verdict["verdict"], verdict["rows"], verdict["reason"]))
        if verdict["verdict"] == "retrain requested":  # from here on the backtest's loop serves a new model
            break

    assert live == replayed[: len(live)]  # the same verdicts, on the same windows, for the same reasons
    assert live[0][:2] == ("accumulating", 6)  # too small to judge: its rows wait for the next period's
    assert live[1][1] == 6 + 40  # ... and are judged with them, in both
    assert len(live) >= 3
    assert "expected loss from staleness" in live[2][2]  # the champion's decay.json, read by both
