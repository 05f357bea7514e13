"""`airloop run` hands its tasks to a remote executor the user configured for Airflow."""

from __future__ import annotations

import pytest

from airloop.airflow.testrun import remote_executor


@pytest.mark.parametrize(
    ("executor", "remote"),
    [("", False), ("LocalExecutor", False), ("CeleryExecutor", True), ("KubernetesExecutor", True)],
)
def test_remote_executor(monkeypatch, executor: str, remote: bool) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", executor)
    assert remote_executor() is remote
