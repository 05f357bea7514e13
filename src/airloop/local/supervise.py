"""The stack lives as long as the `airloop up` that started it, however that command is asked to stop.

SIGINT (Ctrl-C), SIGTERM (``kill``, systemd, ``docker stop``, a CI timeout) and SIGHUP (the
terminal closed) all end in the same cleanup. Without handlers SIGTERM and SIGHUP end Python at
once, and the stack's processes, each in a session of its own, run on under PID 1. A signal while
the stack is still starting, or a start that fails, also stops what was already started.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

T = TypeVar("T")


class StopRequested(BaseException):
    """A stop signal arrived. A BaseException, as KeyboardInterrupt is: an ``except Exception`` in the
    startup (an HTTP poll that retries) must not swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass
class Held(Generic[T]):
    started: T | None  # what start returned; None when a signal came first
    stopped: Any  # what stop returned; None when nothing was stopped (detached)
    signum: int | None  # the signal that ended it


class _Stopper:
    """Raises StopRequested once; every later signal is ignored so that it cannot cut the cleanup
    short (the cleanup has its own deadline and ends in SIGKILL)."""

    def __init__(self) -> None:
        self.stopping = False
        self.signum: int | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.signum = signum
        raise StopRequested(signum)


@contextmanager
def _handlers(handler: Callable[[int, Any], None]) -> Iterator[None]:
    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Inside: SIGTERM and SIGHUP raise StopRequested as SIGINT raises KeyboardInterrupt, so a
    ``finally`` that stops a stack runs on every stop signal (a script that drives the stack itself,
    such as the flights demo). Main thread only."""

    fired: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if fired:  # the cleanup the first one started must not be cut short
            return
        fired.append(signum)
        raise StopRequested(signum)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS if sig != signal.SIGINT}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def supervise(
    start: Callable[[], T],
    stop: Callable[[int | None], Any],
    *,
    wait: bool = True,
    on_up: Callable[[T], None] | None = None,
) -> Held[T]:
    """``start()``; then, if ``wait``, block until SIGINT, SIGTERM or SIGHUP and ``stop(signum)``.

    A stop signal during ``start`` ends in ``stop(signum)`` as well; a ``start`` that raises ends in
    ``stop(None)`` and the error is raised again. With ``wait=False`` (detached) a successful start
    returns at once and nothing is stopped. Must run in the main thread (Python's signal rule)."""
    stopper = _Stopper()
    started: T | None = None
    with _handlers(stopper):
        try:
            started = start()
            if on_up is not None:
                on_up(started)
            if not wait:
                stopper.stopping = True
                return Held(started, None, None)
            while True:
                signal.pause()
        except StopRequested:
            pass
        except BaseException:
            stopper.stopping = True
            stop(None)
            raise
        stopper.stopping = True
        return Held(started, stop(stopper.signum), stopper.signum)
