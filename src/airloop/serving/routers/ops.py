"""GET /health, /ready, /model, /metrics: what operators and load balancers ask."""

from __future__ import annotations

import asyncio
import re
from dataclasses import asdict
from pathlib import Path, PureWindowsPath
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from airloop.model.store import describe
from airloop.serving.metrics import CONTENT_TYPE
from airloop.serving.service import Service, error, get_service, unwritable
from airloop.tracking.tags import lineage_of

router = APIRouter(tags=["ops"])


@router.get("/health", summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Whether a model is loaded and the prediction log takes writes")
async def ready(service: Service = Depends(get_service)) -> Response:
    snap = service.holder.current
    if snap is None:
        return error(503, "no model loaded")
    health = service.log_health
    if not health.writable:  # a load balancer that stopped sending traffic learns here that space is back
        if not await asyncio.get_running_loop().run_in_executor(None, health.probe, service.predlog, False):
            assert health.failing is not None
            return unwritable(service, f"not ready: {health.failing['reason']}")
    return JSONResponse({"status": "ready", "version": snap.version})


@router.get("/model", summary="The served model: version, metrics, data contract")
async def model(service: Service = Depends(get_service)) -> dict[str, Any]:
    holder = service.holder
    snap = holder.current
    assert snap is not None
    return {
        "name": snap.name,
        "version": snap.version,
        "alias": holder.alias,
        "task": snap.task,
        "loaded_at": snap.loaded_at,
        "metrics": snap.metrics,
        "classes": snap.classes,
        "positive_class": snap.positive,
        "stored": describe(snap.model),
        "contract": _no_paths(asdict(snap.contract), service.config.root),
        "last_error": _no_paths(holder.last_error, service.config.root),
        "swaps": holder.swaps[-10:],
        "lineage": _no_paths(lineage_of(snap.tags), service.config.root),
        "prediction_log": {"writable": service.log_health.writable, "failing": service.log_health.failing},
        "shadow": service.shadow.status() if service.shadow else None,
        "canary": service.canary.status() if service.canary else None,
    }


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(service: Service = Depends(get_service)) -> Response:
    return Response(service.metrics.render(), media_type=CONTENT_TYPE)


# an absolute path (POSIX, Windows or a file: URI), alone or inside a message; not the path part
# of a URI such as runs:/<id>/contract or models:/<name>/2, nor a relative path or a date like 1/2/13
ABSOLUTE = re.compile(r"(?:file://|(?<![\w:./\\-]))(?:/|[A-Za-z]:[\\/])[^\s'\",;:()\[\]]*")


def _no_paths(value: Any, root: Path | None) -> Any:
    """``value`` with every absolute path made relative to the spec's folder, or cut to its file
    name when outside it: /model is for clients, the server's file system is not theirs to read."""
    if isinstance(value, dict):
        return {k: _no_paths(v, root) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_paths(v, root) for v in value]
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return ABSOLUTE.sub(lambda m: _relative(m.group(0), root), value)
    return value


def _relative(text: str, root: Path | None) -> str:
    if re.match(r"[A-Za-z]:", text):
        return PureWindowsPath(text).name or text
    path = Path(text.removeprefix("file://"))
    if root is not None and path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    return path.name or text
