"""Whether the prediction log can be written, as the server's readiness and its 503s see it.

Nothing is answered unless it is logged, so a log that cannot be written (a full disk, an I/O
error) stops the server answering: each request is told so with a 503 and a ``Retry-After``, and
``/ready`` turns not-ready so that a load balancer sends the traffic elsewhere. The next write that
commits (a request, or the probe the poller and ``/ready`` run while the log is failing) makes the
server ready again: no restart.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
import time
from typing import Any

log = logging.getLogger("airloop.serving")
PROBE_EVERY = 1.0  # seconds between probes from /ready (the poller probes once per poll)


class LogUnwritable(Exception):
    """The prediction log refused a write; ``reason`` says why in words an operator acts on."""

    def __init__(self, reason: str, disk_full: bool) -> None:
        super().__init__(reason)
        self.reason, self.disk_full = reason, disk_full


def is_disk_full(exc: BaseException | None) -> bool:
    """SQLite's SQLITE_FULL or the OS's ENOSPC/EDQUOT, also when a later error (a failed rollback)
    was raised while handling it."""
    while exc is not None:
        if isinstance(exc, sqlite3.OperationalError) and (
            getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL" or "disk is full" in str(exc)
        ):
            return True
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def describe(exc: BaseException) -> LogUnwritable:
    if is_disk_full(exc):
        return LogUnwritable(f"the disk holding the prediction log is full ({exc})", disk_full=True)
    return LogUnwritable(f"the prediction log cannot be written ({type(exc).__name__}: {exc})", disk_full=False)


class LogHealth:
    def __init__(self, retry_after: float = 5.0) -> None:
        self.retry_after = max(1, round(retry_after))
        self.failing: dict[str, Any] | None = None  # since, reason, failures: while writes fail
        self._last_probe = 0.0
        self._lock = threading.Lock()

    @property
    def writable(self) -> bool:
        return self.failing is None

    def failed(self, exc: BaseException) -> LogUnwritable:
        """Record a failed write; returns the error to answer with."""
        err = exc if isinstance(exc, LogUnwritable) else describe(exc)
        with self._lock:
            if self.failing is None:
                log.error("prediction log write failed, not ready until a write commits: %s", err.reason)
                self.failing = {"since": time.time(), "reason": err.reason, "disk_full": err.disk_full, "failures": 0}
            self.failing["failures"] += 1
            self.failing["reason"] = err.reason
        return err

    def succeeded(self) -> None:
        if self.failing is not None:
            with self._lock:
                if self.failing is not None:
                    log.info("prediction log writable again after %d failed writes", self.failing["failures"])
                    self.failing = None

    def probe(self, predlog: Any, force: bool = True) -> bool:
        """While writes fail: try one small commit (blocking; run it off the event loop). True when
        the log is writable. ``force=False`` probes at most every ``PROBE_EVERY`` seconds."""
        if self.failing is None:
            return True
        now = time.monotonic()
        if not force and now - self._last_probe < PROBE_EVERY:
            return False
        self._last_probe = now
        try:
            predlog.probe()
        except Exception as exc:
            self.failed(exc)
            return False
        self.succeeded()
        return True

    def headers(self) -> tuple[tuple[bytes, bytes], ...]:
        return ((b"retry-after", str(self.retry_after).encode()),)
