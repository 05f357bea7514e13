"""POST /labels: ground truth for earlier requests or entities, into the prediction log."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

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
    rows = [lab.model_dump() for lab in payload.labels]
    n = await asyncio.get_running_loop().run_in_executor(None, service.predlog.add_labels, rows)
    return JSONResponse({"recorded": n})
