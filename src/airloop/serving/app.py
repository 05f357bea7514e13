"""The HTTP app: /predict, /labels, /health, /ready, /model, /metrics, /admin/reload, /docs.

``create_app`` takes a loaded ``ModelHolder``; the lifespan starts the batcher and the registry
poller. The OpenAPI document is rebuilt from the served model's contract whenever it swaps.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError

from airloop import __version__
from airloop.errors import UserCodeError
from airloop.serving.batcher import Batcher
from airloop.serving.metrics import Metrics
from airloop.serving.model import ModelHolder
from airloop.serving.predlog import PredictionLog, ingest_label_files
from airloop.serving.schema import Labels, describe_errors

log = logging.getLogger("airloop.serving")
GUARDED = ("/predict", "/labels", "/admin/")
METRIC_PATHS = ("/predict", "/labels", "/admin/reload")


@dataclass
class ServeConfig:
    token: str | None
    max_body_bytes: int
    poll_seconds: float
    labels_folder: Path


def _error(status: int, message: str, details: list[dict[str, str]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status)


def create_app(holder: ModelHolder, predlog: PredictionLog, config: ServeConfig) -> FastAPI:
    metrics = Metrics()
    batcher = Batcher(predlog)

    async def poll() -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(config.poll_seconds)
            try:
                await loop.run_in_executor(None, holder.refresh)
                await loop.run_in_executor(None, ingest_label_files, predlog, config.labels_folder)
            except Exception:  # the poller must outlive any single failure
                log.exception("registry poll failed")

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        batcher.start()
        poller = asyncio.get_running_loop().create_task(poll())
        yield
        poller.cancel()
        await batcher.stop()
        predlog.close()

    app = FastAPI(
        title=f"airloop: {holder.name}",
        version=__version__,
        lifespan=lifespan,
        description="Predictions from the MLflow champion, validated against its data contract.",
    )
    app.state.holder, app.state.batcher, app.state.metrics = holder, batcher, metrics

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{**e, "loc": tuple(e["loc"])[1:]} for e in exc.errors()]  # drop the leading "body"
        return _error(422, "invalid request", describe_errors(errors))

    app.add_middleware(Guard, token=config.token, max_body=config.max_body_bytes, metrics=metrics)

    async def read_json(request: Request) -> Any:
        body = await request.body()
        if len(body) > config.max_body_bytes:
            raise _Reject(413, f"body is over the limit of {config.max_body_bytes} bytes")
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Reject(400, f"body is not valid JSON: {exc}") from None

    @app.post(
        "/predict",
        tags=["predict"],
        summary="Predict one record or a batch of records",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}}},
            }
        },
        responses={
            401: {"description": "missing or wrong token"},
            413: {"description": "body too large"},
            422: {"description": "records do not match the data contract"},
        },
    )
    async def predict(request: Request) -> Response:
        try:
            obj = await read_json(request)
        except _Reject as rej:
            return _error(rej.status, rej.message)
        snap = holder.current
        assert snap is not None
        try:
            if isinstance(obj, dict) and "records" in obj:
                snap.batch_check.validate_python(obj)
                records = obj["records"]
            elif isinstance(obj, dict):
                snap.record_check.validate_python(obj)
                records = [obj]
            else:
                return _error(422, 'body must be a JSON object: one record, or {"records": [...]}')
        except ValidationError as exc:
            return _error(422, "records do not match the data contract", describe_errors(exc.errors()))
        request_id = uuid.uuid4().hex
        try:
            preds, proba = await batcher.submit(snap, records, request_id)
        except (UserCodeError, ValueError) as exc:
            # the records fit the contract but the model's own transform or estimator refused
            # their values (an unparseable date, an overflow): the client's data, not the server
            message = exc.message if isinstance(exc, UserCodeError) else str(exc)
            return _error(422, "the model cannot use these records", [{"field": "records", "problem": message[:500]}])
        except Exception as exc:
            log.error("prediction failed for request %s: %s", request_id, exc)
            return _error(500, f"prediction failed: {type(exc).__name__}")
        body: dict[str, Any] = {
            "request_id": request_id,
            "model": {"name": snap.name, "version": snap.version},
            "predictions": preds,
        }
        if proba is not None:
            body["classes"] = snap.classes
            body["probabilities"] = proba
        return Response(json.dumps(body), media_type="application/json")

    @app.post("/labels", tags=["predict"], summary="Record ground truth for earlier requests or entities")
    async def labels(payload: Labels) -> dict[str, Any]:
        bad = [i for i, lab in enumerate(payload.labels) if lab.request_id is None and lab.entity_id is None]
        if bad:
            return _error(
                422,
                "each label needs a request_id or an entity_id",  # type: ignore[return-value]
                [{"field": f"labels[{i}]", "problem": "no request_id or entity_id"} for i in bad[:20]],
            )
        n = await asyncio.get_running_loop().run_in_executor(
            None, predlog.add_labels, [lab.model_dump() for lab in payload.labels]
        )
        return {"recorded": n}

    @app.get("/health", tags=["ops"], summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"], summary="Whether a model is loaded")
    async def ready() -> Response:
        snap = holder.current
        if snap is None:
            return _error(503, "no model loaded")
        return JSONResponse({"status": "ready", "version": snap.version})

    @app.get("/model", tags=["ops"], summary="The served model: version, metrics, data contract")
    async def model() -> dict[str, Any]:
        snap = holder.current
        assert snap is not None
        from dataclasses import asdict

        return {
            "name": snap.name,
            "version": snap.version,
            "alias": "champion",
            "task": snap.task,
            "loaded_at": snap.loaded_at,
            "metrics": snap.metrics,
            "classes": snap.classes,
            "contract": asdict(snap.contract),
            "last_error": holder.last_error,
            "swaps": holder.swaps[-10:],
            "lineage": {
                k.removeprefix("airloop."): v
                for k, v in snap.tags.items()
                if k.startswith("airloop.") and not k.startswith("airloop.metric.")
            },
        }

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        snap = holder.current
        text = metrics.render(snap.version if snap else None, batcher.lag, batcher.pending_records, predlog.written)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    @app.post("/admin/reload", tags=["ops"], summary="Look for a new champion now and swap to it")
    async def reload() -> dict[str, Any]:
        return await asyncio.get_running_loop().run_in_executor(None, lambda: holder.refresh(force=True))

    cache: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        snap = holder.current
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

    app.openapi = openapi  # type: ignore[method-assign]
    return app


class Guard:
    """Pure ASGI middleware: bearer token, body size limit, metrics, and a last-resort 500.

    (Starlette's ``@app.middleware("http")`` costs about half a millisecond per request.)
    """

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
        if self.token and path.startswith(GUARDED):
            given = headers.get(b"authorization", b"")
            if not (given[:7].lower() == b"bearer " and hmac.compare_digest(given[7:], self.expected[7:])):
                await _send_json(
                    send, 401, {"error": "missing or wrong bearer token"}, ((b"www-authenticate", b"Bearer"),)
                )
                self.metrics.observe(path, 401, time.perf_counter() - started)
                return
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_body:
            await _send_json(send, 413, {"error": f"body of {int(length)} bytes is over the limit of {self.max_body}"})
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
                await _send_json(send, 500, {"error": "internal error"})
        finally:
            if path in METRIC_PATHS:
                self.metrics.observe(path, int(state["status"]), time.perf_counter() - started)


async def _send_json(send: Any, status: int, body: dict[str, Any], extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class _Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message
