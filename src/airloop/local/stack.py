"""`airloop up` / `airloop down`: the embedded stack in the workspace.

``airflow standalone`` (scheduler, dag-processor, triggerer, API server; SQLite, LocalExecutor,
low parallelism), the prediction service, and optionally the MLflow UI, each in its own process
group with its PID recorded in ``<workspace>/run/``. ``down`` sends SIGINT (standalone stops its
children on SIGINT, not on SIGTERM), waits, and checks that no process of those groups is left.
Every process starts with umask 077: what Airflow, MLflow and the server write (the metadata DB,
task logs, the prediction log) is the user's alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from airloop.errors import EnvironmentProblem
from airloop.local import state
from airloop.local.embedded import airflow_env, compile_dag_file
from airloop.local.reach import check_reachable
from airloop.spec import LoadedSpec
from airloop.steps.promote import SERVE_URL_ENV
from airloop.workspace import Workspace


@dataclass
class Ports:
    api: int = 8080
    serve: int = 8000
    mlflow: int = 5000


def stack_env(ws: Workspace, ports: Ports, parallelism: int = 4) -> dict[str, str]:
    state.admin_password(ws)  # generated before Airflow reads the file
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        **airflow_env(ws),
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),  # standalone starts `airflow` itself
        "AIRFLOW__API__PORT": str(ports.api),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{ports.api}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{ports.api}/execution/",
        # The scheduler's and triggerer's log servers ("airflow serve-logs") bind every interface:
        # Airflow 3.3 has no host setting for them (utils/serve_logs/core.py: host=""). They answer
        # only requests carrying a JWT signed with [api] secret_key for one log file.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{state.ADMIN}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(ws.passwords_file),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        # The scheduler sleeps this long only after a loop that found nothing to do (default 1 s):
        # the wait between one task's end and the next one's start. Idle CPU of the stack measured at
        # 6% of a core at 1 s, 9% at 0.25 s, 20% at 0.1 s.
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": os.environ.get(
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME", "0.25"
        ),
        # promote asks the server here to swap at once instead of at its next registry poll
        SERVE_URL_ENV: f"http://127.0.0.1:{ports.serve}",
    }


def write_local_settings(ws: Workspace) -> Path:
    """AIRFLOW_HOME/config/airflow_local_settings.py: the scheduler preloads the steps' libraries
    before it forks its LocalExecutor workers, so task processes inherit them (airloop.airflow.preload)."""
    from airloop.airflow.preload import LOCAL_SETTINGS

    path = ws.airflow_local_settings
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != LOCAL_SETTINGS:
        path.write_text(LOCAL_SETTINGS)
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PRIVATE_UMASK = 0o077


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def _start(ws: Workspace, name: str, cmd: list[str], env: dict[str, str]) -> int:
    ws.logs.mkdir(parents=True, exist_ok=True)
    with open(ws.logs / f"{name}.log", "ab", opener=_private) as log:
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            umask=PRIVATE_UMASK,
        )
    state.record_pid(ws, name, proc.pid)
    return proc.pid


def _wait_http(url: str, timeout: float, pid: int, what: str, log: Path) -> float:
    started = time.time()
    while time.time() - started < timeout:
        if not state.alive(pid):
            raise EnvironmentProblem(f"{what} exited while starting", hint=f"see {log}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.time() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise EnvironmentProblem(f"{what} did not answer {url} within {timeout:.0f}s", hint=f"see {log}")


def up(
    loaded: LoadedSpec,
    ws: Workspace,
    ports: Ports,
    mlflow_ui: bool = False,
    serve: bool = True,
    timeout: float = 180,
    owner: int | None = None,
) -> dict[str, Any]:
    """Start the stack; ``owner`` is the pid of the command that stops it when it ends (None: detached).
    A start that fails stops what it had started (a signal is the caller's to handle: see supervise)."""
    ws.make_private()
    refuse_if_running(ws)
    _check_ports(ports, serve, mlflow_ui)
    check_reachable()
    state.record_owner(ws, owner)
    try:
        return _up(loaded, ws, ports, mlflow_ui, serve, timeout)
    except Exception:
        down(ws)
        raise


def refuse_if_running(ws: Workspace) -> None:
    """Refuse a second stack in one workspace, saying whose the running one is and how to stop it.
    Records of processes that are gone (the machine restarted, `up` was killed with its stack) are dropped."""
    already = state.running(ws)
    if not already:
        for name in state.recorded_pids(ws):
            state.forget(ws, name)
        return
    procs = ", ".join(f"{name} (pid {pid})" for name, pid in already.items())
    holder = state.owner(ws)
    if holder and holder["pid"] and not holder["alive"]:
        raise EnvironmentProblem(
            f"the `airloop up` (pid {holder['pid']}) that started the stack in {ws.root} is gone "
            f"(killed?), and its processes run on: {procs}",
            hint="stop them with `airloop down`, then `airloop up` again",
        )
    if holder and holder["pid"]:
        raise EnvironmentProblem(
            f"the stack is already up in {ws.root} ({procs}), held by `airloop up` (pid {holder['pid']})",
            hint=f"stop it with Ctrl-C where it runs (or `kill {holder['pid']}`), or with `airloop down`",
        )
    raise EnvironmentProblem(f"the stack is already up in {ws.root} ({procs})", hint="stop it with `airloop down`")


def _check_ports(ports: Ports, serve: bool, mlflow_ui: bool) -> None:
    """Before anything starts: a port another program holds is refused now, by name, instead of
    Airflow failing to bind somewhere in its log (or answering for someone else's server)."""
    from airloop.serving.server import check_port

    check_port("127.0.0.1", ports.api, "--api-port")
    if serve:
        check_port("127.0.0.1", ports.serve, "--serve-port")
    if mlflow_ui:
        check_port("127.0.0.1", ports.mlflow, "--mlflow-port")


def _up(
    loaded: LoadedSpec, ws: Workspace, ports: Ports, mlflow_ui: bool, serve: bool, timeout: float
) -> dict[str, Any]:
    compile_dag_file(loaded, ws)
    write_local_settings(ws)
    env = stack_env(ws, ports)
    password = state.admin_password(ws)
    info: dict[str, Any] = {
        "workspace": str(ws.root),
        "airflow": f"http://127.0.0.1:{ports.api}",
        "user": state.ADMIN,
        "password": password,
    }
    pid = _start(ws, "standalone", [str(Path(sys.executable).parent / "airflow"), "standalone"], env)
    info["airflow_seconds"] = _wait_http(
        f"http://127.0.0.1:{ports.api}/api/v2/monitor/health",
        timeout,
        pid,
        "airflow standalone",
        ws.logs / "standalone.log",
    )
    _unpause(info["airflow"], password, loaded, timeout)
    if serve:
        info["serve"] = _start_server(loaded, ws, ports, env)
    if mlflow_ui:
        info["mlflow"] = _start_mlflow_ui(ws, ports, env)
    state.write_stack(ws, {**info, "ports": ports.__dict__})
    return info


def _start_server(loaded: LoadedSpec, ws: Workspace, ports: Ports, env: dict[str, str]) -> str | None:
    """`airloop serve` for the champion; None when there is none yet (`up` again after the first run)."""
    from airloop.tracking import Tracker
    from airloop.tracking.tags import CHAMPION

    if not Tracker(ws).alias_version(loaded.spec.name, CHAMPION):
        return None
    cmd = [sys.executable, "-m", "airloop.cli", "serve", str(loaded.path), "--workspace", str(ws.root)]
    pid = _start(ws, "serve", [*cmd, "--port", str(ports.serve)], env)
    _wait_http(f"http://127.0.0.1:{ports.serve}/ready", 120, pid, "airloop serve", ws.logs / "serve.log")
    return f"http://127.0.0.1:{ports.serve}"


def _start_mlflow_ui(ws: Workspace, ports: Ports, env: dict[str, str]) -> str:
    cmd = [str(Path(sys.executable).parent / "mlflow"), "ui", "--backend-store-uri", ws.tracking_uri]
    pid = _start(ws, "mlflow-ui", [*cmd, "--host", "127.0.0.1", "--port", str(ports.mlflow)], env)
    _wait_http(f"http://127.0.0.1:{ports.mlflow}/", 120, pid, "mlflow ui", ws.logs / "mlflow-ui.log")
    return f"http://127.0.0.1:{ports.mlflow}"


def _unpause(base: str, password: str, loaded: LoadedSpec, timeout: float) -> None:
    """The project's DAGs, active: DAGs start paused when anything created them first (a dag.test
    run, an earlier stack), and watchers only run for unpaused DAGs."""
    from airloop.local.rest import AirflowAPI
    from airloop.plan import dag_ids

    api = AirflowAPI(base, state.ADMIN, password)
    wanted = set(dag_ids(loaded.spec.name, score=bool(loaded.spec.scoring.incoming)))
    api.wait_for_dags(wanted, timeout)
    for dag in api.get("/api/v2/dags?limit=1000")["dags"]:
        if dag["dag_id"] in wanted and dag["is_paused"]:
            api.unpause(dag["dag_id"])


_group_members = state.members


def down(ws: Workspace, timeout: float = 30, term_after: float = 8) -> dict[str, Any]:
    """Stop every process `up` started, gracefully if at all possible (5-7 s on an idle machine).

    1. SIGINT: ``airflow standalone`` gets it on its own PID, not on its group, and answers by
       sending SIGTERM to each component (a group-wide SIGINT would reach the scheduler twice, and
       a scheduler signalled twice can wait forever at exit for LocalExecutor workers that never
       got their stop message). Other processes get it on their group.
    2. After ``term_after`` seconds, SIGTERM to every process still in the group, once: a
       component whose exit waits on a worker (seen: the scheduler, 1 run in 4 under load) then
       finishes, because the worker does.
    3. At ``timeout``, SIGKILL, reported as "had to be killed".
    What lingered after each stage is in the report, by command."""
    stopped: dict[str, Any] = {}
    for name, pgid in state.groups(ws).items():
        started = time.time()
        lingered: list[str] = []
        if _group_members(pgid):
            _signal(os.kill if name == "standalone" else os.killpg, pgid, signal.SIGINT)
            _wait_empty(pgid, started + term_after)
        if _group_members(pgid):
            lingered = [_command(pid) for pid in _group_members(pgid)]
            for pid in _group_members(pgid):
                _signal(os.kill, pid, signal.SIGTERM)
            _wait_empty(pgid, started + timeout)
        left = _group_members(pgid)
        if left:
            _signal(os.killpg, pgid, signal.SIGKILL)
            time.sleep(1)
        stopped[name] = {
            "seconds": round(time.time() - started, 1),
            "killed": bool(left),
            "left": _group_members(pgid),
            "lingered": lingered,
        }
        state.forget(ws, name)
    state.forget_owner(ws)
    return stopped


def _signal(send: Callable[[int, int], None], target: int, sig: int) -> None:
    try:
        send(target, sig)
    except ProcessLookupError:  # gone meanwhile
        pass


def _wait_empty(pgid: int, until: float) -> None:
    while _group_members(pgid) and time.time() < until:
        time.sleep(0.2)


def _command(pid: int) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return str(pid)
    text = " ".join(w.decode(errors="replace") for w in words if w)
    return f"{pid} {text[:80]}"
