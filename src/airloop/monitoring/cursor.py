"""Where the next monitoring window starts: one cursor, kept by the monitor DAG (its state file) and
by ``airloop backtest`` (the loop's track), so both see the same windows.

A window is every prediction logged at or after ``since``. A window the policy judged (no action,
a request, a suppressed request) moves the cursor past its newest prediction; a window that is
accumulating leaves it where it was, so its rows are judged again with the next period's, until
the window is large enough to decide. A request also records its data time, which the cooldown reads.

With serving replicas (``data.replicas``) the log is read from several fronts, some of which reach
the monitor late (a front on another machine is read once compacted into the shared folder), and
whose clocks differ: a log time says nothing exact there. So the monitor also keeps ``marks``, each
replica's row counter the judged window reached; the next window is every row past them, which
reads each row once however late it arrived. ``since`` stays for the backtest and for a state
written before marks (its first window is read by time, then marks take over).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airloop.monitoring.policy import ACCUMULATING, Decision

STEP = 1e-6  # seconds past the newest prediction: the next window starts after it


@dataclass(frozen=True)
class Cursor:
    since: float | None = None  # log time the next window starts at (None: the log's beginning)
    last_request: float | None = None  # data time of the last retrain request
    marks: dict[str, int] | None = None  # per replica ("": the workspace's own log): the last row judged

    @classmethod
    def of(cls, state: dict[str, Any]) -> Cursor:
        """The cursor in the monitor's state file (``last_ts``, ``last_request_data_time``, ``marks``)."""
        marks = state.get("marks")
        return cls(state.get("last_ts"), state.get("last_request_data_time"), dict(marks) if marks else None)

    def state(self) -> dict[str, Any]:
        out: dict[str, Any] = {"last_ts": self.since}
        if self.last_request is not None:
            out["last_request_data_time"] = self.last_request
        if self.marks is not None:
            out["marks"] = dict(self.marks)
        return out

    @property
    def start(self) -> float | None:
        """The log time the monitor reads from: none once marks say where each replica stands."""
        return None if self.marks is not None else self.since

    def after(
        self, decision: Decision, newest_logged: float, data_end: float, marks: dict[str, int] | None = None
    ) -> Cursor:
        """The cursor once ``decision`` is taken on the window whose newest prediction was logged at
        ``newest_logged`` and whose data reaches ``data_end``; ``marks``: where the window's read
        ended in each replica (``data.scan``'s)."""
        if decision.verdict == ACCUMULATING:
            return self
        reached = None if marks is None else {**(self.marks or {}), **marks}
        return Cursor(newest_logged + STEP, data_end if decision.retrain else self.last_request, reached)

    def takes(self, logged_at: Any) -> Any:
        """Which of these log times (epoch seconds, an array) belong to the next window."""
        import numpy as np

        at = np.asarray(logged_at, dtype=np.float64)
        return at >= self.since if self.since is not None else np.ones(at.shape, bool)
