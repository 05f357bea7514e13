"""The same train DAG on Airflow's CeleryExecutor: Redis broker, PostgreSQL metadata DB, and
every task executed by a real `airflow celery worker` (`airloop run` hands them to the
CeleryExecutor the environment configures)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.celery import celery_env, start, stop, wait_up
from helpers.projects import write_project
from helpers.server import free_port
from helpers.services import require

from airloop.local.embedded import airflow_env, compile_dag_file, run_train_dag
from airloop.local.stack import write_local_settings
from airloop.spec import load_spec
from airloop.workspace import Workspace

pytestmark = pytest.mark.services
REDIS_DB = 7


def test_train_dag_on_celery_workers(tmp_path: Path, pg_database: str, monkeypatch) -> None:
    require("127.0.0.1", 6379, "Redis")
    import redis

    broker = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    broker.flushdb()  # messages left by an aborted run would reach this worker
    api_port = free_port()
    env_vars = {
        **celery_env(pg_database, api_port, REDIS_DB),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
    }
    for key, value in env_vars.items():
        monkeypatch.setenv(key, value)
    spec = write_project(tmp_path / "p", min_auc=0.0)
    ws = Workspace(tmp_path / "ws")
    loaded = load_spec(spec)
    compile_dag_file(loaded, ws)
    write_local_settings(ws)  # the worker imports the step libraries once, not in every task
    env = {**os.environ, **airflow_env(ws), "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO"}
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = [
        start([airflow, "api-server"], env, logs / "api.log"),
        start([airflow, "celery", "worker"], env, logs / "worker.log"),
    ]
    try:
        wait_up(api_port, procs, logs, [logs / "worker.log"])
        outcome = run_train_dag(loaded, ws)
        assert outcome.ok, outcome.result
        worker_log = (logs / "worker.log").read_text()
        ran = set(re.findall(r"Executing workload in Celery: .*?task_id='(\w+)'", worker_log))
        expected = {t["task_id"] for t in outcome.result["tasks"]}
        assert ran == expected, (ran, expected)
        # `airloop run` follows the steps a worker ran (the events file, named in the run's conf)
        assert {e["task"] for e in outcome.events if e["event"] == "success"} == expected
        mapped = re.findall(r"task_id='tune_trials'.*?map_index=(\d+)", worker_log)
        assert sorted(set(mapped)) == ["0", "1"]
        from airloop.tracking import Tracker

        assert Tracker(ws).aliases("tiny") == {"champion": "1"}
    finally:
        stop(procs)
        broker.flushdb()
