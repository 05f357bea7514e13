"""GET /health, /ready, /model, /metrics: what operators and load balancers ask."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from airloop.serving.metrics import CONTENT_TYPE
from airloop.serving.service import Service, error, get_service
from airloop.tracking.tags import lineage_of

router = APIRouter(tags=["ops"])


@router.get("/health", summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Whether a model is loaded")
async def ready(service: Service = Depends(get_service)) -> Response:
    snap = service.holder.current
    if snap is None:
        return error(503, "no model loaded")
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
        "contract": asdict(snap.contract),
        "last_error": holder.last_error,
        "swaps": holder.swaps[-10:],
        "lineage": lineage_of(snap.tags),
        "shadow": service.shadow.status() if service.shadow else None,
        "canary": service.canary.status() if service.canary else None,
    }


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(service: Service = Depends(get_service)) -> Response:
    return Response(service.metrics.render(), media_type=CONTENT_TYPE)
