"""Shadow: a second model answers copies of the requests, off the request path, into the log.

The champion answers and commits first; the router then offers the same records here and
returns. One thread drains the queue, predicts with the shadow alias's current snapshot and
writes its answers beside the champion's (``shadow_predictions``). A slow or failing shadow model
costs the client nothing: a failure is counted and kept for ``/model``, and when the queue is
full, records are dropped and counted rather than slowing anyone.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from typing import Any

from airloop.data.predlog import PredictionLog
from airloop.scoring.frame import predict
from airloop.serving.holder import ModelHolder

log = logging.getLogger("airloop.serving")
MAX_PENDING = 20_000  # records waiting for the shadow model before new ones are dropped
ROUND = 256  # most records per shadow prediction, while the champion stays idle
# fewest: a round the champion has to wait behind (it got busy, or the shadow stopped yielding)
# costs it about as long as the round takes, ~1 ms at this size where a full round took ~10 ms
MIN_ROUND = 16
# a spell this long without a champion request means no client waits on the server right now; shorter
# gaps are the time between a client's answer and its next request (at c=1 they are ~0.2 ms)
IDLE_GAP = 0.02
YIELD_SECONDS = 1.0  # how long the shadow waits for the champion's queue to empty before it predicts anyway


class Shadow:
    def __init__(
        self, holder: ModelHolder, predlog: PredictionLog, share: float, champion_idle: Callable[[], float]
    ) -> None:
        # champion_idle: seconds since the champion last had a request to answer (0 while it has one)
        self.holder, self.predlog, self.share, self.champion_idle = holder, predlog, share, champion_idle
        self.queue: deque[tuple[str, list[dict[str, Any]], list[int] | None]] = deque()
        self.pending = 0
        self.answered = self.failed = self.dropped = 0
        self.last_error: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="airloop-shadow", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)

    def offer(self, request_id: str, records: list[dict[str, Any]], positions: list[int] | None) -> None:
        """Called on the event loop after the champion answered: never blocks, never raises."""
        if self.holder.current is None or not self._sampled(request_id):
            return
        with self._lock:
            if self.pending + len(records) > MAX_PENDING:
                self.dropped += len(records)
                return
            self.pending += len(records)
            self.queue.append((request_id, records, positions))
        self._wake.set()

    def _sampled(self, request_id: str) -> bool:
        return self.share >= 1 or zlib.crc32(request_id.encode()) / 2**32 < self.share

    def status(self) -> dict[str, Any]:
        snap = self.holder.current
        return {
            "alias": self.holder.alias,
            "version": snap.version if snap else None,
            "note": None if snap else f"no `{self.holder.alias}` version: nothing to shadow",
            "share": self.share,
            "answered": self.answered,
            "failed": self.failed,
            "dropped": self.dropped,
            "pending": self.pending,
            "last_error": self.last_error,
        }

    def _run(self) -> None:
        # No lower priority for this thread: it shares the GIL and the log's lock with the champion,
        # and a nice-19 thread holding either while the kernel runs others stalled the champion
        # (priority inversion: its p99 at c=16 was 2.5-3.4x of shadow off; at equal priority 1.03x).
        # It yields instead: it predicts in the champion's quiet spells (no request for IDLE_GAP),
        # in rounds that grow while the quiet lasts, and under load only a short round a second.
        size = MIN_ROUND
        while not self._stopping:
            self._wake.wait(1.0)
            self._wake.clear()
            while self.queue and not self._stopping:
                waited = time.perf_counter()
                while self.champion_idle() < IDLE_GAP and time.perf_counter() - waited < YIELD_SECONDS:
                    time.sleep(0.001)  # the champion's requests go first
                quiet = self.champion_idle() >= IDLE_GAP
                self._round(size if quiet else MIN_ROUND)
                size = min(size * 2, ROUND) if quiet and self.champion_idle() >= IDLE_GAP else MIN_ROUND

    def _round(self, most: int) -> None:
        jobs, n = [], 0
        with self._lock:
            while self.queue and n < most:
                job = self.queue.popleft()
                jobs.append(job)
                n += len(job[1])
            self.pending -= n
        snap = self.holder.current
        if snap is None:
            return
        try:
            preds, proba = predict(snap, [rec for _, records, _ in jobs for rec in records])
            now, rows, i = time.time(), [], 0
            for request_id, records, positions in jobs:
                for r in range(len(records)):
                    row = r if positions is None else positions[r]
                    p = json.dumps(proba[i]) if proba is not None else None
                    rows.append((request_id, row, now, snap.version, json.dumps(preds[i]), p))
                    i += 1
            self.predlog.write_shadow(rows)
            self.answered += n
        except Exception as exc:  # the shadow's failure is recorded, never felt by a client
            self.failed += n
            self.last_error = {
                "at": time.time(),
                "version": snap.version,
                "error": f"{type(exc).__name__}: {exc}"[:500],
            }
            log.warning("shadow v%s failed on %d records: %s", snap.version, n, exc)
