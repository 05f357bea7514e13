"""POST /labels: ground truth for earlier requests or entities, into the prediction log; and the
label files dropped in the labels folder, taken by the poller with the same checks."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from airloop.data.labelcheck import Refused, Rules, check
from airloop.data.labelfiles import take
from airloop.serving.schema import Labels
from airloop.serving.service import Service, error, get_service, unwritable

router = APIRouter(tags=["predict"])


@router.post("/labels", summary="Record ground truth for earlier requests or entities")
async def labels(payload: Labels, service: Service = Depends(get_service)) -> Any:
    rules = rules_of(service)
    judged = [check(lab.model_dump(), rules) for lab in payload.labels]
    refused = [(i, r) for i, r in enumerate(judged) if isinstance(r, Refused)]
    if refused:
        service.metrics.count_labels("api", 0, len(refused), 0)
        details = [
            {"field": f"labels[{i}]" + (f".{r.field}" if r.field else ""), "problem": r.problem} for i, r in refused
        ]
        return error(422, _headline([r for _, r in refused]), details[:20])
    rows = [r for r in judged if not isinstance(r, Refused)]
    try:
        n, unknown = await asyncio.get_running_loop().run_in_executor(None, service.predlog.record_labels, rows)
    except (sqlite3.Error, OSError) as exc:  # a full disk: nothing recorded, the sender retries
        return unwritable(service, f"no label recorded: {service.log_health.failed(exc).reason}; retry later")
    service.log_health.succeeded()
    service.metrics.count_labels("api", n, 0, len(rows) - n)
    if unknown and not n:
        return error(
            422,
            "no prediction has these request ids: nothing recorded",
            [{"field": "request_id", "problem": f"{rid!r} was never issued"} for rid in unknown[:20]],
        )
    body: dict[str, Any] = {"recorded": n}
    if unknown:  # counted and reported, not stored: the monitor would never join them
        body.update(unknown_request_ids=len(unknown), unknown=unknown[:20])
    return JSONResponse(body)


def rules_of(service: Service) -> Rules:
    """What a label must be for the model being served (its shape only while none is loaded)."""
    snap = service.holder.current
    return Rules() if snap is None else Rules.of(snap.task, snap.classes)


def take_files(service: Service) -> None:
    """The poller's turn at the labels folder; files wait while no model is loaded to check them by."""
    if service.holder.current is None:
        return
    taken = take(service.predlog, service.config.labels_folder, rules_of(service), "server")
    service.metrics.count_labels("file", taken.recorded, taken.refused, taken.unknown)


def _headline(refused: list[Refused]) -> str:
    if all(r.problem == "no request_id or entity_id" for r in refused):
        return "each label needs a request_id or an entity_id"
    if all(r.field == "label" for r in refused):
        return "labels do not match the model's task"
    return "labels refused: see details"
