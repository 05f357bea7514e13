"""A train run trains only when it has something new to learn: the same inputs are not trained
twice; landed data can wait for the monitor's request; a passed gate can refit on all rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.projects import make_frame, train_with_steps, write_landing_project, write_project

from airloop.data.requests import RetrainRequests
from airloop.tracking import Tracker
from airloop.tracking.tags import Tag
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


def test_the_same_inputs_train_once(tmp_path: Path) -> None:
    spec = write_project(tmp_path / "p", min_auc=0.0)
    ws = Workspace(tmp_path / "ws")
    first = train_with_steps(spec, ws, run_id="r1")
    again = train_with_steps(spec, ws, run_id="r2")  # e.g. a retrain request with no new data
    assert again["same_inputs_as"] == first["version"] == "1"
    assert again["skip_training"].startswith("same inputs as v1 (data fingerprint, spec hash, code version)")
    assert "version" not in again  # nothing registered
    tracker = Tracker(ws)
    assert tracker.version_numbers("tiny") == ["1"]
    run = tracker.client.get_run(again["mlflow_run_id"])
    assert run.data.tags[Tag.SAME_INPUTS_AS] == "1"
    assert run.info.status == "FINISHED"
    make_frame(200, seed=5, start="2024-03-01").to_csv(tmp_path / "p" / "data" / "march.csv", index=False)
    assert train_with_steps(spec, ws, run_id="r3")["version"] == "2"  # new data: trained


def test_landed_data_waits_for_a_retrain_request(tmp_path: Path) -> None:
    spec, incoming = write_landing_project(tmp_path / "p")
    spec.write_text(spec.read_text() + "monitoring:\n  train_on_new_data: when_requested\n")
    ws = Workspace(tmp_path / "ws")
    assert train_with_steps(spec, ws, run_id="r1")["version"] == "1"  # the first champion: data at hand
    make_frame(200, seed=7, start="2024-04-01").to_csv(incoming / "april.csv", index=False)
    (incoming / "_READY").write_text("")
    landed = train_with_steps(spec, ws, run_id="r2")
    assert landed["skip_training"].startswith("data accepted; training waits for the monitor's retrain request")
    assert (tmp_path / "p" / "data" / "april.csv").exists()  # validated and joined at once
    assert Tracker(ws).version_numbers("tiny") == ["1"]
    requests = RetrainRequests(ws.retrain_requests("tiny"))
    requests.make()  # what the monitor does when its policy asks
    trained = train_with_steps(spec, ws, run_id="r3")
    assert trained["version"] == "2"
    assert trained["rows"] == 1400  # April included
    assert requests.pending() == 0  # answered


def test_refit_on_all_rows_registers_the_refit_with_the_gates_evidence(tmp_path: Path) -> None:
    spec = write_project(tmp_path / "p", min_auc=0.0, extra="")
    spec.write_text(spec.read_text().replace("  min_improvement: 0.01\n", "  min_improvement: 0.01\n  refit: all\n"))
    ws = Workspace(tmp_path / "ws")
    refs = train_with_steps(spec, ws)
    assert refs["refit"]["done"]
    assert refs["refit"]["rows"] == refs["train_rows"] + refs["holdout_rows"]
    version = Tracker(ws).version("tiny", refs["version"])
    assert version.tags[Tag.REFIT] == "all"
    assert version.tags[Tag.REFIT_ROWS] == str(refs["train_rows"] + refs["holdout_rows"])
    assert version.tags[Tag.GATED_MODEL_URI] == refs["refit"]["gated_model_uri"] != refs["model_uri"]
    assert version.source == refs["model_uri"] or refs["model_id"] in version.source
    assert float(version.tags[Tag.metric("roc_auc")]) == pytest.approx(refs["metrics"]["roc_auc"], abs=1e-6)
