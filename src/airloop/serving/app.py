"""The app factory: ``create_app(service)`` wires the routers, the guard and the lifespan.

The lifespan starts the batcher and the registry poller and closes the prediction log. The
OpenAPI document is rebuilt from the served model's contract whenever the model swaps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from airloop import __version__
from airloop.serving.guard import Guard
from airloop.serving.routers import admin, labels, ops, predict
from airloop.serving.schema import describe_errors
from airloop.serving.service import Service, error

log = logging.getLogger("airloop.serving")


async def _poll(service: Service) -> None:
    """Every ``poll_seconds``: move each holder to the version its alias names, take dropped label
    files, start a compaction of the prediction log when one is due."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(service.config.poll_seconds)
        if not service.log_health.writable:  # no traffic may come to find out that space is back
            await loop.run_in_executor(None, service.log_health.probe, service.predlog)
        try:
            for holder in service.holders.values():
                await loop.run_in_executor(None, holder.refresh)
            await loop.run_in_executor(None, labels.take_files, service)
            await loop.run_in_executor(None, service.compactor.tick)
        except Exception:  # the poller must outlive any single failure
            log.exception("registry poll failed")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    service: Service = app.state.service
    service.batcher.start()
    if service.shadow:
        service.shadow.start()
    poller = asyncio.get_running_loop().create_task(_poll(service))
    yield
    poller.cancel()
    await service.batcher.stop()
    if service.shadow:
        service.shadow.stop()
    service.predlog.close()


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{**e, "loc": tuple(e["loc"])[1:]} for e in exc.errors()]  # drop the leading "body"
    return error(422, "invalid request", describe_errors(errors))


async def _http_error(request: Request, exc: Exception) -> Any:
    """FastAPI's own 4xx (an unparseable body, a wrong method) in the shape of every other error."""
    assert isinstance(exc, StarletteHTTPException)
    return error(exc.status_code, str(exc.detail))


async def _client_input(request: Request, exc: Exception) -> Any:
    """JSON nested thousands deep, or a number no float holds: the client's input, not a server fault."""
    if isinstance(exc, RecursionError):
        return error(400, "body is nested too deeply")
    return error(422, "a number in the body is too large", [{"field": "body", "problem": str(exc)[:200]}])


def create_app(service: Service) -> FastAPI:
    app = FastAPI(
        title=f"airloop: {service.holder.name}",
        version=__version__,
        lifespan=lifespan,
        description="Predictions from the MLflow champion, validated against its data contract.",
    )
    app.state.service = service
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RecursionError, _client_input)
    app.add_exception_handler(OverflowError, _client_input)
    app.add_middleware(predict.PredictFastPath, service=service)  # inner: the last added runs first
    app.add_middleware(
        Guard, token=service.config.token, max_body=service.config.max_body_bytes, metrics=service.metrics
    )
    for module in (predict, labels, ops, admin):
        app.include_router(module.router)
    app.openapi = _contract_openapi(app, service)  # type: ignore[method-assign]
    return app


def _contract_openapi(app: FastAPI, service: Service) -> Any:
    """The OpenAPI document with ``Record`` and ``Batch`` typed by the served model's contract."""
    cache: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        snap = service.holder.current
        key = snap.version if snap else ""
        if cache.get("key") != key or "doc" not in cache:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            if snap is not None:
                schemas = doc.setdefault("components", {}).setdefault("schemas", {})
                record = snap.record.model_json_schema(ref_template="#/components/schemas/{model}")
                batch = snap.batch.model_json_schema(ref_template="#/components/schemas/{model}")
                for defs in (record.pop("$defs", {}), batch.pop("$defs", {})):
                    schemas.update(defs)
                schemas["Record"] = record
                schemas["Batch"] = batch
                schemas["PredictRequest"] = {
                    "anyOf": [{"$ref": "#/components/schemas/Record"}, {"$ref": "#/components/schemas/Batch"}]
                }
            cache.update(key=key, doc=doc)
        return cache["doc"]

    return openapi
