"""A CeleryExecutor stack for tests/services: the environment every process shares, starting and
stopping Airflow's processes in groups of their own, and waiting until the API server and the
workers answer."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest


def celery_env(pg_airflow: str, api_port: int, redis_db: int) -> dict[str, str]:
    """Airflow's DB on PostgreSQL, a Redis broker db of the test's own, and the API server the
    workers report to."""
    return {
        "AIRLOOP_AIRFLOW_DB": pg_airflow,
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{pg_airflow}",
        # a message is not handed out again while a test runs (Redis re-delivers after this)
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",  # the worker log names every task it runs
    }


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)


def wait_up(api_port: int, procs: list[subprocess.Popen], logs: Path, workers: list[Path]) -> None:
    """Until the API server is healthy and every worker log says `ready.`; a process that exits
    meanwhile fails the test with the logs' tails."""
    deadline = time.time() + 120
    while time.time() < deadline:
        assert all(p.poll() is None for p in procs), [(f.name, f.read_text()[-1500:]) for f in logs.iterdir()]
        try:
            healthy = urllib.request.urlopen(f"http://127.0.0.1:{api_port}/api/v2/monitor/health", timeout=2)
            if healthy.status == 200 and all("ready." in w.read_text() for w in workers):
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail("api-server or celery workers did not come up in 120 s")
