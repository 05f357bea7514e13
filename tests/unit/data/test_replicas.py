"""Serving replicas: a name is resolved once, claimed by one server only, and the monitor finds
every front and replica's segments it can see."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airloop.data import replicas
from airloop.data.predlog import PredictionLog
from airloop.data.replicas import Claim, Source, resolve, sources
from airloop.data.segments import compact
from airloop.errors import EnvironmentProblem, UsageError
from airloop.workspace import Workspace


def test_the_command_line_names_the_replica_before_the_spec() -> None:
    assert resolve("web-1", "b") == "web-1"
    assert resolve(None, "b") == "b"
    assert resolve(None, None) is None  # no name: the workspace's own log, as on one machine
    host = resolve(None, "hostname")  # each replica by its machine's name
    assert host == replicas.check_name(socket.gethostname().split("/")[0][:63])
    with pytest.raises(UsageError, match="serving.replica"):
        resolve(None, "a/b")


@pytest.mark.parametrize("name", ["../x", "a/b", "-a", "", "a b", "x" * 64, "a..b"])
def test_a_name_that_is_no_file_name_is_refused(name: str) -> None:
    with pytest.raises(UsageError, match="cannot name a replica") as err:
        replicas.check_name(name)
    assert "letters, digits" in (err.value.hint or "")


def test_a_second_server_under_a_name_in_use_is_refused_until_the_first_ends(tmp_path: Path) -> None:
    front, folder = tmp_path / "fronts" / "a.db", tmp_path / "shared"
    holder = subprocess.Popen(  # another process holds the name, as a running server does
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pathlib import Path\nfrom airloop.data.replicas import Claim\n"
            f"c = Claim('a', Path({str(front)!r}), Path({str(folder)!r})).take()\nprint('held', flush=True)\n"
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(EnvironmentProblem, match="replica name 'a' is taken") as err:
            Claim("a", front, folder).take()
        assert f"pid {holder.pid}" in err.value.message
        assert "--replica NAME" in (err.value.hint or "")
        assert err.value.exit_code == 8
    finally:
        holder.kill()  # kill -9 ends the claim with the process: a restart takes the name again
        holder.wait(10)
    claim = Claim("a", front, folder).take()
    claim.release()
    Claim("a", front, folder).take().release()


def test_a_name_claimed_with_another_front_in_the_shared_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    Claim("a", tmp_path / "host1" / "a.db", folder).take().release()
    with pytest.raises(EnvironmentProblem, match="claimed in") as err:
        Claim("a", tmp_path / "host2" / "a.db", folder).take()
    assert str(tmp_path / "host1" / "a.db") in err.value.message
    assert ".replica-a.json" in (err.value.hint or "")
    assert json.loads((folder / ".replica-a.json").read_text())["host"] == socket.gethostname()
    Claim("b", tmp_path / "host2" / "b.db", folder).take().release()  # other names are free


def test_the_monitor_sees_the_own_log_each_front_and_replicas_known_only_by_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace(tmp_path / "ws")
    assert sources(ws, "p") == []
    monkeypatch.setenv("AIRLOOP_SEGMENTS_DIR", str(tmp_path / "shared"))
    shared = ws.segments_dir("p")
    assert shared == tmp_path / "shared" / "p"
    PredictionLog(ws.prediction_log("p")).close()
    for name in ("a", "c"):
        log = PredictionLog(ws.front("p", name))
        log.write([("r1", 0, time.time(), "1", None, {"x": 1.0}, "1", None)])
        log.close()
        compact(ws.front("p", name), folder=shared, replica=name, force=True)
    ws.front("p", "c").unlink()  # c's front is on another machine: only its segments are seen here
    found = sources(ws, "p")
    assert found == [
        Source("", ws.prediction_log("p"), ws.serving_dir("p") / "predictions-segments"),
        Source("a", ws.front("p", "a"), shared),
        Source("c", None, shared),
    ]


def test_status_names_each_replica_with_its_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airloop.cli import _replicas_status

    monkeypatch.setenv("AIRLOOP_SEGMENTS_DIR", str(tmp_path / "shared"))
    ws = Workspace(tmp_path / "ws")
    for name, n in (("a", 3), ("c", 2)):
        log = PredictionLog(ws.front("p", name))
        log.write([(f"{name}{i}", 0, time.time(), "1", None, {"x": 1.0}, "1", None) for i in range(n)])
        log.add_labels([{"request_id": f"{name}0", "label": 1}])
        log.close()
        compact(ws.front("p", name), folder=ws.segments_dir("p"), replica=name, force=True)
    log = PredictionLog(ws.front("p", "a"))
    log.write([("a9", 0, time.time(), "1", None, {"x": 1.0}, "1", None)])
    log.close()
    ws.front("p", "c").unlink()
    lines = _replicas_status(ws, "p")
    assert lines[0].startswith("  replica a: 4 predictions (3 in 1 segments in ")
    assert lines[0].endswith(f"1 labels; front {ws.front('p', 'a')}")
    assert lines[1].startswith("  replica c: 2 predictions (2 in 1 segments")
    assert lines[1].endswith("its front is not on this machine")
