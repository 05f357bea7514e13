"""A shadow challenger judged on live traffic: the monitor pairs its logged answers with the
champion's on the same labeled requests, reports the comparison, and promotes a winner when
``promotion.live.action: promote``."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from helpers.projects import make_frame, train_with_steps, write_project

from airloop.data.predlog import PredictionLog
from airloop.data.scan import read_shadow
from airloop.spec import load_spec
from airloop.steps.context import StepContext
from airloop.steps.runner import execute
from airloop.tracking import Tracker
from airloop.tracking.tags import CHALLENGER, CHAMPION, PREVIOUS, Tag
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


def log_with_shadow(ws: Workspace, n: int, champion: str, challenger: str, seed: int = 0) -> None:
    """Requests as the server logs them with a shadow on: the challenger answers the same records
    better (its probabilities track the label; the champion's are noisier)."""
    frame = make_frame(n, seed=seed).drop(columns=["label"])
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    good = np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(0, 0.15, n), 0.01, 0.99)
    poor = np.clip(0.5 + (y - 0.5) * 0.2 + rng.normal(0, 0.3, n), 0.01, 0.99)
    log = PredictionLog(ws.prediction_log("tiny"))
    now, records = time.time(), json.loads(frame.to_json(orient="records"))
    rid = [uuid.uuid4().hex for _ in range(n)]
    log.write(
        [
            (
                rid[i],
                0,
                now,
                champion,
                f"e{i}",
                json.dumps(rec),
                json.dumps(int(poor[i] > 0.5)),
                json.dumps([1 - poor[i], poor[i]]),
            )
            for i, rec in enumerate(records)
        ]
    )
    log.write_shadow(
        [
            (rid[i], 0, now, challenger, json.dumps(int(good[i] > 0.5)), json.dumps([1 - good[i], good[i]]))
            for i in range(n)
        ]
    )
    log.add_labels([{"entity_id": f"e{i}", "label": int(y[i])} for i in range(n)])
    log.close()


def test_the_monitor_reports_then_promotes_a_challenger_that_wins_live(tmp_path: Path) -> None:
    spec = write_project(tmp_path / "project", min_auc=0.0)
    ws = Workspace(tmp_path / "ws")
    train_with_steps(spec, ws)
    tracker = Tracker(ws)
    v1 = tracker.version("tiny", "1")
    v2 = tracker.client.create_model_version("tiny", v1.source, run_id=v1.run_id, tags=v1.tags)
    tracker.set_alias("tiny", CHALLENGER, str(v2.version))
    log_with_shadow(ws, 400, champion="1", challenger=str(v2.version))
    paired = read_shadow(ws.prediction_log("tiny"), str(v2.version))
    assert len(paired) == 400
    assert paired["label"].notna().all()

    def monitor(run_id: str) -> dict:
        ctx = StepContext("tiny", str(spec), ws, dag_id="tiny__monitor", run_id=run_id)
        return execute("monitor", ctx, {}, merge=False)

    # the default action reports: the comparison is in the verdict's record, the champion stays
    spec.write_text(
        spec.read_text().replace("  min_improvement: 0.01\n", "  min_improvement: 0.01\n  live: {min_labeled: 300}\n")
    )
    out = monitor("m1")
    found = out["monitor"]["challenger"]
    assert found["version"] == str(v2.version)
    assert found["rows"] == 400
    assert found["wins"]
    assert not found["promoted"]
    assert found["low"] > 0
    assert found["challenger"] > found["champion"]
    assert tracker.alias_version("tiny", CHAMPION) == "1"

    spec.write_text(spec.read_text().replace("live: {min_labeled: 300}", "live: {min_labeled: 300, action: promote}"))
    out = monitor("m2")
    assert out["monitor"]["verdict"] == f"challenger v{v2.version} promoted on live traffic"
    assert not out["retrain"]
    assert tracker.alias_version("tiny", CHAMPION) == str(v2.version)
    assert tracker.alias_version("tiny", PREVIOUS) == "1"
    assert tracker.alias_version("tiny", CHALLENGER) is None
    tags = tracker.version("tiny", str(v2.version)).tags
    assert tags[Tag.PROMOTED_BY] == "live comparison"
    assert "challenger beats the champion on 400 labeled live rows: roc_auc" in tags[Tag.LIVE_EVIDENCE]
    # the next run has no challenger to judge
    assert monitor("m3")["monitor"]["challenger"] is None
    assert load_spec(spec).spec.promotion.live.action == "promote"
