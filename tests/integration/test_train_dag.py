"""The full train DAG through Airflow's dag.test() with a real MLflow SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.projects import make_frame, train_with_steps, write_project

from airloop.local.embedded import run_train_dag
from airloop.spec import load_spec
from airloop.tracking.tags import Tag

pytestmark = pytest.mark.integration


def _note(ws, run_id: str) -> str | None:
    """The DAG run's note as Airflow stored it."""
    import sqlite3

    con = sqlite3.connect(ws.airflow_db)
    try:
        row = con.execute(
            "select n.content from dag_run_note n join dag_run r on r.id = n.dag_run_id where r.run_id = ?", (run_id,)
        ).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def _tracker(ws):
    from airloop.tracking import Tracker

    return Tracker(ws)


def test_full_run_makes_a_champion_with_lineage(project: Path, workspace) -> None:
    outcome = run_train_dag(load_spec(project), workspace)
    assert outcome.ok, outcome.events[-1]
    tasks = {t["task_id"] for t in outcome.result["tasks"]}
    assert tasks == {
        "ingest",
        "validate",
        "split",
        "tune_plan",
        "tune_trials",
        "tune_select",
        "train",
        "evaluate",
        "gate",
        "refit",
        "register",
        "promote",
    }
    mapped = [t for t in outcome.result["tasks"] if t["task_id"] == "tune_trials"]
    assert [t["map_index"] for t in sorted(mapped, key=lambda t: t["map_index"])] == [0, 1]
    assert all(t["state"] == "success" for t in outcome.result["tasks"])

    tracker = _tracker(workspace)
    assert tracker.aliases("tiny") == {"champion": "1"}
    tags = tracker.version("tiny", "1").tags
    for key in (
        "data_fingerprint",
        "spec_hash",
        "code_version",
        "dag_id",
        "run_id",
        "gate",
        "gate_reasons",
        "metric.roc_auc",
        "contract_uri",
        "reference_uri",
    ):
        assert tags[f"airloop.{key}"], key
    assert tags[Tag.DAG_ID] == "tiny__train"
    assert tags[Tag.RUN_ID] == outcome.run_id
    assert tags[Tag.GATE] == "passed"
    # issue 25: the outcome in one line, as the DAG run's note (what the Airflow UI shows) and in the run folder
    assert outcome.result["note"].startswith("v1 promoted (roc_auc "), outcome.result["note"]
    assert _note(workspace, outcome.run_id) == outcome.result["note"]
    told = (workspace.run_dir("tiny", outcome.run_id) / "outcome.txt").read_text().strip()
    assert told == outcome.result["note"]

    # one parent run per DAG run, a child run per trial, the model with signature and input example
    client = tracker.client
    exp = client.get_experiment_by_name("tiny")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1
    assert len(children) == 2
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags[Tag.RUN_ID] == outcome.run_id
    assert "holdout_roc_auc" in parent.data.metrics
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    import mlflow

    info = mlflow.models.get_model_info("models:/tiny@champion")
    assert info.signature is not None
    assert "color" in info.signature.inputs.input_names()
    assert info.saved_input_example_info is not None
    # what loading imports, pinned (issue 20): read off the model, not a fixed list
    reqs = Path(mlflow.pyfunc.get_model_dependencies("models:/tiny@champion")).read_text().split()
    from importlib.metadata import version

    assert f"scikit-learn=={version('scikit-learn')}" in reqs
    # stored as data (skops), read by the runtime shipped with it: neither airloop nor a pickle needed
    assert {r.split("==")[0] for r in reqs if "==" in r} == {
        "mlflow-skinny",
        "numpy",
        "pandas",
        "scikit-learn",
        "skops",
    }
    model = mlflow.pyfunc.load_model("models:/tiny@champion")
    frame = make_frame(20, seed=9).drop(columns=["label"])
    assert len(model.predict(frame)) == 20
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "contract")}
    assert "contract/contract_report.txt" in artifacts
    assert "contract/contract.json" in artifacts
    # the drift reference travels with the version: same-distribution data shows no drift
    import json

    from airloop.monitoring.drift import NumericSummary, Reference, compute_drift, prediction_drift

    ref_uri = tags[Tag.REFERENCE_URI]
    reference = Reference.from_json(mlflow.artifacts.load_text(f"{ref_uri}/features.json"))
    assert set(reference.numeric) == {"x", "size"}
    assert set(reference.categorical) == {"color"}
    fresh = make_frame(2000, seed=21)
    assert not any(d.drifted for d in compute_drift(reference, fresh))
    shifted = fresh.assign(x=fresh["x"] + 2)
    assert [d.feature for d in compute_drift(reference, shifted) if d.drifted] == ["x"]
    scores = NumericSummary(**json.loads(mlflow.artifacts.load_text(f"{ref_uri}/prediction.json")))
    from airloop.model import store

    proba = store.load("models:/tiny@champion").predict_proba(fresh.drop(columns=["label"]))[:, 1]
    assert not prediction_drift(scores, proba).drifted
    # the second run reuses the migrated Airflow DB
    second = run_train_dag(load_spec(project), workspace)
    assert second.ok
    assert second.result["migrated"] is False
    assert outcome.result["migrated"] is True
    # the in-process Execution API was built for the one version the task SDK speaks (not all 11)
    assert outcome.result["lean_execution_api"] is True
    # everything the runs wrote is in the workspace
    assert (workspace.airflow_db).exists()
    assert (workspace.mlflow_dir / "mlflow.db").exists()
    assert (workspace.dags_folder / "airloop_tiny.py").exists()
    assert not (Path.cwd() / "mlruns").exists()


