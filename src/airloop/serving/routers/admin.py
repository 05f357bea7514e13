"""POST /admin/reload: look at the registry now instead of at the next poll."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends

from airloop.serving.service import Service, get_service

router = APIRouter(prefix="/admin", tags=["ops"])


@router.post("/reload", summary="Look for a new champion now and swap to it")
async def reload(service: Service = Depends(get_service)) -> dict[str, Any]:
    holder = service.holder
    return await asyncio.get_running_loop().run_in_executor(None, lambda: holder.refresh(force=True))
