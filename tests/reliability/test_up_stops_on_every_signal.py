"""Issue 24, finding 9: `airloop up` stops its stack on SIGTERM and SIGHUP exactly as on SIGINT
(before: SIGTERM ended `up` in 2 s with no cleanup, and Airflow and the server ran on under PID 1),
also while the stack is still starting; and after `kill -9` of `up`, the next `up` says whose the
processes left running are and how to stop them.

Real processes stand in for Airflow and the server (a full stack costs a minute and ~1.8 GB): the
"standalone" stand-in behaves as `airflow standalone` does, it stops its child on SIGINT and
leaves it behind on SIGTERM, and writes down which signal it got."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from helpers.projects import write_project

from airloop.local import state
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration

# `airflow standalone` in small: a child in its own process group, stopped on SIGINT, orphaned on SIGTERM
STANDALONE = """\
import signal, subprocess, sys, time
log = sys.argv[1]
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
def on_signal(signum, frame):
    with open(log, "a") as fh:
        fh.write(signal.Signals(signum).name + "\\n")
    if signum == signal.SIGINT:
        child.terminate()
        child.wait()
    sys.exit(0)
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(sig, on_signal)
print("standalone up", flush=True)
while True:
    time.sleep(1)
"""

# `airloop up` on the real CLI -> stack.up -> stack.down path; only what would start Airflow and the
# server, and the HTTP waits, are replaced by the stand-ins (and the spec's data is not profiled: 2 s)
CLI_UP = """\
import sys, time
import airloop.spec
from airloop.local import stack

load_spec = airloop.spec.load_spec
airloop.spec.load_spec = lambda path, deep=False: load_spec(path)

standalone_py, signals_log = sys.argv[1], sys.argv[2]
real_start = stack._start

def start(ws, name, cmd, env):
    if name == "standalone":
        cmd = [sys.executable, standalone_py, signals_log]
    return real_start(ws, name, cmd, env)

def start_server(loaded, ws, ports, env):
    stack._start(ws, "serve", [sys.executable, "-c", "import time; time.sleep(120)"], env)
    return f"http://127.0.0.1:{ports.serve}"

stack._start = start
stack._start_server = start_server
stack._wait_http = lambda *a, **k: 0.0
stack._unpause = lambda *a, **k: None
if sys.argv[3] == "starting":  # a stack that is still starting when the signal comes
    stack._unpause = lambda *a, **k: time.sleep(120)
