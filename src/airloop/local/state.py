"""The local stack's own files: which processes `airloop up` started, where Airflow answers, the admin password.

Owned here so that the stack (which writes them) and the REST client and status (which read
them) do not import each other. Files: ``<workspace>/run/<process>.pid``,
``<workspace>/run/stack.json`` and ``<workspace>/airflow/passwords.json``.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from airloop.workspace import Workspace

# stop order: the service first, Airflow last
PROCESSES = ("serve", "mlflow-ui", "standalone")
ADMIN = "admin"


def pid_file(ws: Workspace, process: str) -> Path:
    return ws.state_dir / f"{process}.pid"


def record_pid(ws: Workspace, process: str, pid: int) -> None:
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    pid_file(ws, process).write_text(str(pid))


def recorded_pids(ws: Workspace) -> dict[str, int]:
    """Every process group `up` recorded, alive or not (``down`` decides)."""
    out = {}
    for name in PROCESSES:
        path = pid_file(ws, name)
        if path.exists():
            out[name] = int(path.read_text())
    return out


def forget(ws: Workspace, process: str) -> None:
    pid_file(ws, process).unlink(missing_ok=True)


def running(ws: Workspace) -> dict[str, int]:
    return {name: pid for name, pid in recorded_pids(ws).items() if alive(pid)}


def alive(pid: int) -> bool:
    """True for a live process; a zombie (exited, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state = Path(f"/proc/{pid}/stat")
    try:
        return not state.read_text().split(") ")[-1].startswith("Z")
    except OSError:
        return False


def write_stack(ws: Workspace, info: dict[str, Any]) -> None:
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    (ws.state_dir / "stack.json").write_text(json.dumps({**info, "password": None}))


def read_stack(ws: Workspace) -> dict[str, Any] | None:
    """What the running stack recorded (URLs, ports), or None when no stack was started here."""
    path = ws.state_dir / "stack.json"
    return json.loads(path.read_text()) if path.exists() else None


def admin_password(ws: Workspace) -> str:
    """Generated once per workspace and kept (0600): not all-admins mode, and stable across restarts."""
    path = ws.passwords_file
    if path.exists():
        return str(json.loads(path.read_text())[ADMIN])
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.write_text(json.dumps({ADMIN: password}))
    path.chmod(0o600)
    return password
