"""`airloop serve --replica`: a name that is no file name, and a packaged server, are refused
before anything loads."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from helpers.projects import write_project

from airloop.cli import main
from airloop.local.stack import free_port


def test_a_replica_name_that_is_no_file_name_exits_2(tmp_path: Path) -> None:
    spec = write_project(tmp_path / "p")
    args = ["serve", str(spec), "--workspace", str(tmp_path / "ws"), "--port", str(free_port())]
    res = CliRunner().invoke(main, [*args, "--replica", "../a"])
    assert res.exit_code == 2, res.output
    assert "'../a' cannot name a replica" in res.output
    assert not (tmp_path / "ws" / "serving").exists()


def test_a_packaged_server_takes_no_replica_name(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        main, ["serve", "--model-dir", str(tmp_path)], env={"AIRLOOP_REPLICA": "a", "AIRLOOP_MODEL_DIR": None}
    )
    assert res.exit_code == 2, res.output
    assert "--replica (or $AIRLOOP_REPLICA)" in res.output
    assert "unset $AIRLOOP_REPLICA" in res.output
