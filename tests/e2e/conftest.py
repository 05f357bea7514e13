"""A trained champion (trained in-process, without Airflow) and a real server process."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.projects import SERVING, train_with_steps, write_project
from helpers.server import Server

from airloop.workspace import Workspace


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Workspace]:
    root = tmp_path_factory.mktemp("serve")
    spec = write_project(root / "project", extra=SERVING, min_auc=0.0)
    ws = Workspace(root / "ws")
    train_with_steps(spec, ws, run_id="manual_1")
    return spec, ws


@pytest.fixture(scope="module")
def server(trained, tmp_path_factory: pytest.TempPathFactory):
    """One server for the module's tests (a start costs seconds); a test that needs other settings starts its own."""
    spec, ws = trained
    srv = Server(spec, ws.root, tmp_path_factory.mktemp("server") / "server.log")
    srv.start()
    yield srv
    srv.stop()
