"""Pure ASGI middleware: bearer token, body size limit, request metrics, and a last-resort 500.

With a token set, every path needs it but the two a load balancer or an orchestrator probes
(``/health``, ``/ready``): the model's description, the metrics and the API documents included.

(Starlette's ``@app.middleware("http")`` costs about half a millisecond per request.)
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from typing import Any

from airloop.serving.metrics import Metrics

log = logging.getLogger("airloop.serving")
OPEN = ("/health", "/ready")  # everything else needs the token, when one is set
METRIC_PATHS = ("/predict", "/labels", "/admin/reload")


class Guard:
    def __init__(self, app: Any, token: str | None, max_body: int, metrics: Metrics) -> None:
        self.app, self.token, self.max_body, self.metrics = app, token, max_body, metrics
        self.expected = f"bearer {token}".encode() if token else b""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        state = {"status": 500, "started": False}
        headers = dict(scope["headers"])
        if self.token and path not in OPEN:
            given = headers.get(b"authorization", b"")
            if not (given[:7].lower() == b"bearer " and hmac.compare_digest(given[7:], self.expected[7:])):
                await send_json(
                    send, 401, {"error": "missing or wrong bearer token"}, ((b"www-authenticate", b"Bearer"),)
                )
                if path in METRIC_PATHS:  # not any path a scanner tries: one series each
                    self.metrics.observe(path, 401, time.perf_counter() - started)
                return
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_body:
            await send_json(send, 413, {"error": f"body of {int(length)} bytes is over the limit of {self.max_body}"})
            self.metrics.observe(path, 413, time.perf_counter() - started)
            return

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:  # a bug must cost one request a 500, never the server
            log.exception("unhandled error on %s", path)
            if not state["started"]:
                await send_json(send, 500, {"error": "internal error"})
        finally:
            if path in METRIC_PATHS:
                self.metrics.observe(path, int(state["status"]), time.perf_counter() - started)


async def send_json(send: Any, status: int, body: dict[str, Any], extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    await send_bytes(send, status, json.dumps(body).encode(), extra)


async def send_bytes(send: Any, status: int, data: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    """A JSON body already encoded, as a complete ASGI response."""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
