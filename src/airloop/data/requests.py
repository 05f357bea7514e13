"""Retrain requests between the monitor and the train DAG: a counter of requests made and of
requests a train run has acted on, in one small JSON file of the workspace.

With ``monitoring.train_on_new_data: when_requested``, landed data is validated and joins the
data at once, but a run trains only while a request is pending; a request that finds no new data
(the same inputs as a version) stays pending until data lands.
"""

from __future__ import annotations

import json
from pathlib import Path


class RetrainRequests:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, int]:
        return json.loads(self.path.read_text()) if self.path.exists() else {"made": 0, "consumed": 0}

    def _write(self, state: dict[str, int]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.path)

    def pending(self) -> int:
        state = self._read()
        return max(0, state["made"] - state["consumed"])

    def make(self) -> None:
        state = self._read()
        self._write({**state, "made": state["made"] + 1})

    def consume(self) -> None:
        """Every pending request is answered by this run's training."""
        state = self._read()
        self._write({**state, "consumed": state["made"]})
