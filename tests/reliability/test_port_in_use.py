"""Issue 24, finding 11: a port another program holds is an environment problem (exit 8) that names
the port and the fix, for `airloop serve` and for each port of `airloop up` (before: `serve` exited
3, airloop's code for bad data, after loading the model; `up` started Airflow anyway)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.projects import write_project

from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_serve_on_a_port_in_use_exits_8_naming_the_port(tmp_path: Path, held_port: int, record_property) -> None:
    spec = write_project(tmp_path / "p", batches=1, rows=60)
    cmd = [sys.executable, "-m", "airloop.cli", "serve", str(spec), "--workspace", str(tmp_path / "ws")]
    done = subprocess.run([*cmd, "--port", str(held_port)], capture_output=True, text=True, check=False)
    assert done.returncode == 8, done.stdout + done.stderr
    assert f"environment problem: port {held_port} on 127.0.0.1 is already in use" in done.stderr
    assert "fix: choose another with --port <port>, or stop the program that holds it" in done.stderr
    record_property("observed", f"`airloop serve --port <busy>`: exit 8, `{done.stderr.splitlines()[0]}`")


@pytest.mark.parametrize("which", ["api", "serve"])
def test_up_refuses_a_port_in_use_before_starting_anything(
    tmp_path: Path, held_port: int, which: str, monkeypatch: pytest.MonkeyPatch, record_property
) -> None:
    from airloop.errors import EnvironmentProblem
    from airloop.local import stack
    from airloop.local.stack import Ports, free_port
    from airloop.spec import load_spec

    def no_process(*args, **kwargs):
        raise AssertionError("a process was started although a port was in use")

    monkeypatch.setattr(stack, "_start", no_process)
    ports = Ports(free_port(), free_port(), free_port())
    setattr(ports, which, held_port)
    spec = write_project(tmp_path / "p", batches=1, rows=60)
    with pytest.raises(EnvironmentProblem) as refused:
        stack.up(load_spec(spec), Workspace(tmp_path / "ws"), ports)
    assert refused.value.exit_code == 8
    text = refused.value.format()
    assert f"port {held_port} on 127.0.0.1 is already in use" in text
    assert f"fix: choose another with --{which}-port <port>" in text
    record_property("observed", f"`airloop up` with the {which} port busy: exit 8 before anything started")