def test_gate_refuses_a_worse_model(tmp_path: Path, workspace) -> None:
    good = write_project(tmp_path / "good")
    train_with_steps(good, workspace)  # the champion to beat (the full DAG is tested above)
    worse = write_project(
        tmp_path / "worse",
        estimator="sklearn.dummy.DummyClassifier",
        params="{strategy: prior}",
        search="{}",
        min_auc=0.0,
    )
    outcome = run_train_dag(load_spec(worse), workspace)
    assert outcome.ok
    out = outcome.outputs()
    assert out["gate"]["passed"] is False
    assert any("does not beat champion v1" in r for r in out["gate"]["reasons"])
    tracker = _tracker(workspace)
    assert tracker.aliases("tiny") == {"champion": "1", "challenger": "2"}
    tags = tracker.version("tiny", "2").tags
    assert tags[Tag.GATE] == "refused"
    assert "does not beat" in tags[Tag.GATE_REASONS]
    assert tags[Tag.PROMOTED] == "false"


def test_contract_violation_stops_the_run(tmp_path: Path, workspace) -> None:
    project = write_project(tmp_path / "p")
    train_with_steps(project, workspace)  # the first accepted data set the contract
    bad = make_frame(300, seed=5, start="2024-03-01")
    bad["x"] = bad["x"] * 1000  # a unit change upstream
    bad["color"] = "purple"
    bad.to_csv(tmp_path / "p" / "data" / "part_9.csv", index=False)
    outcome = run_train_dag(load_spec(project), workspace)
    assert not outcome.ok
    fail = outcome.final_failure()
    assert fail["task"] == "validate"
    assert fail["try"] == 1
    assert "part_9.csv" in fail["error"]
    assert "range" in fail["error"]
    assert "unseen_category" in fail["error"]
    states = {t["task_id"]: t["state"] for t in outcome.result["tasks"]}
    assert states["validate"] == "failed"
    assert states["register"] == "upstream_failed"
    assert outcome.result["note"].startswith("batch rejected: 1 of 3 batch(es) refused"), outcome.result["note"]
    tracker = _tracker(workspace)
    assert tracker.version_numbers("tiny") == ["1"]
    assert tracker.aliases("tiny") == {"champion": "1"}
    run_dir = workspace.run_dir("tiny", outcome.run_id)
    report = json.loads((run_dir / "contract_report.json").read_text())
    assert report["accepted"] is False
    parent = [
        r
        for r in tracker.client.search_runs([tracker.experiment_id("tiny")])
        if r.data.tags.get(Tag.RUN_ID) == outcome.run_id
    ][0]
    assert parent.info.status == "FAILED"
    assert "contract/contract_report.txt" in {
        a.path for a in tracker.client.list_artifacts(parent.info.run_id, "contract")
    }
    # removing the bad batch lets the next run through
    (tmp_path / "p" / "data" / "part_9.csv").unlink()
    assert run_train_dag(load_spec(project), workspace).ok


