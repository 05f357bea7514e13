"""Issue 24, finding 10: the workspace is the user's alone (before: predictions.db, airflow.db and
mlflow.db were 0644 in 0755 folders, so every logged request was readable by every local user).
airloop runs with umask 077 and starts every process with it; the root of an existing workspace is
closed (0700 on the root closes everything below it, whatever the files' own modes)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.projects import write_project

from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_the_cli_creates_a_private_workspace_and_closes_an_old_one(tmp_path: Path, record_property) -> None:
    spec = write_project(tmp_path / "p", batches=1, rows=60)
    new, old = Workspace(tmp_path / "new"), Workspace(tmp_path / "old")
    log = old.prediction_log("tiny")
    log.parent.mkdir(parents=True)
    log.write_bytes(b"")
    for path, mode in ((old.root, 0o755), (log.parent.parent, 0o755), (log.parent, 0o755), (log, 0o644)):
        path.chmod(mode)
    for ws in (new, old):
        cmd = [sys.executable, "-m", "airloop.cli", "compile", str(spec), "--workspace", str(ws.root)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    dag_file = next(new.dags_folder.glob("*.py"))
    modes = {
        "new root": _mode(new.root),
        "new dags folder": _mode(new.dags_folder),
        "new DAG file": _mode(dag_file),
        "old root": _mode(old.root),
    }
    assert modes == {"new root": "0o700", "new dags folder": "0o700", "new DAG file": "0o600", "old root": "0o700"}
    record_property(
        "observed",
        "a new workspace: root and folders 0700, files 0600; an existing 0755 workspace's root closed to 0700",
    )


def test_the_stacks_processes_write_private_files(tmp_path: Path, record_property) -> None:
    """What Airflow, MLflow and the server create (SQLite files with their -wal/-shm, logs) is 0600
    even when the caller's umask is 022; Airflow's task logs, which it chmods itself, too."""
    from airloop.local import stack
    from airloop.local.embedded import airflow_env

    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    db, note = tmp_path / "ws" / "child.db", tmp_path / "ws" / "child.txt"
    writer = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('pragma journal_mode=wal'); "
        "c.execute('create table t (x)'); c.execute('insert into t values (1)'); c.commit(); "
        "open(sys.argv[2], 'w').write('x'); import time; time.sleep(0.3)"
    )
    previous = os.umask(0o022)
    try:
        pid = stack._start(ws, "serve", [sys.executable, "-c", writer, str(db), str(note)], dict(os.environ))
    finally:
        os.umask(previous)
    deadline = time.time() + 20
    while not note.exists() and time.time() < deadline:
        time.sleep(0.05)
    wal = db.with_name("child.db-wal")
    assert wal.exists()
    modes = {p.name: _mode(p) for p in (db, wal, note, ws.logs / "serve.log")}
    os.waitpid(pid, 0)
    assert modes == {"child.db": "0o600", "child.db-wal": "0o600", "child.txt": "0o600", "serve.log": "0o600"}
    env = airflow_env(ws)
    assert env["AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS"] == "0o600"
    assert env["AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS"] == "0o700"
    record_property("observed", "a stack process (caller's umask 022) wrote its SQLite DB, WAL, files and log 0600")
