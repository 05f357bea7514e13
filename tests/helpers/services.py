"""Reaching the services (PostgreSQL, Redis) that tests/services needs; see its conftest."""

from __future__ import annotations

import os
import socket

import pytest

PG_HOST, PG_PORT = os.environ.get("AIRLOOP_PG_HOST", "127.0.0.1"), int(os.environ.get("AIRLOOP_PG_PORT", "5432"))
PG_USER = os.environ.get("AIRLOOP_PG_USER", "root")


def require(host: str, port: int, what: str) -> None:
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        message = f"{what} is not reachable at {host}:{port} ({exc})"
        if os.environ.get("AIRLOOP_REQUIRE_SERVICES") == "1":
            pytest.fail(message + "; AIRLOOP_REQUIRE_SERVICES=1 makes this a failure")
        pytest.skip(message)
