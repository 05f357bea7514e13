"""promote asks the running server to swap now; without one it quietly leaves it to the poll."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from helpers.projects import write_project

from airloop.local.stack import free_port
from airloop.steps.context import StepContext
from airloop.steps.promote import SERVE_URL_ENV, nudge_server
from airloop.workspace import Workspace


def _ctx(tmp_path: Path, extra: str = "") -> StepContext:
    spec = write_project(tmp_path / "p", extra=extra)
    return StepContext("tiny", str(spec), Workspace(tmp_path / "ws"))


def test_no_stack_no_nudge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SERVE_URL_ENV, raising=False)
    assert nudge_server(_ctx(tmp_path)) is None


def test_a_server_that_does_not_answer_never_fails_the_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SERVE_URL_ENV, f"http://127.0.0.1:{free_port()}")
    assert nudge_server(_ctx(tmp_path), timeout=0.5) is None


def test_the_server_is_asked_to_reload_with_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str | None]] = []

    class Reload(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            seen.append((self.path, self.headers.get("authorization")))
            body = json.dumps({"status": "swapped", "version": "2"}).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Reload)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv(SERVE_URL_ENV, f"http://127.0.0.1:{server.server_port}")
        monkeypatch.setenv("AIRLOOP_SERVE_TOKEN", "s3cret")
        assert nudge_server(_ctx(tmp_path)) == "swapped"
    finally:
        server.shutdown()
    assert seen == [("/admin/reload", "Bearer s3cret")]