from airloop.cli import main
main(sys.argv[4:])
"""


def _groups(ws: Workspace) -> dict[str, int]:
    return {n: int(state.pid_file(ws, n).read_text()) for n in state.PROCESSES if state.pid_file(ws, n).exists()}


def _members(pgid: int) -> list[int]:
    return [p.pid for p in psutil.process_iter() if _pgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE]


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _live(pgids: dict[str, int]) -> dict[str, list[int]]:
    return {name: _members(pgid) for name, pgid in pgids.items() if _members(pgid)}


def _cleanup(proc: subprocess.Popen | None, ws: Workspace, pgids: dict[str, int] | None = None) -> None:
    """What a failing test left behind (the old code's orphans): SIGKILL to `up` and all it started."""
    groups = {*_groups(ws).values(), *(pgids or {}).values()}
    left = [pid for pgid in groups for pid in _members(pgid)]
    if proc is not None and proc.poll() is None:
        left += [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        proc.kill()
        proc.wait()
    for pid in set(left):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _wait_for(what: str, check, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Workspace, Path, Path]:
    spec = write_project(tmp_path / "p", batches=1, rows=60)
    standalone = tmp_path / "standalone.py"
    standalone.write_text(STANDALONE)
    script = tmp_path / "cli_up.py"
    script.write_text(CLI_UP)
    return spec, Workspace(tmp_path / "ws"), standalone, script


def _cli_up(project, *args: str, starting: bool = False) -> tuple[subprocess.Popen, Path]:
    from airloop.local.stack import free_port

    spec, ws, standalone, script = project
    signals_log = ws.root.parent / "signals.log"
    cmd = [sys.executable, str(script), str(standalone), str(signals_log), "starting" if starting else "up"]
    cmd += ["up", str(spec), "--workspace", str(ws.root)]
    cmd += ["--api-port", str(free_port()), "--serve-port", str(free_port()), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, signals_log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_up_stops_the_stack_on_every_stop_signal(project, sig: signal.Signals, record_property) -> None:
    ws = project[1]
    proc, signals_log = _cli_up(project)
    try:
        _wait_for("the stand-in stack", lambda: len(_groups(ws)) == 2 and (ws.state_dir / "stack.json").exists())
        pgids = _groups(ws)
        _wait_for("the standalone stand-in's child", lambda: len(_members(pgids["standalone"])) == 2)
        sent = time.time()
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
        took = time.time() - sent
        assert _live(pgids) == {}, f"left running after {sig.name}: {_live(pgids)}\n{out}"
        assert signals_log.read_text().split() == ["SIGINT"]  # standalone stops its children on SIGINT only
        assert proc.returncode == 0, out
        assert _groups(ws) == {}
        assert not (ws.state_dir / "owner.json").exists()
        assert "stopped standalone" in out
        assert "stopped serve" in out
    finally:
        _cleanup(proc, ws)
    record_property(
        "observed", f"{sig.name} to `airloop up`: standalone got SIGINT, every process gone in {took:.1f} s"
    )


def test_a_signal_while_the_stack_starts_stops_what_was_started(project, record_property) -> None:
    ws = project[1]
    proc, signals_log = _cli_up(project, starting=True)
    try:
        _wait_for("the standalone stand-in", lambda: "standalone" in _groups(ws))
        pgids = _groups(ws)
        _wait_for("the standalone stand-in's child", lambda: len(_members(pgids["standalone"])) == 2)
        proc.send_signal(signal.SIGINT)  # Ctrl-C: before, it left the half-started stack running too
        out, _ = proc.communicate(timeout=30)
        assert _live(pgids) == {}, f"left running: {_live(pgids)}\n{out}"
        assert signals_log.read_text().split() == ["SIGINT"]
        assert "SIGINT: stopping the stack" in out
    finally:
        _cleanup(proc, ws)
    record_property(
        "observed", "Ctrl-C while Airflow was starting: what had started was stopped (SIGINT to standalone)"
    )


def test_after_kill_9_of_up_the_next_up_names_the_leftovers(project, record_property) -> None:
    from airloop.errors import EnvironmentProblem
    from airloop.local.stack import down, refuse_if_running

    ws = project[1]
    proc, _ = _cli_up(project)
    pgids: dict[str, int] = {}
    try:
        _wait_for("the stand-in stack", lambda: len(_groups(ws)) == 2 and (ws.state_dir / "stack.json").exists())
        pgids = _groups(ws)
        proc.kill()
        proc.wait()
        with pytest.raises(EnvironmentProblem) as refused:
            refuse_if_running(ws)
        text = refused.value.format()
        assert f"the `airloop up` (pid {proc.pid}) that started the stack" in text
        assert f"is gone (killed?), and its processes run on: serve (pid {pgids['serve']})" in text
        assert "fix: stop them with `airloop down`" in text
        stopped = down(ws, timeout=10, term_after=5)
        assert set(stopped) == {"serve", "standalone"}
        assert _live(pgids) == {}
        refuse_if_running(ws)  # nothing left: the next `up` may start
    finally:
        _cleanup(proc, ws, pgids)
    record_property(
        "observed", "after kill -9 of `up`, the next `up` named the orphans and `airloop down`; down stopped them"
    )


def test_records_of_processes_that_are_gone_or_not_ours_do_not_block_up(tmp_path: Path) -> None:
    """A recorded pid that now names another program (reused after a reboot) is not the stack: it is
    neither reported as running nor signalled by `down`."""
    from airloop.local.stack import down, refuse_if_running

    ws = Workspace(tmp_path / "ws")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        state.record_pid(ws, "standalone", other.pid)
        (ws.state_dir / "standalone.proc").write_text("another-boot 12345")  # as recorded before a reboot
        state.record_pid(ws, "serve", 2**22 + 7)  # a pid no process has
        assert state.running(ws) == {}
        refuse_if_running(ws)
        assert down(ws) == {}
        assert other.poll() is None, "down signalled a process that is not the stack's"
        assert state.recorded_pids(ws) == {}
    finally:
        other.kill()
        other.wait()


def test_a_failed_start_stops_what_it_started(project) -> None:
    """`up` that fails half-way (here: Airflow's stand-in never answers) leaves nothing behind."""
    from airloop.errors import EnvironmentProblem
    from airloop.local import stack
    from airloop.local.stack import Ports, free_port
    from airloop.spec import load_spec

    spec, ws, standalone, _ = project
    real_start = stack._start

    def fail(*a, **k):
        raise EnvironmentProblem("airflow standalone did not answer")

    mp = pytest.MonkeyPatch()
    try:
        cmd = [sys.executable, str(standalone), str(ws.root.parent / "signals.log")]
        mp.setattr(stack, "_start", lambda w, name, c, env: real_start(w, name, cmd, env))
        mp.setattr(stack, "_wait_http", fail)
        with pytest.raises(EnvironmentProblem, match="did not answer"):
            stack.up(load_spec(spec), ws, Ports(free_port(), free_port(), free_port()), serve=False)
        assert _groups(ws) == {}
        assert state.running(ws) == {}
    finally:
        mp.undo()
        _cleanup(None, ws)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_script_driving_the_stack_cleans_up_on_every_stop_signal(tmp_path: Path, sig: signal.Signals) -> None:
    """The flights demo drives the stack itself (up, months, down in a `finally`): under
    `stop_signals_raise` a kill or a closed terminal reaches that `finally`, as Ctrl-C does."""
    marker = tmp_path / "cleaned"
    script = (
        "import sys, time\n"
        "from airloop.local.supervise import StopRequested, stop_signals_raise\n"
        "try:\n"
        "    with stop_signals_raise():\n"
        "        try:\n"
        "            print('up', flush=True)\n"
        "            time.sleep(30)\n"
        "        finally:\n"
        f"            open({str(marker)!r}, 'w').write('down')\n"
        "except StopRequested as exc:\n"
        "    sys.exit(128 + exc.signum)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "up"
    proc.send_signal(sig)
    assert proc.wait(timeout=10) == 128 + sig
    assert marker.read_text() == "down"
