"""What the routers share: the model holders, the batcher, the prediction log, metrics and settings.

One ``Service`` per app, kept on ``app.state.service``; routers reach it with ``get_service``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from airloop.data.predlog import PredictionLog
from airloop.data.segments import Background
from airloop.serving.batcher import Batcher
from airloop.serving.canary import Canary
from airloop.serving.holder import ModelHolder
from airloop.serving.metrics import Metrics
from airloop.serving.shadow import Shadow
from airloop.serving.storage import LogHealth


@dataclass
class ServeConfig:
    token: str | None
    max_body_bytes: int
    poll_seconds: float
    labels_folder: Path
    batch_errors: str = "partial"
    shadow_share: float = 1.0
    canary_percent: float = 0.0
    root: Path | None = None  # the spec's folder: /model shows data paths relative to it
    segments: Path | None = None  # where the log is compacted to (None: beside it)
    replica: str = ""  # a named replica's name (data.replicas): it names the segments


@dataclass
class Service:
    holder: ModelHolder  # the champion: answers every request
    predlog: PredictionLog
    config: ServeConfig
    shadow_holder: ModelHolder | None = None  # serving.shadow: a second alias answering copies of the requests
    canary_holder: ModelHolder | None = None  # serving.canary: an alias answering a share of the traffic
    batcher: Batcher = field(init=False)
    shadow: Shadow | None = field(init=False)
    canary: Canary | None = field(init=False)
    metrics: Metrics = field(init=False)
    # more holders by alias (shadow, canary) join here; the champion is always one of them
    holders: dict[str, ModelHolder] = field(init=False)
    compactor: Background = field(init=False)
    log_health: LogHealth = field(init=False)  # whether the prediction log takes writes (/ready, 503s)

    def __post_init__(self) -> None:
        self.log_health = LogHealth(retry_after=max(self.config.poll_seconds, 1.0))
        self.batcher = Batcher(self.predlog, health=self.log_health)
        self.compactor = Background(self.predlog.path, folder=self.config.segments, replica=self.config.replica)
        self.metrics = Metrics(self.scrape)
        self.holders = {self.holder.alias: self.holder}
        self.shadow = self.canary = None
        if self.canary_holder is not None:
            self.holders[self.canary_holder.alias] = self.canary_holder
            self.canary = Canary(self.canary_holder, self.config.canary_percent)
        if self.shadow_holder is not None:
            self.holders[self.shadow_holder.alias] = self.shadow_holder
            self.shadow = Shadow(self.shadow_holder, self.predlog, self.config.shadow_share, self.batcher.idle_for)

    def scrape(self) -> dict[str, Any]:
        snap = self.holder.current
        return {
            "version": snap.version if snap else None,
            "log_written": self.predlog.written,
            "log_lag": self.batcher.lag,
            "log_pending": self.batcher.pending_records,
            "shadow": self.shadow.status() if self.shadow else None,
        }


async def get_service(request: Request) -> Service:  # async: FastAPI runs a plain def in a thread pool
    return request.app.state.service  # type: ignore[no-any-return]


def error(
    status: int, message: str, details: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(message, details), status_code=status, headers=headers)


def unwritable(service: Service, reason: str) -> JSONResponse:
    """503: the prediction log takes no writes, so nothing is answered; try again after Retry-After."""
    return error(503, reason, headers={"retry-after": str(service.log_health.retry_after)})


def error_body(message: str, details: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Every error the service answers: ``{"error": ..., "details": [{"field", "problem"}]}``."""
    body: dict[str, Any] = {"error": message}
    if details:
        body["details"] = details
    return body
