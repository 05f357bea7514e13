"""The local stack's own files: which processes `airloop up` started, where Airflow answers, the admin password.

Owned here so that the stack (which writes them) and the REST client and status (which read
them) do not import each other. Files: ``<workspace>/run/<process>.pid`` (the process group),
``<workspace>/run/<process>.proc`` (which process that was: boot id and start time, so that a pid
the system has since given to another program is not taken for the stack's),
``<workspace>/run/owner.json`` (the `airloop up` that holds the stack), ``<workspace>/run/stack.json``
and ``<workspace>/airflow/passwords.json``.
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


def _identity_file(ws: Workspace, process: str) -> Path:
    return ws.state_dir / f"{process}.proc"


def identity(pid: int) -> str | None:
    """Boot id and start time of ``pid`` (Linux), None where /proc does not tell. Two processes
    never share both, so a recorded pid that now names another program is recognised as stale."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        started = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].split()[19]
    except (OSError, IndexError):
        return None
    return f"{boot} {started}"


def record_pid(ws: Workspace, process: str, pid: int) -> None:
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    pid_file(ws, process).write_text(str(pid))
    _identity_file(ws, process).write_text(identity(pid) or "")


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
    _identity_file(ws, process).unlink(missing_ok=True)


def ours(ws: Workspace, process: str, pgid: int) -> bool:
    """False when the recorded leader's pid now belongs to another program (a reboot, or a pid
    reused long after the stack died). A group whose leader is gone but whose members live on is
    still ours: the kernel does not hand out a pid that is some group's id."""
    path = _identity_file(ws, process)
    recorded = path.read_text().strip() if path.exists() else ""
    now = identity(pgid)
    return not (recorded and now and now != recorded)


def members(pgid: int) -> list[int]:
    """Live (not zombie) processes of the process group ``pgid``."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split(") ")[-1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def groups(ws: Workspace) -> dict[str, int]:
    """The recorded process groups that are the stack's; stale records (pid reused) are dropped."""
    out = {}
    for name, pgid in recorded_pids(ws).items():
        if ours(ws, name, pgid):
            out[name] = pgid
        else:
            forget(ws, name)
    return out


def running(ws: Workspace) -> dict[str, int]:
    """The stack's process groups with a process left: the leader, or a child it left behind."""
    return {name: pgid for name, pgid in groups(ws).items() if alive(pgid) or members(pgid)}


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


def record_owner(ws: Workspace, pid: int | None) -> None:
    """The `airloop up` that stops the stack when it ends (None: started with --detach)."""
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    owner = {"pid": pid, "proc": identity(pid) if pid else None}
    (ws.state_dir / "owner.json").write_text(json.dumps(owner))


def owner(ws: Workspace) -> dict[str, Any] | None:
    """The recorded `airloop up`: its pid (None if detached) and whether it still runs."""
    path = ws.state_dir / "owner.json"
    if not path.exists():
        return None
    rec = json.loads(path.read_text())
    pid = rec.get("pid")
    live = bool(pid) and alive(pid) and (not rec.get("proc") or identity(pid) == rec["proc"])
    return {"pid": pid, "alive": live}


def forget_owner(ws: Workspace) -> None:
    (ws.state_dir / "owner.json").unlink(missing_ok=True)


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
