"""Human approval on the real stack (promotion.approval: required): a train run waits in Airflow's
human-in-the-loop task with the gate's evidence as its body; `airloop approve` answers through
the REST API; the decision, who made it and why end up on the model version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.projects import SERVING, make_frame, train_with_steps, write_project
from helpers.server import free_port
from test_stack import cli, finished_run, wait_for

from airloop.local.rest import AirflowAPI
from airloop.tracking import Tracker
from airloop.tracking.tags import CHALLENGER, CHAMPION, Tag
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


def quick(*args: str) -> Any:
    """The command in this process (each `airloop` subprocess pays its imports again)."""
    from click.testing import CliRunner

    from airloop.cli import main

    return CliRunner().invoke(main, list(args))


def test_a_run_waits_for_a_person_who_rejects_then_approves(tmp_path: Path, record_property) -> None:

    root = tmp_path / "project"
    # v1: a deliberately weak champion, so that each new candidate passes the gate and is put to a person
    weak = {"estimator": "sklearn.dummy.DummyClassifier", "params": "{strategy: prior}", "search": "{}"}
    spec = write_project(root, min_auc=0.0, extra=SERVING, **weak)
    ws = Workspace(tmp_path / "ws")
    train_with_steps(spec, ws)
    write_project(root, min_auc=0.0, extra=SERVING)
    spec.write_text(
        spec.read_text().replace("  min_improvement: 0.01\n", "  min_improvement: 0.01\n  approval: required\n")
    )
    args = ("--workspace", str(ws.root))
    up = cli("up", str(spec), *args, "--api-port", str(free_port()), "--serve-port", str(free_port()), "--detach")
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        api = AirflowAPI.for_workspace(ws)
        wait_for("both DAGs", lambda: len(api.get("/api/v2/dags")["dags"]) == 2)
        nothing = quick("approve", str(spec), *args)
        assert nothing.exit_code == 2
        assert "no run of tiny__train is waiting for a decision" in nothing.stderr

        def decide(*how: str) -> dict:
            seen = {r["dag_run_id"] for r in api.runs("tiny__train", limit=10)}
            api.post("/api/v2/dags/tiny__train/dagRuns", {"logical_date": None})
            try:
                waiting = wait_for("a run waiting for a decision", lambda: api.waiting_for_decision("tiny__train"))
            except BaseException:
                runs = api.runs("tiny__train", limit=5)
                states = {
                    r["dag_run_id"]: (r["state"], api.task_instances("tiny__train", r["dag_run_id"])) for r in runs
                }
                raise AssertionError(
                    {k: (st, {t["task_id"]: t["state"] for t in tis}) for k, (st, tis) in states.items()}
                ) from None
            detail = waiting[0]
            assert "| roc_auc |" in detail["body"]
            assert "champion v1" in detail["body"]
            assert detail["options"] == ["Approve", "Reject"]
            status = quick("status", str(spec), *args)
            assert f"waiting for a decision: run {detail['task_instance']['dag_run_id']}" in status.stdout
            wrong = quick("approve", str(spec), "--run", "no-such-run", *args)
            assert wrong.exit_code == 2
            assert "run no-such-run of tiny__train is not waiting" in wrong.stderr
            done = quick("approve", str(spec), *how, *args)
            assert done.exit_code == 0, done.output
            return wait_for("the decided run", finished_run(api, "tiny__train", "manual", seen))

        tracker = Tracker(ws)
        first = decide("--reject", "--comment", "not before the audit")
        assert first["state"] == "success"
        assert tracker.alias_version("tiny", CHAMPION) == "1"
        assert tracker.alias_version("tiny", CHALLENGER) == "2"
        tags = tracker.version("tiny", "2").tags
        assert tags[Tag.APPROVAL] == "rejected"
        assert tags[Tag.APPROVAL_COMMENT] == "not before the audit"
        assert tags[Tag.APPROVED_BY] == "admin"

        make_frame(300, seed=9, start="2024-03-01").to_csv(root / "data" / "part_2.csv", index=False)  # new inputs
        second = decide("--comment", "audit passed")
        assert second["state"] == "success"
        assert tracker.alias_version("tiny", CHAMPION) == "3"
        tags = tracker.version("tiny", "3").tags
        assert (tags[Tag.APPROVAL], tags[Tag.APPROVAL_COMMENT]) == ("approved", "audit passed")
        record_property("observed", "rejected v2 stayed challenger; approved v3 became champion; both tagged")
    finally:
        down = cli("down", *args)
    assert down.returncode == 0, down.stderr
