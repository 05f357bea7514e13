"""POST /labels: ground truth for earlier requests or entities, into the prediction log."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from airloop.model.labels import coerce
from airloop.serving.schema import Labels
from airloop.serving.service import Service, error, get_service

router = APIRouter(tags=["predict"])


@router.post("/labels", summary="Record ground truth for earlier requests or entities")
async def labels(payload: Labels, service: Service = Depends(get_service)) -> Any:
    bad = [i for i, lab in enumerate(payload.labels) if lab.request_id is None and lab.entity_id is None]
    if bad:
        return error(
            422,
            "each label needs a request_id or an entity_id",
            [{"field": f"labels[{i}]", "problem": "no request_id or entity_id"} for i in bad[:20]],
        )
    wrong = _not_a_label(service, [lab.label for lab in payload.labels])
    if wrong:
        return error(422, "labels do not match the model's task", wrong)
    rows = [lab.model_dump() for lab in payload.labels]
    n, unknown = await asyncio.get_running_loop().run_in_executor(None, service.predlog.record_labels, rows)
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


def _not_a_label(service: Service, values: list[Any]) -> list[dict[str, str]]:
    """Labels the monitor could not score: a class the model does not know, or text for a regression."""
    snap = service.holder.current
    if snap is None:
        return []
    if snap.task == "regression":
        bad = [(i, v) for i, v in enumerate(values) if isinstance(v, (str, bool))]
        need = "a number"
    else:
        classes = snap.classes or []
        known = coerce(values, classes)
        bad = [(i, v) for i, (v, k) in enumerate(zip(values, known, strict=True)) if k not in classes]
        need = "one of " + ", ".join(json.dumps(c) for c in classes)
    return [{"field": f"labels[{i}].label", "problem": f"{v!r} is not {need}"} for i, v in bad[:20]]
