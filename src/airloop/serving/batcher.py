"""Predict and log in batches formed by load, without waiting on a timer.

Requests queue up while a prediction runs; the next round takes everything queued (up to a row
budget) and runs one ``predict_proba`` for all of it, then commits every record to the
prediction log in one transaction, and only then answers. At concurrency 1 a request goes
straight through; under load the per-call cost of the model is shared.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from airloop.data.predlog import PredictionLog
from airloop.scoring.frame import predict
from airloop.serving.holder import Snapshot
from airloop.serving.storage import LogHealth

log = logging.getLogger("airloop.serving")
INLINE_ROWS = 64  # a request alone in the server with up to this many records is answered on the loop
# ... once this many requests in a row came alone: under load a lone request is a gap between
# waves, and answering it on the loop would hold the next wave back (p99 at c=16 rose 14.6 -> 19 ms)
INLINE_AFTER = 8


@dataclass
class Job:
    snap: Snapshot
    records: list[dict[str, Any]]
    request_id: str
    positions: list[int] | None = None  # each record's index in the request, when some were refused
    enqueued: float = field(default_factory=time.time)
    future: asyncio.Future[Any] | None = None


class Batcher:
    def __init__(self, predlog: PredictionLog, max_rows: int = 4096, health: LogHealth | None = None) -> None:
        self.predlog = predlog
        self.health = health or LogHealth()
        self.max_rows = max_rows
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="airloop-predict")
        self.pending: deque[Job] = deque()
        self.batches = 0
        self.inline = 0  # requests answered on the event loop (the server had nothing else to do)
        self.running = False  # a batch is in the predict thread
        self.alone = 0  # requests in a row that came with no other in the server
        self._idle_since = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.executor.submit(_single_thread_math).result()
        _single_thread_math()  # the event loop's thread predicts too, when the server is idle
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        self.executor.shutdown(wait=True)

    def idle_for(self) -> float:
        """Seconds since the last request was answered; 0 while one is pending."""
        return 0.0 if self.pending else time.monotonic() - self._idle_since

    @property
    def lag(self) -> float:
        return time.time() - self.pending[0].enqueued if self.pending else 0.0

    @property
    def pending_records(self) -> int:
        return sum(len(j.records) for j in self.pending)

    async def submit(
        self, snap: Snapshot, records: list[dict[str, Any]], request_id: str, positions: list[int] | None = None
    ) -> Any:
        job = Job(snap, records, request_id, positions, future=asyncio.get_running_loop().create_future())
        self.pending.append(job)
        if len(self.pending) == 1 and len(records) <= INLINE_ROWS and self.alone >= INLINE_AFTER:
            # alone, and so were the requests before it: answered here, on the event loop, without
            # two thread hand-offs (about 0.2 ms of a 3 ms request at c=1). One turn of the loop
            # first lets requests read in the same turn register; any company sends every one of
            # them to the batching thread.
            await asyncio.sleep(0)
            if len(self.pending) == 1 and not self.running:
                self.inline += 1
                try:
                    result = self._process([job])[0]
                finally:
                    self._discard(job)
                if isinstance(result, BaseException):
                    raise result
                return result
        await self.queue.put(job)
        assert job.future is not None
        return await job.future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self.queue.get()]
            rows = len(jobs[0].records)
            while not self.queue.empty() and rows < self.max_rows:
                job = self.queue.get_nowait()
                jobs.append(job)
                rows += len(job.records)
            self.alone = self.alone + 1 if len(jobs) == 1 and len(self.pending) == 1 else 0
            self.running = True
            try:
                results = await loop.run_in_executor(self.executor, self._process, jobs)
            except BaseException as exc:  # never let the loop die: fail these jobs, keep serving
                results = [exc] * len(jobs)
            finally:
                self.running = False
            for job, result in zip(jobs, results, strict=True):
                self._discard(job)
                if job.future is not None and not job.future.done():
                    if isinstance(result, BaseException):
                        job.future.set_exception(result)
                    else:
                        job.future.set_result(result)

    def _discard(self, job: Job) -> None:
        try:
            self.pending.remove(job)
        except ValueError:
            pass
        if not self.pending:
            self._idle_since = time.monotonic()

    def _process(self, jobs: list[Job]) -> list[Any]:
        """Runs in the predict thread: predict per snapshot, log everything, then answer."""
        self.batches += 1
        results: list[Any] = [None] * len(jobs)
        by_snap: dict[int, list[int]] = {}
        for i, job in enumerate(jobs):
            by_snap.setdefault(id(job.snap), []).append(i)
        # by feature set and passthrough columns: versions may differ
        rows: dict[tuple[tuple[str, ...], tuple[str, ...]], list[tuple[Any, ...]]] = {}
        now = time.time()
        for idxs in by_snap.values():
            group = [jobs[i] for i in idxs]
            try:
                outs: list[Any] = _predict_group(group)
            except Exception:
                # one bad request must not fail its neighbours: retry them one by one
                outs = []
                for job in group:
                    try:
                        outs.append(predict(job.snap, job.records))
                    except Exception as exc:
                        log.exception("prediction failed for request %s", job.request_id)
                        outs.append(exc)
            for i, out in zip(idxs, outs, strict=True):
                results[i] = out
            key = (group[0].snap.feature_names, group[0].snap.shape.passthrough)
            rows.setdefault(key, []).extend(_log_rows(group, outs, now))
        try:
            for (names, carried), flat in rows.items():
                if flat:
                    self.predlog.write_flat(names, flat, carried)  # committed before anyone is answered
        except Exception as exc:  # nothing is answered that is not logged: these requests fail whole
            raise self.health.failed(exc) from exc
        self.health.succeeded()
        return results


def _log_rows(group: list[Job], outs: list[Any], now: float) -> list[tuple[Any, ...]]:
    """The answered records as flat log rows (``PredictionLog.write_flat``). Answers as JSON text,
    each distinct answer encoded once."""
    rows: list[tuple[Any, ...]] = []
    texts: dict[tuple[type, Any], str] = {}

    def encode(value: Any) -> str:
        key = (type(value), value)  # 1, 1.0 and True are one dict key but three JSON texts
        if key not in texts:
            texts[key] = json.dumps(value)
        return texts[key]

    for job, out in zip(group, outs, strict=True):
        if isinstance(out, BaseException):
            continue
        preds, proba = out
        names = job.snap.feature_names
        carried = job.snap.shape.passthrough
        encoded = [encode(p) for p in preds]
        probas = _json_lists(proba) if proba is not None else [None] * len(preds)
        for r, rec in enumerate(job.records):
            entity = rec.get("entity_id")
            rows.append(
                (
                    job.request_id,
                    r if job.positions is None else job.positions[r],
                    now,
                    job.snap.version,
                    None if entity is None else str(entity),
                    encoded[r],
                    probas[r],
                    *map(rec.get, names),
                    *map(rec.get, carried),
                )
            )
    return rows


def _json_lists(proba: list[list[float]]) -> list[str]:
    """Each row of probabilities as JSON text: a list of finite floats prints as its JSON (repr is
    what json.dumps writes for a float), at a fifth of json.dumps' cost; NaN or inf go through json."""
    if all(math.isfinite(x) for row in proba for x in row):
        return [repr(row) for row in proba]
    return [json.dumps(row) for row in proba]


def _predict_group(group: list[Job]) -> list[tuple[list[Any], list[list[float]] | None]]:
    if len(group) == 1:
        return [predict(group[0].snap, group[0].records)]
    merged = [rec for job in group for rec in job.records]
    preds, proba = predict(group[0].snap, merged)
    outs, start = [], 0
    for job in group:
        end = start + len(job.records)
        outs.append((preds[start:end], proba[start:end] if proba is not None else None))
        start = end
    return outs


def _single_thread_math() -> None:
    """Small batches are latency-bound: OpenMP/BLAS thread start-up costs more than it saves."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:
        pass
