"""Issue 7, finding 3: `kill -9` of `airloop run` takes its Airflow child with it (before: the child
went on and registered a version for a command that had died), and runs of one project never overlap."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from helpers.projects import write_project

pytestmark = pytest.mark.integration


def _start(project: Path, ws: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "AIRLOOP_TEST_TRANSFORM_SLEEP": "0.3"}
    cmd = [sys.executable, "-m", "airloop.cli", "run", str(project), "--workspace", str(ws)]
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def _wait_for_task(ws: Path, task: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for events in (ws / "logs").glob("run-*.events.jsonl"):
            for line in events.read_text().splitlines():
                if json.loads(line).get("task") == task:
                    return
        time.sleep(0.2)
    raise AssertionError(f"{task} never started")


def test_kill_9_of_the_command_kills_the_run_and_a_rerun_succeeds(tmp_path: Path, record_property) -> None:
    from airloop.tracking import Tracker
    from airloop.workspace import Workspace

    project = write_project(tmp_path / "p", min_auc=0.0)
    ws = tmp_path / "ws"
    cmd = _start(project, ws, tmp_path / "run.log")
    _wait_for_task(ws, "tune_trials")
    children = psutil.Process(cmd.pid).children(recursive=True)
    assert children, "the Airflow run should be a child process"

    second = subprocess.run(
        [sys.executable, "-m", "airloop.cli", "run", str(project), "--workspace", str(ws)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert second.returncode == 8, second.stdout + second.stderr  # refused, not racing the first
    assert f"another run of `tiny` is in progress in this workspace (pid {cmd.pid})" in second.stderr

    cmd.send_signal(signal.SIGKILL)
    cmd.wait(10)
    killed_at = time.time()
    gone, alive = psutil.wait_procs(children, timeout=10)
    child_gone = time.time() - killed_at
    assert not alive, f"orphaned: {alive}"
    tracker = Tracker(Workspace(ws))
    assert tracker.version_numbers("tiny") == []  # nothing registered after the command died

    rerun = subprocess.run(
        [sys.executable, "-m", "airloop.cli", "run", str(project), "--workspace", str(ws)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr  # no stale lock, no half state in the way
    # the summary a user reads after a run (tests/integration/test_cli_errors.py reads the failures')
    assert "gate: PASSED" in rerun.stdout
    assert "registered v1: promoted to champion (was none)" in rerun.stdout
    assert "positive class 1 of [0, 1]: 1 reads as the positive answer" in rerun.stdout
    assert tracker.aliases("tiny") == {"champion": "1"}
    record_property(
        "observed",
        f"child gone {child_gone:.1f} s after kill -9 during tune_trials; nothing registered; "
        "a second run refused (exit 8); the rerun made v1 champion",
    )
