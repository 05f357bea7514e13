"""Issue 24, finding 11 (second half): a label may say when its outcome was observed (``ts``, also
spelled ``timestamp``: epoch seconds or ISO 8601), kept as the label's time in the log; any other
field is refused with a message that speaks of labels and names their fields, by POST /labels and
in label files alike (before: a timestamp was refused as "not a feature of this model")."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from airloop.data.labelfiles import ingest_label_files
from airloop.data.predlog import PredictionLog
from airloop.serving.app import create_app
from airloop.serving.service import ServeConfig, Service

OBSERVED = "2026-01-31T12:00:00Z"
OBSERVED_EPOCH = 1769860800.0


def _service(tmp_path: Path) -> Service:
    log = PredictionLog(tmp_path / "p.db")
    log.write([("r1", 0, time.time(), "1", None, {"x": 1.0}, "1", "[0.3, 0.7]")])
    holder = SimpleNamespace(alias="champion", name="tiny", current=SimpleNamespace(task="binary", classes=[0, 1]))
    config = ServeConfig(token=None, max_body_bytes=1 << 20, poll_seconds=60, labels_folder=tmp_path / "labels")
    return Service(holder, log, config)  # type: ignore[arg-type]


def _post(service: Service, body: Any) -> tuple[int, Any]:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(service))  # no lifespan: no batcher, no poller
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post("/labels", json=body)

    res = asyncio.run(go())
    return res.status_code, res.json()


def _times(log: PredictionLog) -> list[float]:
    return [ts for (ts,) in log._con.execute("select ts from labels order by id")]


def test_a_label_may_carry_the_time_its_outcome_was_observed(tmp_path: Path, record_property) -> None:
    service = _service(tmp_path)
    status, body = _post(service, {"labels": [{"request_id": "r1", "label": 1, "timestamp": OBSERVED}]})
    record_property("observed", f"POST /labels with a timestamp: {status} {json.dumps(body)[:160]}")
    assert (status, body) == (200, {"recorded": 1})
    status, body = _post(service, {"labels": [{"request_id": "r1", "label": 0, "ts": OBSERVED_EPOCH + 60}]})
    assert (status, body) == (200, {"recorded": 1})
    before = time.time()
    assert _post(service, {"labels": [{"request_id": "r1", "label": 1}]}) == (200, {"recorded": 1})
    times = _times(service.predlog)
    assert times[:2] == [OBSERVED_EPOCH, OBSERVED_EPOCH + 60]
    assert times[2] >= before - 1  # without a time: when it was recorded


def test_unknown_fields_and_bad_times_are_refused_in_the_words_of_labels(tmp_path: Path) -> None:
    service = _service(tmp_path)
    status, body = _post(service, {"labels": [{"request_id": "r1", "label": 1, "observed": OBSERVED}]})
    assert status == 422
    (detail,) = body["details"]
    assert "not a feature" not in detail["problem"]
    assert detail["field"] == "labels[0]"
    assert detail["problem"].startswith("unknown field 'observed' of a label: a label has request_id or entity_id")
    assert "ts (or timestamp" in detail["problem"]
    status, body = _post(service, {"labels": [{"request_id": "r1", "label": 1, "ts": "last tuesday"}]})
    assert status == 422
    assert body["details"] == [
        {
            "field": "labels[0].ts",
            "problem": "'last tuesday' is not a time: give epoch seconds or ISO 8601 (2026-01-31T12:00:00Z)",
        }
    ]
    status, body = _post(service, {"labels": [{"request_id": "r1", "label": 1, "ts": OBSERVED_EPOCH * 1000}]})
    assert status == 422  # milliseconds, not seconds
    assert _times(service.predlog) == []


def test_label_files_follow_the_same_rule(tmp_path: Path, record_property) -> None:
    log = PredictionLog(tmp_path / "p.db")
    log.write([("r1", 0, time.time(), "1", None, {"x": 1.0}, "1", "[0.3, 0.7]")])
    folder = tmp_path / "labels"
    folder.mkdir()
    (folder / "t.jsonl").write_text(
        json.dumps({"request_id": "r1", "label": 1, "timestamp": OBSERVED})
        + "\n"
        + json.dumps({"request_id": "r1", "label": 1, "observed": OBSERVED})
        + "\n"
    )
    (folder / "t.csv").write_text(f"entity_id,label,ts\ne1,0,{OBSERVED}\n")
    ingest_label_files(log, folder)
    rows = log._con.execute("select ts, request_id, entity_id from labels order by id").fetchall()
    record_property("observed", f"label rows from files: {rows}")
    assert sorted(rows, key=str) == sorted([(OBSERVED_EPOCH, None, "e1"), (OBSERVED_EPOCH, "r1", None)], key=str)
    rejects = folder / "rejected" / "t.jsonl.rejects.jsonl"
    assert rejects.exists()
    (bad,) = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert bad["line"] == 2
    assert bad["problem"].startswith("unknown field 'observed' of a label")
