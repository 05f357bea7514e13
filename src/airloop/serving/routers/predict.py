"""POST /predict: one record or a batch, checked against the served model's contract, logged, answered."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from airloop.errors import UserCodeError
from airloop.serving.schema import describe_errors
from airloop.serving.service import Service, error, get_service

log = logging.getLogger("airloop.serving")
router = APIRouter(tags=["predict"])
MAX_INT_DIGITS = 18


class _Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def _read_json(request: Request, limit: int) -> Any:
    body = await request.body()
    if len(body) > limit:
        raise _Reject(413, f"body is over the limit of {limit} bytes")
    try:
        return json.loads(body, parse_int=_bounded_int)
    except _Reject:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Reject(400, f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise _Reject(400, "body is nested too deeply") from None


def _bounded_int(text: str) -> int:
    """An integer a feature can hold (a float64 is exact up to 2**53; 10**400 overflows it)."""
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Reject(422, f"an integer in the body has {len(text.lstrip('-'))} digits: at most {MAX_INT_DIGITS}")
    return int(text)


@router.post(
    "/predict",
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
async def predict(request: Request, service: Service = Depends(get_service)) -> Response:
    try:
        obj = await _read_json(request, service.config.max_body_bytes)
    except _Reject as rej:
        return error(rej.status, rej.message)
    snap = service.holder.current
    assert snap is not None
    try:
        if isinstance(obj, dict) and "records" in obj:
            snap.batch_check.validate_python(obj)
            records = obj["records"]
        elif isinstance(obj, dict):
            snap.record_check.validate_python(obj)
            records = [obj]
        else:
            return error(422, 'body must be a JSON object: one record, or {"records": [...]}')
    except ValidationError as exc:
        return error(422, "records do not match the data contract", describe_errors(exc.errors()))
    request_id = uuid.uuid4().hex
    try:
        preds, proba = await service.batcher.submit(snap, records, request_id)
    except (UserCodeError, ValueError) as exc:
        # the records fit the contract but the model's own transform or estimator refused
        # their values (an unparseable date, an overflow): the client's data, not the server
        message = exc.message if isinstance(exc, UserCodeError) else str(exc)
        return error(422, "the model cannot use these records", [{"field": "records", "problem": message[:500]}])
    except Exception as exc:
        log.error("prediction failed for request %s: %s", request_id, exc)
        return error(500, f"prediction failed: {type(exc).__name__}")
    body: dict[str, Any] = {
        "request_id": request_id,
        "model": {"name": snap.name, "version": snap.version},
        "predictions": preds,
    }
    if proba is not None:
        body["classes"] = snap.classes
        if snap.positive is not None:
            body["positive_class"] = snap.positive
        body["probabilities"] = proba
    return Response(json.dumps(body), media_type="application/json")
