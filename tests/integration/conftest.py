"""Fixtures for the integration tests: a small project and an empty workspace."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.projects import write_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "project")


@pytest.fixture
def workspace(tmp_path: Path):
    from airloop.workspace import Workspace

    return Workspace(tmp_path / "ws")