def test_a_failing_step_is_retried(tmp_path: Path, workspace, monkeypatch) -> None:
    project = write_project(tmp_path / "p", retries=1)
    monkeypatch.setenv("AIRLOOP_TEST_FLAKY_MARKER", str(tmp_path / "flaky-marker"))
    outcome = run_train_dag(load_spec(project), workspace)
    assert outcome.ok
    split_events = [e for e in outcome.events if e["task"] == "split" and e["event"] != "start"]
    assert [(e["event"], e["try"], e["final"] if e["event"] == "failed" else None) for e in split_events] == [
        ("failed", 1, False),
        ("success", 2, None),
    ]
    assert "transient failure" in split_events[0]["error"]


def test_landed_files_join_the_data_or_are_rejected(tmp_path: Path, workspace) -> None:
    project = write_project(tmp_path / "p", min_auc=0.0, extra="  # landing\n")
    spec_text = project.read_text().replace("  target: label\n", "  target: label\n  incoming: incoming\n")
    project.write_text(spec_text)
    incoming = tmp_path / "p" / "incoming"
    incoming.mkdir()
    train_with_steps(project, workspace)  # the first champion and contract
    make_frame(200, seed=7, start="2024-04-01").to_csv(incoming / "april.csv", index=False)
    (incoming / "_READY").write_text("")  # the watcher's marker; dag.test runs without a triggerer
    good = run_train_dag(load_spec(project), workspace)
    assert good.ok
    assert not (incoming / "april.csv").exists()
    assert (tmp_path / "p" / "data" / "april.csv").exists()  # accepted: now part of the data
    assert good.outputs()["rows"] == 1400
    assert not (incoming / "_READY").exists()  # spent: every file it vouched for is settled
    bad = make_frame(200, seed=8, start="2024-05-01")
    bad["color"] = "purple"
    bad.to_csv(incoming / "may.csv", index=False)
    (incoming / "_READY").write_text("")
    rejected = run_train_dag(load_spec(project), workspace)
    assert not rejected.ok
    assert rejected.final_failure()["task"] == "validate"
    assert (incoming / "rejected" / "may.csv").exists()
    assert "unseen_category" in (incoming / "rejected" / "may.csv.report.txt").read_text()
    assert not (tmp_path / "p" / "data" / "may.csv").exists()
    tracker = _tracker(workspace)
    assert tracker.aliases("tiny")["champion"] in ("1", "2")
    assert len(tracker.version_numbers("tiny")) == 2  # the rejected run registered nothing
    again = run_train_dag(load_spec(project), workspace)
    assert again.ok  # the bad batch blocked one run only
    # ... and that run's data (the same as v2's) is not trained twice: Airflow skips after validate
    assert again.outputs()["same_inputs_as"] == "2"
    states = {t["task_id"]: t["state"] for t in again.result["tasks"]}
    assert states["validate"] == "success"
    assert states["train"] == states["promote"] == "skipped"
    assert len(tracker.version_numbers("tiny")) == 2


def test_an_approval_no_one_can_give_keeps_the_candidate_as_challenger(project: Path, workspace) -> None:
    """`airloop run` (dag.test) has no API server: the approval task is marked done unanswered,
    so a passed candidate is registered but not promoted, and says why."""
    text = project.read_text().replace("  min_improvement: 0.01\n", "  min_improvement: 0.01\n  approval: required\n")
    project.write_text(text)
    outcome = run_train_dag(load_spec(project), workspace)
    assert outcome.ok, outcome.events[-1]
    states = {t["task_id"]: t["state"] for t in outcome.result["tasks"]}
    assert states["approve"] == states["promote"] == "success"
    tracker = _tracker(workspace)
    assert tracker.aliases("tiny") == {"challenger": "1"}
    tags = tracker.version("tiny", "1").tags
    assert tags[Tag.GATE] == "passed"
    assert tags[Tag.APPROVAL] == "not asked"
