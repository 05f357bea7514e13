"""Embedded Airflow on SQLite: compile the DAG file into the workspace and run it with dag.test().

The run happens in a child process that gets the workspace's environment before Airflow is
imported; this process follows its progress through the steps' event file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airloop.errors import EnvironmentProblem
from airloop.local.reach import check_reachable
from airloop.spec import LoadedSpec
from airloop.workspace import Workspace

QUIET_AIRFLOW = "airflow=WARNING task=WARNING task.stdout=INFO task.stderr=INFO supervisor=WARNING sqlalchemy=WARNING"


def airflow_env(ws: Workspace) -> dict[str, str]:
    """Environment for Airflow and MLflow processes that use this workspace."""
    return {
        "AIRFLOW_HOME": str(ws.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ws.dags_folder),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": ws.airflow_db_url,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # Task logs tell what each step did at INFO (steps.runner.tell); Airflow's own chatter (its
        # structlog loggers: task lifecycle, supervisor, operators) stays at WARNING. A global
        # WARNING hid the steps' lines too: every task log was empty.
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"),
        "AIRFLOW__LOGGING__NAMESPACE_LEVELS": os.environ.get("AIRFLOW__LOGGING__NAMESPACE_LEVELS", QUIET_AIRFLOW),
        "AIRFLOW__LOGGING__UVICORN_LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__UVICORN_LOGGING_LEVEL", "WARNING"),
        # Airflow chmods task logs to these (default 0o664 / 0o775, whatever the umask): the user's alone
        "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS": "0o600",
        "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS": "0o700",
        "AIRLOOP_WORKSPACE": str(ws.root),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "PYTHONWARNINGS": "ignore",
        **ws.mlflow_env(),
    }


def compile_dag_file(loaded: LoadedSpec, ws: Workspace, folder: Path | None = None) -> Path:
    from airloop.airflow.dagfile import file_name, render

    target = (folder or ws.dags_folder) / file_name(loaded.spec.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render(loaded.spec.name, loaded.path, ws.root)
    if not target.exists() or target.read_text() != text:
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(target)
    return target


@dataclass
class RunOutcome:
    state: str
    run_id: str | None
    wall_seconds: float
    events: list[dict[str, Any]]
    result: dict[str, Any] = field(default_factory=dict)
    log_file: Path | None = None

    @property
    def ok(self) -> bool:
        return self.state == "success"

    def outputs(self) -> dict[str, Any]:
        """Merged outputs of every successful step (the small summaries the runner records)."""
        merged: dict[str, Any] = {}
        for e in self.events:
            if e["event"] == "success":
                merged.update(e.get("output") or {})
        return merged

    def step_seconds(self) -> dict[str, float]:
        """Seconds per task id, summed over mapped instances and tries."""
        out: dict[str, float] = {}
        for e in self.events:
            if e["event"] in ("success", "failed"):
                out[e["task"]] = out.get(e["task"], 0.0) + float(e.get("seconds", 0.0))
        return out

    def span(self, first: str, last: str) -> float | None:
        """Wall seconds from the start of task ``first`` to the end of task ``last``."""
        starts = [e["ts"] for e in self.events if e["task"] == first and e["event"] == "start"]
        ends = [e["ts"] for e in self.events if e["task"] == last and e["event"] == "success"]
        return max(ends) - min(starts) if starts and ends else None

    def final_failure(self) -> dict[str, Any] | None:
        fails = [e for e in self.events if e["event"] == "failed" and e.get("final")]
        return fails[0] if fails else None


def run_train_dag(
    loaded: LoadedSpec, ws: Workspace, on_event: Callable[[dict[str, Any]], None] | None = None, poll: float = 0.1
) -> RunOutcome:
    from airloop.plan import train_dag_id

    return run_dag(loaded, ws, train_dag_id(loaded.spec.name), on_event, poll)


@contextmanager
def run_lock(ws: Workspace, name: str) -> Iterator[None]:
    """One `airloop run` per project and workspace at a time: a second one refuses instead of racing
    the first on the same stores. The kernel drops the lock when its holder dies, so none goes stale."""
    import fcntl

    path = ws.project(name) / "run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise EnvironmentProblem(
                f"another run of `{name}` is in progress in this workspace ({holder})",
                hint="wait for it to finish, or stop it; runs of one project never overlap",
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _child_env(ws: Workspace, events_file: Path) -> dict[str, str]:
    """The workspace's Airflow settings, where to write events, and who the parent is (the child
    dies with it: see airloop.airflow.testrun)."""
    return {
        **os.environ,
        **airflow_env(ws),
        "AIRLOOP_EVENTS_FILE": str(events_file),
        "AIRLOOP_PARENT_PID": str(os.getpid()),
    }


def run_dag(
    loaded: LoadedSpec,
    ws: Workspace,
    dag_id: str,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    poll: float = 0.1,
) -> RunOutcome:
    """Run one of the project's DAGs once with dag.test() in a child process (umask 077), following its events."""
    check_reachable()
    ws.make_private()
    ws.logs.mkdir(parents=True, exist_ok=True)
    dag_file = compile_dag_file(loaded, ws)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    events_file = ws.logs / f"run-{loaded.spec.name}-{stamp}-{os.getpid()}.events.jsonl"
    result_file = events_file.with_suffix("").with_suffix(".result.json")
    log_file = events_file.with_suffix("").with_suffix(".log")
    events_file.touch()
    started = time.perf_counter()
    with run_lock(ws, loaded.spec.name), open(log_file, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airloop.airflow.testrun",
                str(dag_file),
                dag_id,
                str(result_file),
            ],
            env=_child_env(ws, events_file),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            umask=0o077,
        )
        events: list[dict[str, Any]] = []
        with open(events_file) as fh:
            while True:
                done = proc.poll() is not None
                for line in fh.readlines():
                    event = json.loads(line)
                    events.append(event)
                    if on_event:
                        on_event(event)
                if done:
                    break
                try:  # returns as soon as the child exits instead of sleeping out the interval
                    proc.wait(timeout=poll)
                except subprocess.TimeoutExpired:
                    pass
    wall = time.perf_counter() - started
    if not result_file.exists():
        tail = "".join(log_file.read_text().splitlines(keepends=True)[-20:])
        raise EnvironmentProblem(
            f"the embedded Airflow run exited with code {proc.returncode} before finishing:\n{tail}",
            hint=f"see the full log in {log_file}",
        )
    result = json.loads(result_file.read_text())
    if result["state"] == "import_error":
        raise EnvironmentProblem(f"Airflow could not load the DAG file: {result['error']}", hint=f"see {log_file}")
    return RunOutcome(result["state"], result.get("run_id"), wall, events, result, log_file)
