"""Bad input through the real `airloop` command: a clear message, a non-zero exit, nothing registered."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.projects import make_frame, train_with_steps, write_project

pytestmark = pytest.mark.integration


def airloop(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airloop.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def versions(ws: Path) -> list[str]:
    from airloop.tracking import Tracker
    from airloop.workspace import Workspace

    if not (ws / "mlflow" / "mlflow.db").exists():
        return []
    return Tracker(Workspace(ws)).version_numbers("tiny")


def test_missing_data_file(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", batches=1)
    (tmp_path / "p" / "data" / "part_0.csv").unlink()
    res = airloop("run", str(project), "--workspace", str(tmp_path / "ws"))
    assert res.returncode == 2, res.stdout + res.stderr  # said before Airflow starts (issue 7, finding 6)
    assert "airloop.yaml:5 [data.source.path]: no data file matches `data/*.csv`" in res.stderr
    assert "fix:" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "ws" / "airflow").exists()


def test_contract_violation_exit_and_report(tmp_path: Path) -> None:
    from airloop.workspace import Workspace

    project = write_project(tmp_path / "p")
    ws = tmp_path / "ws"
    train_with_steps(project, Workspace(ws))  # v1 and the contract (`airloop run` succeeding: see the promote test)
    bad = make_frame(100, seed=3, start="2024-05-01")
    bad["size"] = None  # a column that was never null
    bad.to_csv(tmp_path / "p" / "data" / "part_7.csv", index=False)
    res = airloop("run", str(project), "--workspace", str(ws))
    assert res.returncode == 4, res.stdout + res.stderr
    assert "step `validate` failed" in res.stderr
    assert "part_7.csv" in res.stderr
    assert "size" in res.stderr
    assert "null_rate" in res.stderr
    assert versions(ws) == ["1"]


def test_transform_that_raises(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p")
    res = airloop("run", str(project), "--workspace", str(tmp_path / "ws"), env={"AIRLOOP_TEST_TRANSFORM_RAISES": "1"})
    assert res.returncode == 5, res.stdout + res.stderr
    assert "transform `feats:add_features` raised ValueError: the transform is broken on purpose" in res.stderr
    assert versions(tmp_path / "ws") == []


def test_estimator_that_does_not_import(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", estimator="sklearn.linear_model.NoSuchModel")
    res = airloop("run", str(project), "--workspace", str(tmp_path / "ws"))
    assert res.returncode == 2, res.stdout + res.stderr
    assert "airloop.yaml:" in res.stderr
    assert "has no `NoSuchModel`" in res.stderr
    assert versions(tmp_path / "ws") == []
    res = airloop("validate", str(project))
    assert res.returncode == 2
    assert "NoSuchModel" in res.stderr


def test_a_store_that_is_down_is_named_before_anything_starts(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    project = write_project(tmp_path / "p")
    broker = {"AIRFLOW__CORE__EXECUTOR": "CeleryExecutor", "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{port}/0"}
    for env, named in [
        ({"AIRLOOP_AIRFLOW_DB": f"postgresql+psycopg2://a:pw@127.0.0.1:{port}/x"}, "Airflow's metadata database"),
        (broker, "the Celery broker"),
    ]:
        res = airloop("run", str(project), "--workspace", str(tmp_path / "ws"), env=env)
        assert res.returncode == 8, res.stdout + res.stderr
        assert f"{named} at 127.0.0.1:{port}" in res.stderr
        assert "Traceback" not in res.stderr
    assert not (tmp_path / "ws" / "airflow").exists()  # nothing started


def test_promote_and_rollback_by_hand(tmp_path: Path) -> None:
    from airloop.workspace import Workspace

    project = write_project(tmp_path / "p", min_auc=0.0)
    ws = tmp_path / "ws"
    assert train_with_steps(project, Workspace(ws), run_id="r1")["promoted"]  # v1 (`airloop run`'s summary:
    # tests/reliability/test_run_dies_with_its_command.py)
    worse = write_project(
        tmp_path / "q", estimator="sklearn.dummy.DummyClassifier", params="{}", search="{}", min_auc=0.0
    )
    train_with_steps(worse, Workspace(ws), run_id="r2")  # refused: challenger v2
    res = airloop("promote", str(project), "2", "--workspace", str(ws))
    assert res.returncode == 0, res.stderr
    assert "champion   v1 -> v2  (changed)" in res.stdout
    assert "previous   - -> v1  (changed)" in res.stdout
    res = airloop("rollback", str(project), "--workspace", str(ws))
    assert res.returncode == 0, res.stderr
    assert "champion   v2 -> v1  (changed)" in res.stdout
    assert "previous   v1 -> v2  (changed)" in res.stdout
    res = airloop("promote", str(project), "9", "--workspace", str(ws))
    assert res.returncode == 6
    assert "has no version 9" in res.stderr
    status = airloop("status", str(project), "--workspace", str(ws))
    assert status.returncode == 0
    assert "champion" in status.stdout
    assert "refused" in status.stdout
